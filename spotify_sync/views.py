"""The Spotify page and its actions: parse, call one service, answer (STYLE rule 1).

Connect is a POST that redirects to Spotify's consent page; Spotify redirects back to the
callback, which checks the ``state`` kept in the session and trades the code for tokens.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audotics.errors import ApplicationError
from spotify_sync import selectors, services
from spotify_sync.exports import ExportFile
from spotify_sync.forms import DisconnectForm, ExportUploadForm

SESSION_KEY = "spotify_sync.pending_authorization"


def _user_id(request: HttpRequest) -> int:
    return cast(int, request.user.pk)  # login_required: a saved user


def _page(
    request: HttpRequest,
    *,
    status: int = 200,
    error: str = "",
    upload_form: ExportUploadForm | None = None,
) -> HttpResponse:
    user_id = _user_id(request)
    context: dict[str, Any] = {
        "configured": bool(settings.USE_SPOTIFY),
        "connection": selectors.connection_get(user_id=user_id),
        "latest_run": selectors.sync_run_latest(user_id=user_id),
        "data": selectors.spotify_data_counts(user_id=user_id),
        "disconnect_form": DisconnectForm(),
        "upload_form": upload_form or ExportUploadForm(),
        "upload_limit_mb": settings.SPOTIFY_EXPORT_MAX_BYTES // 1_048_576,
        "min_seconds": settings.SPOTIFY_MIN_MS_PLAYED // 1000,
        "error": error,
    }
    return render(request, "spotify_sync/spotify.html", context, status=status)


def _back() -> HttpResponseRedirect:
    return redirect("spotify_sync:spotify")


@login_required
@require_GET
def spotify_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def spotify_connect(request: HttpRequest) -> HttpResponse:
    redirect_uri = settings.SPOTIFY_REDIRECT_URI or request.build_absolute_uri(
        reverse("spotify_sync:callback")
    )
    try:
        url, pending = services.connection_authorize_start(redirect_uri=redirect_uri)
    except ApplicationError as exc:
        return _page(request, status=exc.http_status, error=exc.message)
    request.session[SESSION_KEY] = pending.as_session()
    return HttpResponseRedirect(url)


@login_required
@require_GET
def spotify_callback(request: HttpRequest) -> HttpResponse:
    pending = services.PendingAuthorization.from_session(request.session.pop(SESSION_KEY, None))
    try:
        connection = services.connection_complete(
            user_id=_user_id(request),
            pending=pending,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
        )
    except ApplicationError as exc:
        return _page(request, status=400, error=exc.message)
    messages.success(
        request,
        f"Connected to Spotify as {connection.display_name}. "
        "The first sync has started: your recent plays, top lists, library and playlists.",
    )
    return _back()


@login_required
@require_POST
def spotify_disconnect(request: HttpRequest) -> HttpResponse:
    form = DisconnectForm(request.POST)
    form.is_valid()  # a lone optional checkbox: always valid
    delete_data = bool(form.cleaned_data.get("delete_data"))
    counts = services.connection_disconnect(user_id=_user_id(request), delete_data=delete_data)
    if delete_data:
        was_connected = counts.pop("spotify_sync.SpotifyConnection", 0) > 0
        rows = f"{sum(counts.values()):,} rows of your Spotify data are deleted."
        done = f"Spotify is disconnected and {rows}" if was_connected else rows
        messages.success(request, done)
    else:
        messages.success(request, "Spotify is disconnected; the tokens are deleted.")
    return _back()


@login_required
@require_POST
def spotify_sync_now(request: HttpRequest) -> HttpResponse:
    try:
        run = services.sync_run_request(user_id=_user_id(request))
    except ApplicationError as exc:
        return _page(request, status=exc.http_status, error=exc.message)
    messages.info(request, f"Sync {run.pk} started.")
    return _back()


@login_required
@require_POST
def spotify_export_upload(request: HttpRequest) -> HttpResponse:
    form = ExportUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, status=400, upload_form=form)
    files = [ExportFile(str(f.name), f.read()) for f in form.cleaned_data["history"]]
    try:
        report = services.export_import(user_id=_user_id(request), files=files)
    except ApplicationError as exc:
        form.add_error("history", exc.message)
        return _page(request, status=400, upload_form=form)
    counts = report.counts
    messages.success(
        request,
        f"Imported {counts['plays imported']:,} plays from {len(files)} file(s) "
        f"({counts['already imported']:,} were already here; "
        f"{counts['podcasts and other non-music skipped']:,} podcasts and other non-music "
        "skipped).",
    )
    for note in report.notes:
        messages.info(request, note[:1].upper() + note[1:])
    for skipped in report.skipped[:5]:
        messages.warning(request, f"Skipped {skipped}")
    return _back()

"""Listening-room pages: the landing, joining, the live room, its TV view, recap and QR code.

Thin views (STYLE rule 1): parse a form, call one service, redirect or render. The live room
itself is driven by ``static/rooms/room.js`` over the socket (``groups/PROTOCOL.md``).
"""

from __future__ import annotations

import io
from typing import Any

import segno
from django.contrib.auth import login
from django.db import transaction
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audotics.errors import ApplicationError
from groups import selectors_rooms as selectors
from groups.forms import GuestForm, JoinCodeForm, PlaylistSaveForm, RoomCreateForm, policy_choices
from groups.models import ListeningGroup
from groups.room_state import room_state
from groups.services.playback import REACTIONS
from groups.services.recap import session_playlist_save
from groups.services.rooms import guest_create, room_create, room_join, room_leave
from recommender.models import User
from recommender.selectors import top_artist_list

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _room(code: str) -> ListeningGroup:
    return get_object_or_404(ListeningGroup, code=code.upper(), kind=ListeningGroup.Kind.ROOM)


def _listener(request: HttpRequest, guest: GuestForm | None) -> User:
    """The signed-in user, or a new guest from ``guest`` (logged in by the caller)."""
    user = _user(request)
    if user is not None:
        return user
    assert guest is not None
    data = guest.cleaned_data
    return guest_create(
        display_name=data["display_name"],
        seed_artists=data["seed_artists"],
        seed_genres=data["seed_genres"],
    )


def _attach(error: ApplicationError, *forms: Form | None) -> str:
    """Put a service's field errors on the form that has the field; the rest is the message."""
    unplaced = False
    for name, messages in error.extra.get("fields", {}).items():
        form = next((f for f in forms if f is not None and name in f.fields), None)
        if form is None or not messages:
            unplaced = True
            continue
        for message in messages:
            form.add_error(name, message[:1].upper() + message[1:] + ".")
    fields = error.extra.get("fields")
    return error.message[:1].upper() + error.message[1:] + "." if unplaced or not fields else ""


def _suggestions() -> dict[str, Any]:
    return {"artist_suggestions": top_artist_list(limit=40)}


def _landing(request: HttpRequest, status: int = 200, **given: Any) -> HttpResponse:
    user = _user(request)
    guest = given.get("guest")
    context = {
        "create_form": given.get("create") if "create" in given else RoomCreateForm(),
        "guest_form": None if user else guest if guest is not None else GuestForm(),
        "find_form": given.get("find") if "find" in given else JoinCodeForm(),
        "problem": given.get("problem", ""),
        "my_rooms": selectors.user_room_list(user=user) if user else [],
        "playlists": selectors.session_playlist_list(user=user)[:6] if user else [],
        **_suggestions(),
    }
    return render(request, "rooms/landing.html", context, status=status)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _landing(request)


@require_POST
def room_new(request: HttpRequest) -> HttpResponse:
    create = RoomCreateForm(request.POST)
    guest = None if _user(request) else GuestForm(request.POST)
    if not create.is_valid() or (guest is not None and not guest.is_valid()):
        return _landing(request, 400, create=create, guest=guest)
    try:
        with transaction.atomic():  # a refused room leaves no guest account behind
            owner = _listener(request, guest)
            room = room_create(owner=owner, **create.cleaned_data)
    except ApplicationError as error:
        problem = _attach(error, guest, create)
        return _landing(request, error.http_status, create=create, guest=guest, problem=problem)
    if _user(request) is None:
        login(request, owner, backend=BACKEND)
    return redirect("rooms:room", code=room.code)


@require_GET
def room_find(request: HttpRequest) -> HttpResponse:
    form = JoinCodeForm(request.GET)
    if not form.is_valid():
        return _landing(request, 400, find=form)
    code = form.cleaned_data["code"]
    if not ListeningGroup.objects.filter(code=code, kind=ListeningGroup.Kind.ROOM).exists():
        form.add_error("code", f"No room has the code {code}: check it with the host.")
        return _landing(request, 404, find=form)
    return redirect("rooms:join", code=code)


def _join_page(
    request: HttpRequest, room: ListeningGroup, guest: GuestForm | None, *,
    problem: str = "", status: int = 200,
) -> HttpResponse:  # fmt: skip
    count = room.memberships.count()
    context = {
        "room": room,
        "count": count,
        "closed": not room.is_active or room.locked or count >= room.max_members,
        "host_name": selectors.room_host_name(group=room),
        "guest_form": guest,
        "problem": problem,
        **_suggestions(),
    }
    return render(request, "rooms/join.html", context, status=status)


@require_http_methods(["GET", "POST"])
def room_join_page(request: HttpRequest, code: str) -> HttpResponse:
    room = _room(code)
    user = _user(request)
    if user is not None and selectors.membership_get(group=room, user=user):
        return redirect("rooms:room", code=room.code)
    guest = None if user else GuestForm(request.POST or None)
    if request.method == "GET":
        return _join_page(request, room, guest)
    if guest is not None and not guest.is_valid():
        return _join_page(request, room, guest, status=400)
    try:
        with transaction.atomic():  # a refused join leaves no guest account behind
            listener = _listener(request, guest)
            room_join(group=room, user=listener)
    except ApplicationError as error:
        problem = _attach(error, guest)
        return _join_page(request, room, guest, problem=problem, status=error.http_status)
    if user is None:
        login(request, listener, backend=BACKEND)
    return redirect("rooms:room", code=room.code)


def _live(request: HttpRequest, code: str, template: str) -> HttpResponse:
    room = _room(code)
    user = _user(request)
    if user is None or selectors.membership_get(group=room, user=user) is None:
        return redirect("rooms:join", code=room.code)
    join = reverse("rooms:join", args=[room.code])
    context = {
        "room": room,
        "me": user,
        "state": room_state(group_id=room.pk),
        "join_url": request.build_absolute_uri(join),
        "join_short": request.get_host() + join,
        "policies": policy_choices(),
        "reactions": REACTIONS,
    }
    return render(request, template, context)


@require_GET
def room_page(request: HttpRequest, code: str) -> HttpResponse:
    return _live(request, code, "rooms/room.html")


@require_GET
def room_tv(request: HttpRequest, code: str) -> HttpResponse:
    return _live(request, code, "rooms/tv.html")


@require_POST
def room_leave_page(request: HttpRequest, code: str) -> HttpResponse:
    room = _room(code)
    user = _user(request)
    if user is not None:
        room_leave(group=room, user=user)
    return redirect("rooms:recap", code=room.code)


def _recap_page(
    request: HttpRequest, room: ListeningGroup, user: User, form: PlaylistSaveForm, *,
    problem: str = "", status: int = 200,
) -> HttpResponse:  # fmt: skip
    playlists = list(selectors.session_playlist_list(user=user)[:10])
    saved = request.GET.get("saved", "")
    context = {
        "room": room,
        "recap": selectors.room_recap(group=room, viewer=user),
        "form": form,
        "problem": problem,
        "playlists": playlists,
        "saved": next((p for p in playlists if str(p.pk) == saved), None),
        "still_here": selectors.membership_get(group=room, user=user) is not None,
    }
    return render(request, "rooms/recap.html", context, status=status)


def _visitor(request: HttpRequest, code: str) -> tuple[ListeningGroup, User]:
    room = _room(code)
    user = _user(request)
    if user is None or not selectors.room_was_visited(group=room, user=user):
        raise Http404("no recap for you here")
    return room, user


@require_GET
def room_recap(request: HttpRequest, code: str) -> HttpResponse:
    room, user = _visitor(request, code)
    name = f"{room.name} · {timezone.localdate():%-d %b %Y}"
    return _recap_page(request, room, user, PlaylistSaveForm(initial={"name": name}))


@require_POST
def recap_save(request: HttpRequest, code: str) -> HttpResponseBase:
    room, user = _visitor(request, code)
    form = PlaylistSaveForm(request.POST)
    if not form.is_valid():
        return _recap_page(request, room, user, form, status=400)
    try:
        playlist = session_playlist_save(group=room, user=user, name=form.cleaned_data["name"])
    except ApplicationError as error:
        problem = _attach(error, form)
        return _recap_page(request, room, user, form, problem=problem, status=error.http_status)
    return redirect(f"{reverse('rooms:recap', args=[room.code])}?saved={playlist.pk}#saved")


@require_GET
def room_qr(request: HttpRequest, code: str) -> HttpResponse:
    """The join link as a QR code (dark modules, transparent light ones: a light tile behind)."""
    room = _room(code)
    url = request.build_absolute_uri(reverse("rooms:join", args=[room.code]))
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=8, border=2, dark="#0b0d12", light=None, xmldecl=False,
        svgclass="qr", title=f"Join {room.name}",
    )  # fmt: skip
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=3600"
    return response

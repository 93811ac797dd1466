"""The staff monitoring dashboard in headless Chromium, drawn from real events.

A tiny hybrid is trained (and retrained, so there are two versions and a retrain run); rooms
are run through the room services (join, add, play, skip, save the session), the older ones
then moved back a day or more so the business charts have a history; listeners call the
running ASGI server over HTTP (recommendations, feedback, profile, tracks, a 404), and the time
from sending each feedback POST to receiving the next list is reported as
``recs.update.feedback`` (the serving code reports its own ``recs.update.*`` names). The
histograms are flushed, a staff member signs in through the admin and opens ``/monitoring/``;
every section must have drawn data points. The full-page screenshot goes to
``tests/browser/output/monitoring_dashboard.png``.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db.models import F
from rest_framework.authtoken.models import Token

from groups.models import ListeningGroup, Membership, QueueEntry, SessionPlaylist
from groups.services.playback import playback_advance
from groups.services.queue import room_track_enqueue
from groups.services.recap import session_playlist_save
from groups.services.rooms import room_create, room_join
from monitoring.recorder import RECORDER
from monitoring.services.latency import latency_flush
from monitoring.timing import observe
from recommender.models import FeedbackEvent, ModelVersion, Track, User
from recommender.services.hybrid import hybrid_train
from recommender.services.imports.lastfm import lastfm_import
from recommender.services.imports.moods import moods_import
from recommender.services.imports.tracks import tracks_import
from recommender.services.model_versions import model_version_activate
from recommender.services.retrain import model_retrain
from recommender.serving.hybrid import serving_caches_clear
from tests.browser.asgi_server import AsgiServer, asgi_server  # noqa: F401 (fixture)
from tests.browser.conftest import PHONE, overflow, sync_api
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume:Warning"),
]

SCREENSHOT = Path(__file__).parent / "output" / "monitoring_dashboard.png"
STAFF_PASSWORD = "monitor the room 42"
#: (days ago, guests, member adds, outcomes of the tracks that finish, session saved)
ROOM_PLAN = [
    (6, 1, 2, ["played", "played", "skipped"], True),
    (5, 2, 1, ["skipped", "skipped"], False),
    (4, 2, 3, ["played", "played", "played", "skipped"], True),
    (3, 1, 2, ["played", "skipped", "skipped"], False),
    (2, 3, 2, ["played", "played"], True),
    (1, 2, 3, ["played", "skipped", "played"], False),
    (0, 2, 2, ["played", "played", "skipped"], True),
]


def _models(settings: Any, tmp_path: Path, fixtures_dir: Path) -> None:
    settings.ML_STORE_DIR = tmp_path / "models"
    tracks_import(path=fixtures_dir / "catalogue_small.csv")
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    moods_import(path=fixtures_dir / "data_moods_small.csv")
    first = hybrid_train(tiny=True)
    if first.status != ModelVersion.Status.ACTIVE:
        model_version_activate(name="hybrid", version=first.version)
    model_retrain(name="hybrid", tiny=True)  # a second version, and a RetrainRun row
    cache.clear()
    serving_caches_clear()


def _shift(room: ListeningGroup, days: int) -> None:
    """Move a room's rows ``days`` back: the same rows, as if that day's session."""
    if not days:
        return
    back = timedelta(days=days)
    QueueEntry.objects.filter(group=room).update(
        created_at=F("created_at") - back, started_at=F("started_at") - back,
        ended_at=F("ended_at") - back,
    )  # fmt: skip
    FeedbackEvent.objects.filter(group=room).update(created_at=F("created_at") - back)
    SessionPlaylist.objects.filter(group=room).update(created_at=F("created_at") - back)
    Membership.objects.filter(group=room).update(joined_at=F("joined_at") - back)


def _rooms(listeners: list[User]) -> None:
    tracks = iter(Track.objects.order_by("popularity", "pk").values_list("spotify_id", flat=True))
    for n, (ago, guests, adds, outcomes, saved) in enumerate(ROOM_PLAN):
        host = listeners[n % len(listeners)]
        room = room_create(owner=host, name=f"Session {n + 1}")
        people = [host, *(UserFactory() for _ in range(guests))]
        for guest in people[1:]:
            room_join(group=room, user=guest)
        for i in range(adds):
            room_track_enqueue(group=room, user=people[i % len(people)], spotify_id=next(tracks))
        playback_advance(group=room, outcome=None)
        for outcome in outcomes:
            playback_advance(group=room, outcome=outcome)
        if saved:
            session_playlist_save(group=room, user=host, name=f"Session {n + 1}")
        _shift(room, ago)


def _call(server: AsgiServer, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        server.url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            if "json" not in response.headers.get("Content-Type", ""):
                return {"status": response.status}
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return {"status": error.code}


def _traffic(server: AsgiServer, listeners: list[User]) -> None:
    """Real HTTP against the running server; feedback -> next list is ``recs.update.feedback``."""
    for i, listener in enumerate(listeners):
        token = Token.objects.create(user=listener).key
        for _ in range(4):
            _call(server, "/api/v1/ping", token)
        _call(server, "/api/v1/me", token)
        _call(server, "/api/v1/tracks?page=1", token)
        listed = _call(server, "/api/v1/recommendations/user", token)
        for n, item in enumerate(listed["results"][:3]):
            sid = item["track"]["spotify_id"]
            started = time.perf_counter()
            _call(
                server, "/api/v1/feedback", token, {"track": sid, "kind": "like" if n else "skip"}
            )
            _call(server, "/api/v1/recommendations/user", token)
            observe("recs.update.feedback", time.perf_counter() - started)  # client-side
        _call(server, f"/api/v1/tracks/{sid}", token)
        _call(server, "/api/v1/tracks/0000000000000000000000", token)  # a 404
        if i == 0:
            _call(server, "/healthz", token)
            _call(server, "/", token)


@pytest.fixture
def dashboard_data(
    request: pytest.FixtureRequest, settings: Any, tmp_path: Path, fixtures_dir: Path
) -> Iterator[AsgiServer]:
    """Everything written before Playwright starts (its loop forbids ORM calls here)."""
    _models(settings, tmp_path, fixtures_dir)
    listeners = list(User.objects.filter(profile__lastfm_user_id__isnull=False).order_by("pk"))
    server: AsgiServer = request.getfixturevalue("asgi_server")
    RECORDER.drain()
    _rooms(listeners)
    _traffic(server, listeners[:4])
    latency_flush()
    User.objects.create_superuser(username="staff", email="staff@example.com",
                                  password=STAFF_PASSWORD)  # fmt: skip
    yield server
    RECORDER.drain()
    cache.clear()
    serving_caches_clear()


def _points(page: Any, section: str, selector: str = "circle.chart__point") -> int:
    return int(page.locator(f'[data-testid="{section}"] svg {selector}').count())


def test_the_dashboard_draws_real_events(dashboard_data: AsgiServer, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(dashboard_data.url + "/admin/login/?next=/monitoring/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/monitoring/")
    sync_api.expect(page.get_by_role("heading", name="Monitoring", exact=True)).to_be_visible()

    table = page.get_by_test_id("endpoint-table")
    for route in ("/api/v1/recommendations/user", "/api/v1/feedback", "/api/v1/ping"):
        sync_api.expect(table).to_contain_text(route)
    sync_api.expect(table).to_contain_text("/api/v1/tracks/<str:spotify_id>")
    assert _points(page, "latency") >= 3  # p50, p90, p99 of the current bin
    assert _points(page, "latency", "rect.chart__bar") >= 12
    assert _points(page, "updates") >= 3  # recs.update.* percentiles
    assert _points(page, "updates", "rect.chart__bar") >= 1  # the retrain run
    assert _points(page, "models") >= 2
    assert _points(page, "models", "circle.chart__point--marked") == 1
    assert _points(page, "business") >= 7 * 8  # eight daily series over 7+ days
    assert _points(page, "bias", "rect.chart__bar") == 10
    sync_api.expect(page.get_by_test_id("bias")).to_contain_text("Popularity bias")
    assert overflow(page) <= 0

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.set_viewport_size(PHONE)  # the same page on a phone: nothing wider than the screen
    page.reload()
    assert overflow(page) <= 0
    page.screenshot(
        path=str(SCREENSHOT.with_name("monitoring_dashboard_phone.png")), full_page=True
    )
    page.close()

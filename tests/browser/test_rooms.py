"""Three people in one live room, in three browsers: a host on a laptop and two guests on phones.

They join (the guests through the join page), vote, vote to skip, react, add a track, and the
host pauses, plays, locks and removes someone; one leaves. Every page must agree on the queue
and on what plays. Screenshots of every room page at phone and laptop widths go to
``$AUDOTICS_SCREENSHOTS`` or ``tests/browser/output/rooms/`` (git-ignored).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from recommender.models import User
from recommender.selectors import top_artist_list
from tests.browser.asgi_server import AsgiServer, asgi_server  # noqa: F401 (fixture)
from tests.browser.conftest import LAPTOP, PHONE, overflow, sync_api
from tests.groups.rooms.conftest import (  # noqa: F401 (fixtures)
    _fresh_serving_caches,
    _trained_store,
    demo_data,
    hybrid_and_group,
    listeners,
)

pytestmark = [
    pytest.mark.browser,
    # committed data: the server's threads must see it (getfixturevalue alone is too late)
    pytest.mark.django_db(transaction=True),
    # whitenoise serves static files through Django's ASGI handler as a sync iterator
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume:Warning"),
]

WAIT_MS = 10_000


def _shots() -> Path:
    folder = Path(os.environ.get("AUDOTICS_SCREENSHOTS") or Path(__file__).parent / "output/rooms")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(page: Any, name: str) -> None:
    """A full-page screenshot, after checking that nothing overflows the viewport's width."""
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky header lands mid-page
    page.wait_for_timeout(300)  # let transitions (progress, meters) settle
    width = page.viewport_size["width"]
    path = str(_shots() / f"{name}-{width}.png")
    page.screenshot(path=path, full_page=True, style=".toasts { display: none; }")
    assert overflow(page) <= 0, f"{name} overflows by {overflow(page)}px"


def _expect(locator: Any) -> Any:
    return sync_api.expect(locator)


def _queue(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        '[data-testid="queue"] [data-testid="queue-entry"]',
        "els => els.map(e => e.dataset.entryId)",
    )
    return ids


def _now(page: Any) -> str:
    return str(page.get_attribute('[data-testid="now-title"]', "data-entry-id"))


def _agree(pages: list[Any], read: Any, what: str) -> Any:
    """Poll until every page shows the same non-empty ``read(page)``; return it."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        seen = [read(page) for page in pages]
        if seen[0] and all(s == seen[0] for s in seen):
            return seen[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"the pages disagree on {what}: {seen}")
        pages[0].wait_for_timeout(100)


def _members(pages: list[Any], count: int) -> None:
    for page in pages:
        _expect(page.get_by_test_id("members").get_by_test_id("member")).to_have_count(
            count, timeout=WAIT_MS
        )


def _live(page: Any) -> None:
    _expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")


@pytest.fixture
def server(request: pytest.FixtureRequest) -> AsgiServer:
    """The ASGI server, started after the data is committed (``transactional_db``)."""
    found: AsgiServer = request.getfixturevalue("asgi_server")
    return found


@pytest.fixture
def people(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The host's session cookie and the guests' picks, made before Playwright starts."""
    request.getfixturevalue("hybrid_and_group")  # the catalogue and tiny trained models
    three: list[User] = request.getfixturevalue("listeners")
    host = three[0]
    host.display_name = "Ana"
    host.save(update_fields=["display_name"])
    client = Client()
    client.force_login(host)
    artists = [a.name for a in top_artist_list(limit=3)]
    return {"session": client.cookies[settings.SESSION_COOKIE_NAME].value, "artists": artists}


def _create_room(browser: Any, server: AsgiServer, session: str) -> tuple[Any, str]:
    context = browser.new_context(viewport=LAPTOP)
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": server.url}]
    )
    page = context.new_page()
    page.goto(server.url + "/rooms/")
    _shot(page, "landing-host")
    form = page.get_by_test_id("create-form")
    form.get_by_label("Room name").fill("Friday night")
    form.get_by_label("How the queue decides").select_option("fairness")
    form.get_by_test_id("create-submit").click()
    page.wait_for_url("**/rooms/*/")
    _live(page)
    return page, str(page.get_attribute("[data-room-root]", "data-code"))


def _join(browser: Any, server: AsgiServer, code: str, name: str, artist: str) -> Any:
    page = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    if name == "Ben":
        page.goto(server.url + "/rooms/")
        _shot(page, "landing-guest")
    page.goto(f"{server.url}/rooms/{code}/join")
    _expect(page.get_by_test_id("join-room-name")).to_have_text("Friday night")
    if name == "Ben":
        _shot(page, "join-guest")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Artists you like").fill(artist)
    page.locator(".chip").first.click()
    page.get_by_test_id("join-submit").click()
    page.wait_for_url(f"**/rooms/{code}/")
    _live(page)
    return page


def _vote(pages: list[Any]) -> None:
    """Ben votes the first upcoming track up: everyone sees it at once, Ben's arrow lit."""
    host, ben, _chen = pages
    entry = _queue(ben)[0]
    ben.locator(f'[data-entry-id="{entry}"] [data-testid="vote-up"]').click()
    for page in pages:
        row = page.locator(f'[data-testid="queue"] [data-entry-id="{entry}"]')
        _expect(row.get_by_test_id("up-count")).to_have_text("1", timeout=WAIT_MS)
    mine = ben.locator(f'[data-entry-id="{entry}"] [data-testid="vote-up"]')
    _expect(mine).to_have_attribute("aria-pressed", "true")
    theirs = host.locator(f'[data-entry-id="{entry}"] [data-testid="vote-up"]')
    _expect(theirs).to_have_attribute("aria-pressed", "false")
    _agree(pages, _queue, "the queue after a vote")


def _skip(pages: list[Any]) -> None:
    """Two of three vote to skip: a majority, so all three move on to the same track."""
    _host, ben, chen = pages
    playing = _agree(pages, _now, "what plays")
    ben.get_by_test_id("skip").click()
    for page in pages:
        _expect(page.get_by_test_id("skip-count")).to_have_text("1/2 to skip", timeout=WAIT_MS)
    chen.get_by_test_id("skip").click()
    for page in pages:
        _expect(page.get_by_test_id("now-title")).not_to_have_attribute(
            "data-entry-id", playing, timeout=WAIT_MS
        )
    _agree(pages, _now, "the track after the skip")
    for page in pages:
        _expect(page.get_by_test_id("history").get_by_test_id("history-entry")).to_have_count(1)


def _add_and_react(pages: list[Any], artist: str) -> None:
    """Ben finds a track and adds it; Chen reacts; everyone sees both."""
    host, ben, chen = pages
    ben.get_by_test_id("track-search").fill(artist)
    add = ben.get_by_test_id("search-results").locator('[data-testid="add-track"]:enabled').first
    _expect(add).to_be_visible(timeout=WAIT_MS)
    add.click()
    for page in pages:
        added = page.get_by_test_id("queue").get_by_text("Added by", exact=False)
        _expect(added.first).to_be_visible(timeout=WAIT_MS)
    _expect(ben.get_by_test_id("adds-left-head")).to_have_text("2 adds left")
    chen.get_by_test_id("react-1").click()
    for page in (host, ben):
        _expect(page.locator('[data-reaction-count="🔥"]')).to_have_text("1", timeout=WAIT_MS)
    _agree(pages, _queue, "the queue after an add")


def _host_controls(pages: list[Any], browser: Any, server: AsgiServer, code: str) -> None:
    host, ben, _chen = pages
    _expect(ben.get_by_test_id("host-controls")).to_be_hidden()
    host.get_by_test_id("host-play").click()
    for page in pages:
        _expect(page.get_by_test_id("play-state")).to_have_attribute("data-playing", "true")
    host.get_by_test_id("host-play").click()  # now a pause button
    for page in pages:
        _expect(page.get_by_test_id("play-state")).to_have_attribute("data-playing", "false")
    host.get_by_test_id("host-play").click()
    host.locator(".switch").click()
    for page in pages:
        _expect(page.get_by_test_id("locked-badge")).to_be_visible(timeout=WAIT_MS)
    visitor = browser.new_context(viewport=LAPTOP).new_page()
    visitor.goto(f"{server.url}/rooms/{code}/join")
    _expect(visitor.get_by_test_id("notice")).to_contain_text("locked")
    _shot(visitor, "join-locked")
    visitor.context.close()


def _mute_and_remove(pages: list[Any]) -> None:
    """The host mutes Ben (his controls lock, he is told) and back; then removes an entry."""
    host, ben, _chen = pages
    ben_id = ben.get_attribute("[data-room-root]", "data-user-id")
    mute = host.locator(f'[data-testid="member"][data-user-id="{ben_id}"] [data-testid="mute"]')
    mute.click()
    _expect(ben.get_by_test_id("muted-notice")).to_be_visible(timeout=WAIT_MS)
    _expect(ben.get_by_test_id("vote-up").first).to_be_disabled()
    mute.click()
    _expect(ben.get_by_test_id("muted-notice")).to_be_hidden(timeout=WAIT_MS)
    last = _queue(host)[-1]
    host.locator(f'[data-entry-id="{last}"] [data-testid="remove"]').click()
    for page in pages:
        gone = page.locator(f'[data-testid="queue"] [data-entry-id="{last}"]')
        _expect(gone).to_have_count(0, timeout=WAIT_MS)


def _screens(pages: list[Any], code: str) -> None:
    host, ben, _chen = pages
    _shot(host, "room-host")
    _shot(ben, "room-guest")
    for page, name in ((host, "tv-laptop"), (ben, "tv-phone")):
        tv = page.context.new_page()
        tv.goto(page.url + "tv")
        _live(tv)
        _expect(tv.get_by_test_id("queue").get_by_test_id("queue-entry")).to_have_count(3)
        _expect(tv.get_by_test_id("now-title")).to_have_attribute("data-entry-id", _now(host))
        _shot(tv, name)
        tv.close()


def _kick_and_leave(pages: list[Any]) -> None:
    """The host removes Chen (two taps); Ben leaves; the others see each of them go."""
    host, ben, chen = pages
    chen_id = chen.get_attribute("[data-room-root]", "data-user-id")
    kick = host.locator(f'[data-testid="member"][data-user-id="{chen_id}"] [data-testid="kick"]')
    kick.click()
    _expect(kick).to_have_text("Tap again to remove")
    kick.click()
    _expect(chen.get_by_test_id("overlay")).to_be_visible(timeout=WAIT_MS)
    _expect(chen.get_by_test_id("overlay")).to_contain_text("removed you")
    _members([host, ben], 2)
    _agree([host, ben], _queue, "the queue after the kick")
    ben.get_by_test_id("leave").click()
    ben.wait_for_url("**/recap")
    _members([host], 1)
    _expect(ben.get_by_test_id("recap-track").first).to_be_visible()
    _shot(ben, "recap-guest")


def _reconnect(host: Any, server: AsgiServer) -> None:
    """The server goes away: a banner says so; it comes back: the page resyncs by itself."""
    server.stop()
    _expect(host.get_by_test_id("reconnecting")).to_be_visible(timeout=WAIT_MS)
    server.start()
    _expect(host.get_by_test_id("reconnecting")).to_be_hidden(timeout=WAIT_MS)
    _live(host)


def _recap(host: Any) -> None:
    host.goto(host.url + "recap")
    _expect(host.get_by_test_id("recap-track")).to_have_count(2)  # the skipped one, the playing
    host.get_by_test_id("save-submit").click()
    _expect(host.get_by_test_id("saved")).to_contain_text("Saved")
    _shot(host, "recap-host")


def test_three_people_share_one_live_room(
    people: dict[str, Any], server: AsgiServer, browser: Any
) -> None:
    host, code = _create_room(browser, server, people["session"])
    ben = _join(browser, server, code, "Ben", people["artists"][1])
    chen = _join(browser, server, code, "Chen", people["artists"][2])
    pages = [host, ben, chen]
    _members(pages, 3)
    _agree(pages, _queue, "the queue after joining")

    _vote(pages)
    _skip(pages)
    _add_and_react(pages, people["artists"][0])
    _host_controls(pages, browser, server, code)
    _mute_and_remove(pages)
    assert _agree(pages, _queue, "the queue") == _queue(host)
    _screens(pages, code)
    _kick_and_leave(pages)
    _reconnect(host, server)
    _recap(host)

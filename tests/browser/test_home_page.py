"""The home page in headless Chromium: the stats show, and nothing overflows a phone screen."""

from __future__ import annotations

from typing import Any

import pytest

from groups.models import Friendship
from recommender.models import (
    ArtistTag,
    Genre,
    ListenerProfile,
    Playlist,
    Tag,
    TrackGenre,
    TrackMood,
    UserTagAssignment,
)
from tests.browser.conftest import LAPTOP, PHONE, overflow, sync_api
from tests.factories import ArtistFactory, ArtistPlayCountFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.browser

@pytest.fixture
def catalogue(transactional_db: None) -> None:
    """A small catalogue whose numbers are easy to find on the page."""
    pop = Genre.objects.create(name="pop")
    rock = Genre.objects.create(name="rock")
    gaga = ArtistFactory(name="Lady Gaga", lastfm_id=89)
    muse = ArtistFactory(name="Muse", lastfm_id=3)
    tracks = [
        TrackFactory(name="Bad Romance", artist=gaga, popularity=91),
        TrackFactory(name="Poker Face", artist=gaga, popularity=88),
        TrackFactory(name="Uprising", artist=muse, popularity=79),
    ]
    for track, genre in zip(tracks, (pop, pop, rock), strict=True):
        TrackGenre.objects.create(track=track, genre=genre)
    TrackMood.objects.create(track=tracks[2], source="label", mood="energetic")
    Playlist.objects.create(name="Pop hits", spotify_id="37i9dQZF1DXcBWIGoYBM5M")
    alice, bob = (
        UserFactory(username=name, profile__source=ListenerProfile.Source.LASTFM)
        for name in ("lastfm_2", "lastfm_3")
    )
    Friendship.objects.create(user_low=alice, user_high=bob, source="lastfm")
    ArtistPlayCountFactory(user=alice, artist=gaga, play_count=1200)
    ArtistPlayCountFactory(user=bob, artist=gaga, play_count=250)
    ArtistPlayCountFactory(user=bob, artist=muse, play_count=50)
    for name, artist in (("female vocalists", gaga), ("alternative rock", muse)):
        tag = Tag.objects.create(name=name)
        ArtistTag.objects.create(artist=artist, tag=tag, count=2)
        for user in (alice, bob):
            UserTagAssignment.objects.create(user=user, artist=artist, tag=tag)


def _open_home(browser: Any, live_server: Any, viewport: dict[str, int]) -> Any:
    page = browser.new_page(viewport=viewport)
    response = page.goto(live_server.url + "/")
    assert response is not None and response.ok
    return page


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_home_page_shows_the_catalogue_stats(
    catalogue: None, live_server: Any, browser: Any, viewport: dict[str, int]
) -> None:
    page = _open_home(browser, live_server, viewport)
    expect = sync_api.expect

    expected = {
        "tracks": "3",
        "artists": "2",
        "listeners": "2",
        "plays": "1,500",
        "friendships": "1",
        "tag-assignments": "4",
        "playlists": "1",
        "mood-labels": "1",
    }
    for stat, value in expected.items():
        card = page.locator(f'[data-stat="{stat}"] .stat__value')
        expect(card).to_be_visible()
        expect(card).to_have_text(value)
    expect(page.get_by_test_id("catalogue-status")).to_contain_text("Catalogue loaded")
    expect(page.get_by_test_id("top-artists")).to_contain_text("Lady Gaga")
    expect(page.get_by_test_id("popular-tracks").locator("li").first).to_contain_text("Bad Romance")
    expect(page.get_by_test_id("genres")).to_contain_text("pop")
    expect(page.get_by_test_id("tags")).to_contain_text("female vocalists")
    # The stylesheet came through whitenoise: the page is dark, not the browser's white.
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(11, 13, 18)"
    assert overflow(page) <= 0


def test_home_page_explains_an_empty_catalogue_on_a_phone(
    transactional_db: None, live_server: Any, browser: Any
) -> None:
    page = _open_home(browser, live_server, PHONE)

    empty = page.get_by_test_id("empty-state")
    sync_api.expect(empty).to_be_visible()
    sync_api.expect(empty).to_contain_text("python manage.py load_demo_data")
    assert page.locator("[data-stat]").count() == 0
    assert overflow(page) <= 0

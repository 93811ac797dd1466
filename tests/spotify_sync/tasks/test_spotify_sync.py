"""The sync task against the fake: pages, cursors, faults mid-sync, resumption, matching."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from recommender.models import Artist, ListeningEvent, Playlist, PlaylistTrack, Track
from spotify_sync.models import (
    SavedTrack,
    SpotifyConnection,
    SpotifyPlaylist,
    SpotifyTrack,
    SyncCursor,
    SyncRun,
    TopItem,
)
from spotify_sync.services import sync_run_request
from spotify_sync.tasks import spotify_sync
from tests.factories import ArtistFactory, TrackFactory
from tests.spotify_sync.fake_spotify import FakeSpotify, FakeTrack, FakeUser
from tests.spotify_sync.fake_spotify.catalogue import ms

pytestmark = pytest.mark.django_db

RECENT = "/v1/me/player/recently-played"


def plays_of(user: Any) -> list[tuple[str, dt.datetime]]:
    return list(
        ListeningEvent.objects.filter(user=user)
        .order_by("played_at")
        .values_list("track__spotify_id", "played_at")
    )


def expected_plays(account: FakeUser) -> list[tuple[str, dt.datetime]]:
    return sorted(((t.id, at) for at, t in account.plays), key=lambda p: p[1])


def recent_requests(fake: FakeSpotify) -> list[tuple[str | None, int]]:
    return [(r.query.get("after"), r.status) for r in fake.requests_to(RECENT)]


def test_a_sync_ingests_two_pages_of_history_and_the_library(
    first_run: SyncRun, owner: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    spotify_sync.delay(first_run.pk)

    run = SyncRun.objects.get(pk=first_run.pk)
    assert run.status == SyncRun.Status.SUCCEEDED and run.attempts == 1
    assert plays_of(owner) == expected_plays(alice_spotify)
    assert ListeningEvent.objects.filter(user=owner, source="spotify").count() == 80
    page_one_end = str(ms(alice_spotify.plays[49][0]))
    assert recent_requests(fake_spotify) == [("0", 200), (page_one_end, 200)]
    cursor = SyncCursor.objects.get(user=owner, resource="recently_played")
    assert cursor.value == str(ms(alice_spotify.plays[-1][0]))
    assert run.counts["plays"] == 80 and run.counts["tracks_created"] == 21
    # Top lists for the three time ranges, liked songs, both playlists with their tracks.
    assert TopItem.objects.filter(user=owner, kind="artist").count() == 3 * 5
    assert TopItem.objects.filter(user=owner, kind="track").count() == 3 * 6
    assert list(
        TopItem.objects.filter(user=owner, kind="artist", time_range="medium_term")
        .order_by("rank")
        .values_list("artist__name", flat=True)
    ) == [a.name for a in alice_spotify.top_artists]
    assert SavedTrack.objects.filter(user=owner).count() == 5
    links = SpotifyPlaylist.objects.filter(user=owner).order_by("playlist__name")
    assert [(link.playlist.name, link.is_owner) for link in links] == [
        ("Editors' picks", False),
        ("Road trip", True),
    ]
    assert PlaylistTrack.objects.filter(playlist__name="Road trip").count() == 4


def test_a_second_sync_asks_only_for_what_is_new_and_duplicates_nothing(
    first_run: SyncRun, owner: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    spotify_sync.delay(first_run.pk)
    last = alice_spotify.plays[-1]
    later = [(last[0] + dt.timedelta(minutes=5 * k), last[1]) for k in range(1, 4)]
    alice_spotify.plays.extend(later)
    fake_spotify.requests.clear()

    with_new_run = sync_run_request(user_id=owner.pk)
    spotify_sync.delay(with_new_run.pk)

    assert plays_of(owner) == expected_plays(alice_spotify)
    assert recent_requests(fake_spotify) == [(str(ms(last[0])), 200)]
    assert SyncRun.objects.get(pk=with_new_run.pk).counts["plays"] == 3
    # Unchanged playlists are not fetched again; library rows are not doubled.
    assert fake_spotify.requests_to("/v1/playlists/") == []
    assert SavedTrack.objects.filter(user=owner).count() == 5
    assert TopItem.objects.filter(user=owner).count() == 33


def test_a_429_and_a_500_mid_sync_lose_and_duplicate_nothing(
    first_run: SyncRun, owner: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    # The second page first answers 429 (Retry-After 3), then 500, then the page.
    fake_spotify.fail(RECENT, 429, retry_after=3, skip=1)
    fake_spotify.fail(RECENT, 500, skip=1)

    spotify_sync.delay(first_run.pk)

    assert plays_of(owner) == expected_plays(alice_spotify)
    page_one_end = str(ms(alice_spotify.plays[49][0]))
    assert recent_requests(fake_spotify) == [
        ("0", 200),
        (page_one_end, 429),
        (page_one_end, 500),
        (page_one_end, 200),
    ]
    assert SyncRun.objects.get(pk=first_run.pk).status == SyncRun.Status.SUCCEEDED


def test_the_task_retries_an_outage_from_the_cursor(
    first_run: SyncRun, owner: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    # Page two fails more often than the client retries (1 + 3): the task retries the run,
    # which starts again from the cursor page one left, not from the beginning.
    fake_spotify.fail(RECENT, 503, times=4, skip=1)

    spotify_sync.delay(first_run.pk)

    run = SyncRun.objects.get(pk=first_run.pk)
    assert run.status == SyncRun.Status.SUCCEEDED and run.attempts == 2
    page_one_end = str(ms(alice_spotify.plays[49][0]))
    assert recent_requests(fake_spotify) == [("0", 200)] + [(page_one_end, 503)] * 4 + [
        (page_one_end, 200)
    ]
    assert plays_of(owner) == expected_plays(alice_spotify)
    assert run.counts["plays"] == 80


def test_a_sync_that_gives_up_keeps_its_pages_and_the_next_one_resumes(
    first_run: SyncRun, owner: Any, fake_spotify: FakeSpotify, alice_spotify: FakeUser
) -> None:
    fake_spotify.fail(RECENT, 500, times=100, skip=1)  # an outage after page one

    spotify_sync.delay(first_run.pk)

    failed = SyncRun.objects.get(pk=first_run.pk)
    assert failed.status == SyncRun.Status.FAILED and failed.attempts == 5
    assert "Spotify is unavailable (HTTP 500)" in failed.message
    assert ListeningEvent.objects.filter(user=owner).count() == 50  # page one, kept
    fake_spotify.faults.clear()
    fake_spotify.requests.clear()

    run = sync_run_request(user_id=owner.pk)
    spotify_sync.delay(run.pk)

    page_one_end = str(ms(alice_spotify.plays[49][0]))
    assert recent_requests(fake_spotify) == [(page_one_end, 200)]
    assert plays_of(owner) == expected_plays(alice_spotify)


def test_a_permanent_error_ends_the_run_at_once(
    first_run: SyncRun, owner: Any, fake_spotify: FakeSpotify
) -> None:
    fake_spotify.revoke_refresh_tokens()

    spotify_sync.delay(first_run.pk)

    run = SyncRun.objects.get(pk=first_run.pk)
    assert run.status == SyncRun.Status.FAILED and run.attempts == 1
    assert "connect Spotify again" in run.message


def test_an_expired_token_mid_sync_is_refreshed_and_kept(
    first_run: SyncRun, owner: Any, fake_spotify: FakeSpotify, connected: SpotifyConnection
) -> None:
    fake_spotify.expire_access_tokens()
    before = connected.tokens

    spotify_sync.delay(first_run.pk)

    assert SyncRun.objects.get(pk=first_run.pk).status == SyncRun.Status.SUCCEEDED
    assert SpotifyConnection.objects.get(pk=connected.pk).tokens != before
    assert ListeningEvent.objects.filter(user=owner).count() == 80


def test_no_closed_endpoint_is_ever_called(first_run: SyncRun, fake_spotify: FakeSpotify) -> None:
    spotify_sync.delay(first_run.pk)

    paths = {r.path for r in fake_spotify.requests}
    closed = ("/v1/audio-features", "/v1/audio-analysis", "/v1/recommendations", "related-artists")
    assert not any(p.startswith(closed[:3]) or closed[3] in p for p in paths)
    assert not any(r.path in {"/v1/tracks", "/v1/artists"} for r in fake_spotify.requests)
    assert all(r.status in {200, 204, 302} for r in fake_spotify.requests)


def test_plays_are_matched_by_spotify_id_then_isrc_then_name(
    first_run: SyncRun, owner: Any, alice_spotify: FakeUser
) -> None:
    first, second, third = (alice_spotify.plays[k][1] for k in range(3))
    by_id = TrackFactory(spotify_id=first.id, name="Catalogue title")
    isrc_twin = TrackFactory(name="Album version")
    SpotifyTrack.objects.create(
        spotify_id="7ouMYWpwJ422jRcDASZB7P", track=isrc_twin, isrc=second.isrc
    )
    artist = ArtistFactory(name=third.artist.name.upper())  # the name key folds case
    by_name = TrackFactory(name=third.name, artist=artist)
    artists_before = Artist.objects.count()

    spotify_sync.delay(first_run.pk)

    def track_of(fake_track: FakeTrack) -> int:
        return (
            ListeningEvent.objects.filter(
                user=owner, played_at__in=[at for at, t in alice_spotify.plays if t is fake_track]
            )
            .values_list("track_id", flat=True)
            .distinct()
            .get()
        )

    assert track_of(first) == by_id.pk
    assert track_of(second) == isrc_twin.pk
    assert track_of(third) == by_name.pk
    assert SpotifyTrack.objects.get(spotify_id=third.id).track_id == by_name.pk
    # Unknown tracks were created under their artist, found by name or created once.
    assert Track.objects.filter(artist=artist).count() == 1  # matched, not created again
    assert Artist.objects.count() == artists_before + 6
    assert Playlist.objects.filter(spotify_links__created_playlist=True).count() == 2


def test_a_sync_already_running_is_not_started_twice(first_run: SyncRun, owner: Any) -> None:
    assert sync_run_request(user_id=owner.pk).pk == first_run.pk

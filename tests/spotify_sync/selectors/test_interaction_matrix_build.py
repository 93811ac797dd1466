"""Listening events count as plays in the matrix the models train on (issue 8)."""

from __future__ import annotations

import pytest

from recommender.models import ArtistPlayCount, ListeningEvent
from recommender.selectors_ml import interaction_matrix_build
from tests.factories import ArtistFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_listening_events_add_one_play_each_per_user_and_artist() -> None:
    lastfm_listener = UserFactory(profile__lastfm_user_id=5)
    spotify_only = UserFactory()  # no play counts: only timestamped plays
    lastfm_artist = ArtistFactory(lastfm_id=7)
    catalogue_artist = ArtistFactory(lastfm_id=None)
    a1, a2 = TrackFactory(artist=lastfm_artist), TrackFactory(artist=lastfm_artist)
    c1 = TrackFactory(artist=catalogue_artist)
    ArtistPlayCount.objects.create(user=lastfm_listener, artist=lastfm_artist, play_count=9)
    for k, (user, track) in enumerate(
        [
            (lastfm_listener, a1),
            (lastfm_listener, a2),
            (spotify_only, a1),
            (spotify_only, c1),
            (spotify_only, c1),
        ]
    ):
        source = ["spotify", "export", "room"][k % 3]
        ListeningEvent.objects.create(
            user=user, track=track, played_at=f"2024-01-01T10:0{k}Z", source=source
        )

    data = interaction_matrix_build()

    assert data.user_ids.tolist() == [-spotify_only.pk, 5]
    assert data.item_ids.tolist() == [-catalogue_artist.pk, 7]
    assert data.matrix.toarray().tolist() == [[2.0, 1.0], [0.0, 11.0]]

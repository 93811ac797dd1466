from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from groups.models import Friendship, Membership
from recommender.models import ArtistPlayCount, AudioFeatures, FeedbackEvent, Track
from tests.factories import (
    ArtistFactory,
    ArtistPlayCountFactory,
    FeedbackEventFactory,
    FriendshipFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _violates(create: object) -> bool:
    try:
        with transaction.atomic():
            create()  # type: ignore[operator]
    except IntegrityError:
        return True
    return False


def test_custom_user_model_is_in_use() -> None:
    user = UserFactory(display_name="Ana")

    assert user._meta.label == "recommender.User"
    assert str(user) == "Ana"
    assert user.profile.source == "signup"


def test_track_spotify_id_is_unique() -> None:
    track = TrackFactory()

    assert _violates(lambda: TrackFactory(spotify_id=track.spotify_id))


def test_popularity_above_100_is_rejected() -> None:
    assert _violates(lambda: TrackFactory(popularity=101))


@pytest.mark.parametrize(
    "field_value", [("energy", 1.5), ("valence", -0.1), ("key", 12), ("mode", 2), ("tempo", -1.0)]
)
def test_audio_features_out_of_range_are_rejected(field_value: tuple[str, float]) -> None:
    track = TrackFactory(features=None)
    field, value = field_value
    values = {
        "danceability": 0.5,
        "energy": 0.5,
        "key": 1,
        "loudness": -5.0,
        "mode": 1,
        "speechiness": 0.1,
        "acousticness": 0.1,
        "instrumentalness": 0.0,
        "liveness": 0.1,
        "valence": 0.5,
        "tempo": 100.0,
    }
    values[field] = value

    assert _violates(lambda: AudioFeatures.objects.create(track=track, **values))


def test_one_play_count_row_per_user_and_artist() -> None:
    play = ArtistPlayCountFactory()

    assert _violates(
        lambda: ArtistPlayCount.objects.create(user=play.user, artist=play.artist, play_count=3)
    )
    assert _violates(lambda: ArtistPlayCountFactory(play_count=0))


def test_vote_is_plus_or_minus_one_and_other_feedback_is_one() -> None:
    assert not _violates(lambda: FeedbackEventFactory(kind=FeedbackEvent.Kind.VOTE, value=-1))
    assert _violates(lambda: FeedbackEventFactory(kind=FeedbackEvent.Kind.VOTE, value=3))
    assert _violates(lambda: FeedbackEventFactory(kind=FeedbackEvent.Kind.LIKE, value=-1))


def test_friendship_is_stored_once_as_an_ordered_pair() -> None:
    low, high = sorted([UserFactory(), UserFactory()], key=lambda u: u.pk)
    Friendship.objects.create(user_low=low, user_high=high)

    assert _violates(lambda: Friendship.objects.create(user_low=high, user_high=low))
    assert _violates(lambda: Friendship.objects.create(user_low=low, user_high=high))
    assert _violates(lambda: FriendshipFactory(user_low=low, user_high=low))


def test_membership_is_unique_and_group_size_bounded(room: object, member: object) -> None:
    assert _violates(lambda: Membership.objects.create(group=room, user=member))
    room.max_members = 1  # type: ignore[attr-defined]
    assert _violates(lambda: room.save())  # type: ignore[attr-defined]


def test_artist_with_tracks_cannot_be_deleted_silently() -> None:
    artist = ArtistFactory()
    TrackFactory(artist=artist)

    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        artist.delete()
    assert Track.objects.count() == 1

"""factory_boy factories for the domain models (STYLE rule 13)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from groups.models import Friendship, ListeningGroup, Membership
from ml.data import normalize_name
from recommender.models import (
    Artist,
    ArtistPlayCount,
    AudioFeatures,
    FeedbackEvent,
    Genre,
    ListenerProfile,
    Tag,
    Track,
    User,
)

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _spotify_id(n: int) -> str:
    digits = []
    for _ in range(22):
        n, r = divmod(n, 62)
        digits.append(BASE62[r])
    return "".join(reversed(digits))


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"listener{n}")
    display_name = factory.Faker("first_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery")
    profile = factory.RelatedFactory(
        "tests.factories.ListenerProfileFactory", factory_related_name="user"
    )


class ListenerProfileFactory(DjangoModelFactory[ListenerProfile]):
    class Meta:
        model = ListenerProfile

    user = factory.SubFactory(UserFactory, profile=None)
    source = ListenerProfile.Source.SIGNUP


class GenreFactory(DjangoModelFactory[Genre]):
    class Meta:
        model = Genre
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"genre {n}")


class TagFactory(DjangoModelFactory[Tag]):
    class Meta:
        model = Tag

    lastfm_id = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"tag {n}")


class ArtistFactory(DjangoModelFactory[Artist]):
    class Meta:
        model = Artist

    name = factory.Faker("name")
    name_key = factory.LazyAttribute(lambda a: normalize_name(a.name))


class TrackFactory(DjangoModelFactory[Track]):
    class Meta:
        model = Track
        skip_postgeneration_save = True

    spotify_id = factory.Sequence(lambda n: _spotify_id(n + 1))
    name = factory.Faker("sentence", nb_words=3)
    artist = factory.SubFactory(ArtistFactory)
    popularity = factory.Faker("pyint", min_value=0, max_value=100)
    duration_ms = factory.Faker("pyint", min_value=90_000, max_value=400_000)
    release_year = 2019
    features = factory.RelatedFactory(
        "tests.factories.AudioFeaturesFactory", factory_related_name="track"
    )


class AudioFeaturesFactory(DjangoModelFactory[AudioFeatures]):
    class Meta:
        model = AudioFeatures

    track = factory.SubFactory(TrackFactory, features=None)
    danceability = 0.6
    energy = 0.7
    key = 5
    loudness = -6.0
    mode = 1
    speechiness = 0.05
    acousticness = 0.1
    instrumentalness = 0.0
    liveness = 0.1
    valence = 0.5
    tempo = 120.0


class ArtistPlayCountFactory(DjangoModelFactory[ArtistPlayCount]):
    class Meta:
        model = ArtistPlayCount

    user = factory.SubFactory(UserFactory)
    artist = factory.SubFactory(ArtistFactory)
    play_count = 10


class FeedbackEventFactory(DjangoModelFactory[FeedbackEvent]):
    class Meta:
        model = FeedbackEvent

    user = factory.SubFactory(UserFactory)
    track = factory.SubFactory(TrackFactory)
    kind = FeedbackEvent.Kind.LIKE
    value = 1


class ListeningGroupFactory(DjangoModelFactory[ListeningGroup]):
    class Meta:
        model = ListeningGroup

    name = factory.Faker("catch_phrase")
    owner = factory.SubFactory(UserFactory)


class MembershipFactory(DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    group = factory.SubFactory(ListeningGroupFactory)
    user = factory.SubFactory(UserFactory)


class FriendshipFactory(DjangoModelFactory[Friendship]):
    class Meta:
        model = Friendship

    user_low = factory.SubFactory(UserFactory)
    user_high = factory.SubFactory(UserFactory)

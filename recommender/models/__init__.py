"""Listeners, the catalogue and what listeners do with it."""

from __future__ import annotations

from recommender.models.catalogue import (
    Artist,
    ArtistTag,
    AudioFeatures,
    Genre,
    Mood,
    Playlist,
    PlaylistTrack,
    Tag,
    Track,
    TrackGenre,
    TrackMood,
    TrackPrediction,
)
from recommender.models.imports import ImportRun
from recommender.models.listening import (
    ArtistPlayCount,
    FeedbackEvent,
    ListeningEvent,
    UserTagAssignment,
)
from recommender.models.model_versions import ModelVersion, RetrainRun
from recommender.models.serving import BanditSnapshot, BanditState, CurationRule
from recommender.models.users import ListenerProfile, User

__all__ = [
    "Artist",
    "ArtistPlayCount",
    "ArtistTag",
    "AudioFeatures",
    "BanditSnapshot",
    "BanditState",
    "CurationRule",
    "FeedbackEvent",
    "Genre",
    "ImportRun",
    "ListenerProfile",
    "ListeningEvent",
    "ModelVersion",
    "Mood",
    "Playlist",
    "PlaylistTrack",
    "RetrainRun",
    "Tag",
    "Track",
    "TrackGenre",
    "TrackMood",
    "TrackPrediction",
    "User",
    "UserTagAssignment",
]

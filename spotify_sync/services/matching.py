"""Spotify tracks and artists matched to the catalogue: by Spotify id, then ISRC, then name.

Unknown tracks are created (their artist found by normalised name, or created) so that no play
is lost; the ``SpotifyTrack``/``SpotifyArtist`` rows remember the ids, the ISRC and whose data
created the row, which is what disconnecting with "delete my data" needs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from ml.data import normalize_name
from recommender.models import Artist, Track
from spotify_sync.models import SpotifyArtist, SpotifyTrack

LOCAL_PREFIX = "local:"  # 6 + 16 hex = 22 characters: fits Track.spotify_id, never a Spotify id
NAME_MAX = 512
SPOTIFY_ID_MAX = 22


def _name_key(name: str) -> str:
    return normalize_name(name)[:NAME_MAX]


def _local_key(raw: str) -> str:
    return LOCAL_PREFIX + hashlib.sha1(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ArtistRef:
    name: str
    spotify_id: str = ""

    @property
    def key(self) -> str:
        """The Spotify id, or a stable local key for an export row that has none."""
        return self.spotify_id or _local_key(_name_key(self.name))

    @classmethod
    def from_api(cls, artist: dict[str, Any]) -> ArtistRef:
        return cls(
            name=str(artist.get("name") or "Unknown artist"),
            spotify_id=str(artist.get("id") or "")[:SPOTIFY_ID_MAX],
        )


@dataclass(frozen=True)
class TrackRef:
    """What a play or a list entry says about a track (from the API or a data export)."""

    name: str
    artist: ArtistRef
    spotify_id: str = ""
    isrc: str = ""
    album_name: str = ""
    album_spotify_id: str = ""
    duration_ms: int | None = None
    release_date: str = ""

    @property
    def key(self) -> str:
        """The Spotify id, or a stable local key for an export row that has none."""
        raw = f"{_name_key(self.artist.name)}\x1f{_name_key(self.name)}"
        return self.spotify_id or _local_key(raw)

    @classmethod
    def from_api(cls, track: dict[str, Any] | None) -> TrackRef | None:
        """A Web API track object; ``None`` for local files, episodes and removed tracks."""
        if not track or track.get("type", "track") != "track" or track.get("is_local"):
            return None
        if not track.get("id") or len(track["id"]) > SPOTIFY_ID_MAX or not track.get("name"):
            return None
        artists = track.get("artists") or [{}]
        album = track.get("album") or {}
        return cls(
            name=str(track["name"]),
            artist=ArtistRef.from_api(artists[0]),
            spotify_id=str(track["id"]),
            isrc=str((track.get("external_ids") or {}).get("isrc") or "")[:12],
            album_name=str(album.get("name") or ""),
            album_spotify_id=str(album.get("id") or ""),
            duration_ms=track.get("duration_ms"),
            release_date=str(album.get("release_date") or ""),
        )


def _release(value: str) -> tuple[dt.date | None, int | None]:
    """Spotify dates come as ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return day, day.year
        return None, int(value[:4]) if len(value) >= 4 else None
    except ValueError:
        return None, None


def _artist_by_name_key(keys: Iterable[str]) -> dict[str, int]:
    """Normalised name → artist id; a Last.fm artist (lowest id) wins, as in the importers."""
    best: dict[str, tuple[int, int, int]] = {}
    rows = Artist.objects.filter(name_key__in=set(keys)).values_list("name_key", "lastfm_id", "id")
    for key, lastfm_id, pk in rows:
        rank = (0, lastfm_id, pk) if lastfm_id is not None else (1, 0, pk)
        if key not in best or rank < best[key]:
            best[key] = rank
    return {key: rank[2] for key, rank in best.items()}


@transaction.atomic
def artists_resolve(*, refs: Sequence[ArtistRef], user_id: int) -> dict[str, int]:
    """``ArtistRef.key`` → catalogue artist id, creating the artists nobody knows."""
    unique = {ref.key: ref for ref in refs}
    resolved = dict(
        SpotifyArtist.objects.filter(spotify_id__in=list(unique)).values_list(
            "spotify_id", "artist_id"
        )
    )
    missing = [ref for key, ref in unique.items() if key not in resolved]
    by_name = _artist_by_name_key(_name_key(ref.name) for ref in missing)
    to_create = {
        _name_key(ref.name): Artist(name=ref.name[:NAME_MAX], name_key=_name_key(ref.name))
        for ref in missing
        if _name_key(ref.name) not in by_name
    }
    created = {artist.pk for artist in Artist.objects.bulk_create(list(to_create.values()))}
    by_name.update({artist.name_key: artist.pk for artist in to_create.values()})
    for ref in missing:
        resolved[ref.key] = by_name[_name_key(ref.name)]
    SpotifyArtist.objects.bulk_create(  # local keys too: deleting a user's data needs them
        [
            SpotifyArtist(
                spotify_id=ref.key,
                artist_id=resolved[ref.key],
                created_for_id=user_id if resolved[ref.key] in created else None,
            )
            for ref in missing
        ],
        ignore_conflicts=True,
    )
    return resolved


@dataclass
class TrackResolution:
    track_ids: dict[str, int]  # TrackRef.key → Track id
    created: int


@transaction.atomic
def tracks_resolve(*, refs: Sequence[TrackRef], user_id: int) -> TrackResolution:
    """``TrackRef.key`` → catalogue track id: by Spotify id, ISRC, artist + name, or created."""
    unique = {ref.key: ref for ref in refs}
    resolved = _by_spotify_id(list(unique))
    resolved.update(_by_isrc([r for k, r in unique.items() if k not in resolved]))
    missing = [ref for key, ref in unique.items() if key not in resolved]
    artist_ids = artists_resolve(refs=[ref.artist for ref in missing], user_id=user_id)
    resolved.update(_by_name(missing, artist_ids))
    created = _tracks_create([ref for ref in missing if ref.key not in resolved], artist_ids)
    resolved.update(created)
    SpotifyTrack.objects.bulk_create(  # remembers alias ids and ISRCs of matched tracks too
        [
            SpotifyTrack(
                spotify_id=ref.key,
                track_id=resolved[ref.key],
                isrc=ref.isrc,
                created_for_id=user_id if ref.key in created else None,
            )
            for ref in unique.values()
        ],
        ignore_conflicts=True,
    )
    return TrackResolution(track_ids=resolved, created=len(set(created.values())))


def _by_spotify_id(keys: list[str]) -> dict[str, int]:
    found = dict(
        SpotifyTrack.objects.filter(spotify_id__in=keys).values_list("spotify_id", "track_id")
    )
    found.update(Track.objects.filter(spotify_id__in=keys).values_list("spotify_id", "id"))
    return found


def _by_isrc(refs: list[TrackRef]) -> dict[str, int]:
    isrcs = {ref.isrc for ref in refs if ref.isrc}
    first: dict[str, int] = {}
    rows = SpotifyTrack.objects.filter(isrc__in=isrcs).order_by("track_id")
    for isrc, track_id in rows.values_list("isrc", "track_id"):
        first.setdefault(isrc, track_id)
    return {ref.key: first[ref.isrc] for ref in refs if ref.isrc in first}


def _by_name(refs: list[TrackRef], artist_ids: dict[str, int]) -> dict[str, int]:
    wanted = {artist_ids[ref.artist.key] for ref in refs}
    catalogue: dict[tuple[int, str], int] = {}
    rows = Track.objects.filter(artist_id__in=wanted).order_by("id")
    for pk, name, artist_id in rows.values_list("id", "name", "artist_id"):
        catalogue.setdefault((artist_id, _name_key(name)), pk)
    matches = {
        ref.key: catalogue.get((artist_ids[ref.artist.key], _name_key(ref.name))) for ref in refs
    }
    return {key: pk for key, pk in matches.items() if pk is not None}


def _tracks_create(refs: list[TrackRef], artist_ids: dict[str, int]) -> dict[str, int]:
    """Create one track per artist + name among ``refs`` (a play with a Spotify id and an
    offline play of the same song without one are one track); returns key → id for all."""
    groups: dict[tuple[int, str], list[TrackRef]] = {}
    for ref in refs:
        groups.setdefault((artist_ids[ref.artist.key], _name_key(ref.name)), []).append(ref)
    rows = []
    for (artist_id, _), group in groups.items():
        ref = min(group, key=lambda r: (not r.spotify_id, r.key))  # a real Spotify id if any
        release_date, release_year = _release(ref.release_date)
        rows.append(
            Track(
                spotify_id=ref.key,
                name=ref.name[:NAME_MAX],
                artist_id=artist_id,
                album_spotify_id=ref.album_spotify_id[:22],
                album_name=ref.album_name[:NAME_MAX],
                release_date=release_date,
                release_year=release_year,
                duration_ms=ref.duration_ms if (ref.duration_ms or 0) > 0 else None,
            )
        )
    created = Track.objects.bulk_create(rows)
    return {
        ref.key: track.pk
        for track, group in zip(created, groups.values(), strict=True)
        for ref in group
    }

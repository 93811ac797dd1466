"""Import the Spotify track catalogue: tracks, audio features, genres and playlists."""

from __future__ import annotations

from pathlib import Path

from ml.data import catalogue, normalize_name
from ml.data.catalogue import AudioFeatureValues, CatalogueRow
from recommender.models import AudioFeatures, Genre, Playlist, PlaylistTrack, Track, TrackGenre
from recommender.services.imports.common import (
    ImportReport,
    Progress,
    artists_for_names,
    name_keys,
    progress_bar,
    run_import,
    upsert,
)

TRACK_FIELDS = [
    "name",
    "artist",
    "album_spotify_id",
    "album_name",
    "release_date",
    "release_year",
    "popularity",
    "duration_ms",
]
FEATURE_FIELDS = list(AudioFeatureValues._fields)


def tracks_import(*, path: Path, progress: bool = False) -> ImportReport:
    """Import the catalogue CSV (``.csv`` or ``.csv.gz``; one row per track and playlist)."""

    def work(report: ImportReport) -> None:
        result = catalogue.read_songs(path)
        report.skipped.extend(result.errors)
        rows = result.rows
        tracks = _first_row_per_track(rows)
        with progress_bar(
            total=3 * len(tracks) + 3 * len(rows), desc="Tracks", enabled=progress
        ) as bar:
            genre_ids = _write_genres(rows)
            artist_ids = artists_for_names(
                name_keys([r.artist for r in tracks.values()]), progress=bar
            )
            track_ids = write_tracks(list(tracks.values()), artist_ids, bar)
            write_audio_features({t: r.features for t, r in tracks.items()}, track_ids, bar)
            links = _write_track_genres(rows, track_ids, genre_ids, bar)
            playlists = _write_playlists(rows, track_ids, bar)
        report.counts = {
            "tracks": len(tracks),
            "artists": len(set(artist_ids.values())),
            "genres": len(genre_ids),
            "genre links": links,
            "playlists": playlists,
        }

    return run_import(kind="tracks", source=str(path), work=work)


def _first_row_per_track(rows: list[CatalogueRow]) -> dict[str, CatalogueRow]:
    tracks: dict[str, CatalogueRow] = {}
    for row in rows:
        tracks.setdefault(row.track_id, row)
    return tracks


def _write_genres(rows: list[CatalogueRow]) -> dict[str, int]:
    parents = {r.genre for r in rows}
    children = {(r.subgenre, r.genre) for r in rows if r.subgenre not in parents}
    for name in sorted(parents):
        Genre.objects.get_or_create(name=name)
    ids = dict(Genre.objects.filter(name__in=parents).values_list("name", "id"))
    for name, parent in sorted(children):
        genre, _ = Genre.objects.get_or_create(name=name, defaults={"parent_id": ids[parent]})
        ids[name] = genre.pk
    return ids


def write_tracks(rows: list, artist_ids: dict[str, int], bar: Progress) -> dict[str, int]:  # type: ignore[type-arg]
    """Upsert tracks (catalogue or mood rows share the fields used here); spotify id → pk."""
    bar.step("tracks")
    objs = [
        Track(
            spotify_id=r.track_id,
            name=r.name[:512],
            artist_id=artist_ids[normalize_name(r.artist)],
            album_spotify_id=getattr(r, "album_id", "")[:22],
            album_name=r.album_name[:512],
            release_date=r.release_date,
            release_year=r.release_year,
            popularity=r.popularity,
            duration_ms=r.duration_ms,
        )
        for r in rows
    ]
    upsert(Track, objs, progress=bar, unique_fields=["spotify_id"], update_fields=TRACK_FIELDS)
    ids = {r.track_id for r in rows}
    return {
        sid: pk
        for sid, pk in Track.objects.values_list("spotify_id", "id").iterator(chunk_size=5000)
        if sid in ids
    }


def write_audio_features(
    features: dict[str, AudioFeatureValues], track_ids: dict[str, int], bar: Progress
) -> None:
    bar.step("audio features")
    objs = [AudioFeatures(track_id=track_ids[t], **f._asdict()) for t, f in features.items()]
    upsert(AudioFeatures, objs, progress=bar, unique_fields=["track"], update_fields=FEATURE_FIELDS)


def _write_track_genres(
    rows: list[CatalogueRow], track_ids: dict[str, int], genre_ids: dict[str, int], bar: Progress
) -> int:
    bar.step("genres")
    pairs = {(track_ids[r.track_id], genre_ids[g]) for r in rows for g in (r.genre, r.subgenre)}
    upsert(
        TrackGenre,
        [TrackGenre(track_id=t, genre_id=g) for t, g in sorted(pairs)],
        progress=bar,
        unique_fields=["track", "genre"],
    )
    return len(pairs)


def _write_playlists(rows: list[CatalogueRow], track_ids: dict[str, int], bar: Progress) -> int:
    bar.step("playlists")
    names = {r.playlist_id: r.playlist_name[:255] for r in rows}
    upsert(
        Playlist,
        [Playlist(spotify_id=pid, name=name) for pid, name in names.items()],
        progress=bar,
        unique_fields=["spotify_id"],
        update_fields=["name"],
    )
    ids = dict(Playlist.objects.filter(spotify_id__in=names).values_list("spotify_id", "id"))
    pairs = {(ids[r.playlist_id], track_ids[r.track_id]) for r in rows}
    upsert(
        PlaylistTrack,
        [PlaylistTrack(playlist_id=p, track_id=t) for p, t in sorted(pairs)],
        progress=bar,
        unique_fields=["playlist", "track"],
    )
    return len(names)

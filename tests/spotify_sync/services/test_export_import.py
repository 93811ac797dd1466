"""A Spotify data export imports as listening events, and its plays change recommendations."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audotics.errors import ImportFailed
from ml.models import build
from recommender.models import Artist, ArtistPlayCount, ImportRun, ListeningEvent, Track
from recommender.selectors_ml import interaction_matrix_build
from recommender.services.imports import lastfm_import
from spotify_sync.exports import ExportFile
from spotify_sync.services import export_import
from spotify_sync.services.matching import LOCAL_PREFIX
from tests.spotify_sync.fake_spotify import spotify_id

pytestmark = pytest.mark.django_db

EXTENDED = "Streaming_History_Audio_2023-2024_0.json"
ACCOUNT = "StreamingHistory_music_0.json"


@pytest.fixture
def export_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "spotify_export"


def files(folder: Path, *names: str) -> list[ExportFile]:
    return [ExportFile(name, (folder / name).read_bytes()) for name in names]


def test_the_extended_history_imports_as_export_plays(owner: Any, export_dir: Path) -> None:
    report = export_import(user_id=owner.pk, files=files(export_dir, EXTENDED))

    assert report.counts == {
        "plays read": 28,
        "plays imported": 22,
        "already imported": 0,
        "short plays skipped": 4,
        "podcasts and other non-music skipped": 2,
        "tracks created": 10,
    }
    assert report.notes == [
        "4 plays shorter than 30 s were skipped (Spotify does not count them as streams either)"
    ]
    events = ListeningEvent.objects.filter(user=owner)
    assert events.count() == 22 and set(events.values_list("source", flat=True)) == {"export"}
    first = events.order_by("played_at").first()
    assert first is not None
    assert first.played_at.isoformat() == "2023-11-03T21:08:48+00:00"
    assert first.ms_played == 180_000
    assert first.track.spotify_id == spotify_id("track:Max Richter:On the Nature of Daylight")
    assert first.track.album_name == "The Blue Notebooks"
    # The offline play without a URI found its track by artist and name.
    assert not Track.objects.filter(spotify_id__startswith=LOCAL_PREFIX).exists()
    audit = ImportRun.objects.get(kind="spotify_export")
    assert audit.status == "succeeded" and audit.source.startswith(f"user:{owner.pk} ")


def test_importing_twice_adds_nothing(owner: Any, export_dir: Path) -> None:
    export_import(user_id=owner.pk, files=files(export_dir, EXTENDED))
    tracks = Track.objects.count()

    report = export_import(user_id=owner.pk, files=files(export_dir, EXTENDED, EXTENDED))

    assert report.counts["plays imported"] == 0 and report.counts["already imported"] == 44
    assert ListeningEvent.objects.count() == 22 and Track.objects.count() == tracks


def test_the_account_data_format_and_a_zip_import_too(owner: Any, export_dir: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.write(export_dir / EXTENDED, f"Spotify Extended Streaming History/{EXTENDED}")
        z.write(export_dir / ACCOUNT, f"Spotify Account Data/{ACCOUNT}")
        z.writestr("Spotify Account Data/Userdata.json", '{"username": "x"}')

    report = export_import(
        user_id=owner.pk, files=[ExportFile("my_spotify_data.zip", archive.getvalue())]
    )

    assert report.counts["plays imported"] == 22 + 3
    assert report.counts["short plays skipped"] == 4 + 1
    assert report.counts["podcasts and other non-music skipped"] == 2 + 1
    # "Archangel" from 2019 has no URI but matches the 2023 plays' track by artist and name.
    assert Track.objects.filter(name="Archangel").count() == 1


def test_plays_join_the_catalogue_artists_by_normalised_name(
    owner: Any, export_dir: Path, fixtures_dir: Path
) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    artists = Artist.objects.count()

    export_import(user_id=owner.pk, files=files(export_dir, EXTENDED))

    assert Artist.objects.count() == artists  # all six artists are Last.fm artists
    played = set(
        ListeningEvent.objects.filter(user=owner).values_list("track__artist__lastfm_id", flat=True)
    )
    assert None not in played and len(played) == 6


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"ts": "2023-11-03T21:08:48Z", "ms_played": 1', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8 text"),
        (b'{"ts": 1}', "expected a JSON list of plays"),
        (b'[{"played": "yesterday"}]', "neither ts/ms_played nor endTime/msPlayed"),
        (json.dumps([{"ts": "soon", "ms_played": 5}] * 12).encode(), "12 of 12 records"),
    ],
)
def test_a_damaged_file_writes_nothing(
    owner: Any, export_dir: Path, data: bytes, message: str
) -> None:
    good = files(export_dir, EXTENDED)[0]

    with pytest.raises(ImportFailed) as caught:
        export_import(user_id=owner.pk, files=[good, ExportFile("Streaming_History_x.json", data)])

    assert message in caught.value.message and "Streaming_History_x.json" in caught.value.message
    assert "\n" not in caught.value.message
    assert not ListeningEvent.objects.exists() and not Track.objects.exists()
    assert ImportRun.objects.get().status == "failed"


def test_a_bad_record_is_skipped_and_reported(owner: Any) -> None:
    records = [
        {
            "ts": "2024-01-01T10:00:00Z",
            "ms_played": 200000,
            "master_metadata_track_name": "A",
            "master_metadata_album_artist_name": "B",
            "spotify_track_uri": None,
        },
        {"ts": "2024-01-01T10:05:00Z", "ms_played": "long"},
    ]
    data = json.dumps(records).encode()

    report = export_import(user_id=owner.pk, files=[ExportFile("h.json", data)])

    assert report.counts["plays imported"] == 1
    assert [str(e) for e in report.skipped] == [
        "h.json:2: ms_played 'long' is not a duration in milliseconds"
    ]
    track = Track.objects.get()
    assert track.spotify_id.startswith(LOCAL_PREFIX) and len(track.spotify_id) == 22


def test_too_much_data_is_refused(owner: Any, export_dir: Path, settings: Any) -> None:
    settings.SPOTIFY_EXPORT_MAX_BYTES = 1000

    with pytest.raises(ImportFailed, match=r"the limit is 0\.0 MB"):
        export_import(user_id=owner.pk, files=files(export_dir, EXTENDED))


# --- The plays reach the models -------------------------------------------------------------------


def _recommend(user_raw_id: int) -> tuple[list[int], dict[int, float]]:
    """Fit a tiny NCF on the database's interaction matrix; the user's top 10 and all scores."""
    data = interaction_matrix_build()
    model = build("ncf", tiny=True, seed=7).fit(data)
    ids, _ = model.recommend([user_raw_id], n=10)
    scores = model.score([user_raw_id], data.item_ids)[0]
    return ids[0].tolist(), dict(zip(data.item_ids.tolist(), scores.tolist(), strict=True))


def test_the_exported_plays_change_that_users_recommendations(
    owner: Any, export_dir: Path, fixtures_dir: Path
) -> None:
    lastfm_import(directory=fixtures_dir / "lastfm-small")
    depeche_mode = Artist.objects.get(name="Depeche Mode")
    ArtistPlayCount.objects.create(user=owner, artist=depeche_mode, play_count=40)
    ambient_listener = 3  # the Last.fm listener of Max Richter, Burial, Pleq, Celer, Pjusk, Segue
    cluster = set(
        ArtistPlayCount.objects.filter(user__profile__lastfm_user_id=ambient_listener).values_list(
            "artist__lastfm_id", flat=True
        )
    )
    before, scores_before = _recommend(-owner.pk)

    export_import(user_id=owner.pk, files=files(export_dir, EXTENDED))
    after, scores_after = _recommend(-owner.pk)

    played = set(
        ListeningEvent.objects.filter(user=owner).values_list("track__artist__lastfm_id", flat=True)
    )
    assert played <= cluster and len(played) == 6
    assert before != after
    assert not played & set(after)  # now seen: not recommended again
    # Her taste moved towards the ambient listener's: his other artists score higher for her.
    others = [a for a in cluster - played if a is not None]
    gain = np.mean([scores_after[a] - scores_before[a] for a in others])
    assert gain > 0
    assert len(set(after) & cluster) > len(set(before) & cluster)

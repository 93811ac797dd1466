"""The data-set readers without Django: the same code the importers and ``python -m ml`` use."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ml.data import DataFileError, normalize_name
from ml.data import catalogue, hetrec


def test_normalize_name_folds_case_width_and_spaces() -> None:
    assert normalize_name("  Daft\tPUNK ") == "daft punk"
    assert normalize_name("ＡＢＢＡ") == "abba"
    assert normalize_name("Tiësto") == normalize_name("TIËSTO")


def test_reads_the_hetrec_fixture(fixtures_dir: Path) -> None:
    folder = fixtures_dir / "lastfm-small"

    plays = hetrec.read_user_artists(folder)
    tags = hetrec.read_tag_assignments(folder)

    assert len(plays.rows) == 300 and not plays.errors
    assert plays.rows[0] == hetrec.UserArtistRow(3, plays.rows[0].artist_id, plays.rows[0].weight)
    assert all(r.day is not None for r in tags.rows)


def test_artist_names_with_quotes_are_not_mangled(tmp_path: Path) -> None:
    (tmp_path / "artists.dat").write_text(
        'id\tname\turl\tpictureURL\n1\t"Weird Al" Yankovic\thttp://x\t\n', encoding="utf-8"
    )

    rows = hetrec.read_artists(tmp_path).rows

    assert rows[0].name == '"Weird Al" Yankovic'


def test_release_dates_keep_only_what_is_known() -> None:
    assert catalogue.release_date("2019-06-14")[1] == 2019
    assert catalogue.release_date("1998") == (None, 1998)
    assert catalogue.release_date("2001-03") == (None, 2001)
    with pytest.raises(ValueError, match="is not YYYY"):
        catalogue.release_date("14/06/2019")


def test_reads_the_catalogue_from_plain_and_gzip(fixtures_dir: Path, tmp_path: Path) -> None:
    plain = fixtures_dir / "spotify_songs_small.csv"
    gz = tmp_path / "songs.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))

    assert catalogue.read_songs(plain).rows == catalogue.read_songs(gz).rows


def test_empty_file_is_damaged(tmp_path: Path) -> None:
    (tmp_path / "user_friends.dat").write_text("")

    with pytest.raises(DataFileError, match="empty file"):
        hetrec.read_friends(tmp_path)


def test_self_friendship_is_a_bad_row(tmp_path: Path) -> None:
    (tmp_path / "user_friends.dat").write_text("userID\tfriendID\n1\t2\n3\t3\n")

    result = hetrec.read_friends(tmp_path)

    assert [str(e) for e in result.errors] == ["user_friends.dat:3: user 3 is their own friend"]

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from audotics.errors import ImportFailed
from groups.models import Friendship
from recommender.models import (
    Artist,
    ArtistPlayCount,
    ArtistTag,
    ImportRun,
    ListenerProfile,
    Tag,
    User,
    UserTagAssignment,
)
from recommender.services.imports import lastfm_import, tracks_import
from tests.factories import ArtistFactory

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    models = [
        Artist,
        Tag,
        User,
        ListenerProfile,
        ArtistPlayCount,
        UserTagAssignment,
        ArtistTag,
        Friendship,
    ]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def lastfm_dir(fixtures_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "lastfm"
    shutil.copytree(fixtures_dir / "lastfm-small", target)
    return target


def test_imports_every_file(lastfm_dir: Path) -> None:
    report = lastfm_import(directory=lastfm_dir)

    assert report.counts["users"] == 12
    assert User.objects.count() == 12
    assert ArtistPlayCount.objects.count() == 300
    assert Artist.objects.count() == 348
    assert Tag.objects.count() == 97
    assert Friendship.objects.count() == 24  # 48 directed rows = 24 undirected pairs
    assert not User.objects.get(username="lastfm_3").has_usable_password()
    assert (
        ListenerProfile.objects.filter(source="lastfm", lastfm_user_id__isnull=False).count() == 12
    )


def test_artist_tags_are_derived_from_assignments(lastfm_dir: Path) -> None:
    lastfm_import(directory=lastfm_dir)

    total = sum(ArtistTag.objects.values_list("count", flat=True))
    assert total == UserTagAssignment.objects.count()


def test_latin1_tag_is_decoded(lastfm_dir: Path) -> None:
    lastfm_import(directory=lastfm_dir)

    assert Tag.objects.filter(name__contains="ç").exists()


def test_dangling_tag_rows_are_counted_not_failed(lastfm_dir: Path) -> None:
    report = lastfm_import(directory=lastfm_dir)

    assert UserTagAssignment.objects.count() == 397
    assert any("3 rows name an artist or tag missing" in note for note in report.notes)


def test_running_twice_leaves_the_same_rows(lastfm_dir: Path) -> None:
    lastfm_import(directory=lastfm_dir)
    first = _row_counts()
    lastfm_import(directory=lastfm_dir)

    assert _row_counts() == first


def test_updated_play_count_is_updated_in_place(lastfm_dir: Path) -> None:
    lastfm_import(directory=lastfm_dir)
    path = lastfm_dir / "user_artists.dat"
    lines = path.read_text().split("\n")
    user, artist, _ = lines[1].split("\t")
    lines[1] = f"{user}\t{artist}\t999999"
    path.write_text("\n".join(lines))

    lastfm_import(directory=lastfm_dir)

    play = ArtistPlayCount.objects.get(user__username=f"lastfm_{user}", artist__lastfm_id=artist)
    assert play.play_count == 999999
    assert ArtistPlayCount.objects.count() == 300


def test_links_lastfm_artists_to_catalogue_artists_by_normalised_name(
    lastfm_dir: Path, fixtures_dir: Path
) -> None:
    tracks_import(path=fixtures_dir / "spotify_songs_small.csv")
    catalogue_coldplay = Artist.objects.get(name_key="coldplay")
    assert catalogue_coldplay.lastfm_id is None

    lastfm_import(directory=lastfm_dir)

    coldplay = Artist.objects.get(name_key="coldplay")
    assert coldplay.pk == catalogue_coldplay.pk
    assert coldplay.lastfm_id is not None
    assert coldplay.tracks.exists()


def test_bad_value_row_is_skipped_with_file_and_line(lastfm_dir: Path) -> None:
    path = lastfm_dir / "user_artists.dat"
    lines = path.read_text().split("\n")
    lines[5] = lines[5].rsplit("\t", 1)[0] + "\tlots"
    path.write_text("\n".join(lines))

    report = lastfm_import(directory=lastfm_dir)

    assert [str(e) for e in report.skipped] == [
        "user_artists.dat:6: weight='lots' is not an integer"
    ]
    assert ArtistPlayCount.objects.count() == 299


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text(p.read_text()[:-40].rstrip("\n")), "truncated at line"),
        (lambda p: p.write_bytes(b"\xff\xfe" * 400), "user_artists.dat"),
        (lambda p: p.write_text("user\tartist\tplays\n1\t2\t3\n"), "header is"),
        (lambda p: p.unlink(), "no such file"),
    ],
    ids=["truncated", "garbled", "wrong-header", "missing"],
)
def test_damaged_file_fails_in_one_line_and_writes_nothing(
    lastfm_dir: Path, damage: object, message: str
) -> None:
    ArtistFactory(name="Already here")
    before = _row_counts()
    damage(lastfm_dir / "user_artists.dat")  # type: ignore[operator]

    with pytest.raises(ImportFailed) as caught:
        lastfm_import(directory=lastfm_dir)

    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert _row_counts() == before
    assert ImportRun.objects.get().status == ImportRun.Status.FAILED


def test_a_file_with_many_bad_rows_is_garbled(lastfm_dir: Path) -> None:
    path = lastfm_dir / "user_friends.dat"
    lines = path.read_text().split("\n")
    path.write_text("\n".join([lines[0], *(f"{line}\tjunk" for line in lines[1:] if line)]) + "\n")

    with pytest.raises(ImportFailed, match="rows are malformed, the file looks garbled"):
        lastfm_import(directory=lastfm_dir)
    assert User.objects.count() == 0

"""Import a folder in the Last.fm HetRec 2011 layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from django.db.models import Count

from groups.models import Friendship
from ml.data import ReadResult, hetrec, normalize_name
from recommender.models import (
    Artist,
    ArtistPlayCount,
    ArtistTag,
    ListenerProfile,
    Tag,
    User,
    UserTagAssignment,
)
from recommender.services.imports.common import (
    ImportReport,
    Progress,
    progress_bar,
    run_import,
    upsert,
)

LASTFM_USERNAME = "lastfm_{}"


@dataclass(frozen=True)
class LastfmFiles:
    artists: list[hetrec.ArtistRow]
    tags: list[hetrec.TagRow]
    plays: list[hetrec.UserArtistRow]
    assignments: list[hetrec.TagAssignmentRow]
    friends: list[hetrec.FriendRow]

    @property
    def size(self) -> int:
        parts = (self.artists, self.tags, self.plays, self.assignments, self.friends)
        return sum(len(p) for p in parts)


class _ArtistRef(Protocol):
    @property
    def artist_id(self) -> int: ...


R = TypeVar("R", bound=_ArtistRef)
T = TypeVar("T")


def lastfm_import(*, directory: Path, progress: bool = False) -> ImportReport:
    """Import users, artists, tags, play counts, tag assignments and friendships.

    Every file is read and checked before anything is written; Last.fm artists are linked to
    catalogue artists that share their normalised name.
    """

    def work(report: ImportReport) -> None:
        files = _read_files(directory, report)
        with progress_bar(total=files.size, desc="Last.fm", enabled=progress) as bar:
            _write(files, report, bar)

    return run_import(kind="lastfm", source=str(directory), work=work)


def _keep(result: ReadResult[T], report: ImportReport) -> list[T]:
    report.skipped.extend(result.errors)
    return result.rows


def _read_files(directory: Path, report: ImportReport) -> LastfmFiles:
    return LastfmFiles(
        artists=_keep(hetrec.read_artists(directory), report),
        tags=_keep(hetrec.read_tags(directory), report),
        plays=_keep(hetrec.read_user_artists(directory), report),
        assignments=_keep(hetrec.read_tag_assignments(directory), report),
        friends=_keep(hetrec.read_friends(directory), report),
    )


def _write(files: LastfmFiles, report: ImportReport, bar: Progress) -> None:
    artist_ids = _write_artists(files.artists, bar)
    tag_ids = _write_tags(files.tags, bar)
    user_ids = _write_users(files, bar)
    plays = _known_artists(files.plays, artist_ids, report, hetrec.USER_ARTISTS_FILE)
    bar.step("play counts")
    upsert(
        ArtistPlayCount,
        [
            ArtistPlayCount(
                user_id=user_ids[p.user_id], artist_id=artist_ids[p.artist_id], play_count=p.weight
            )
            for p in plays
        ],
        progress=bar,
        unique_fields=["user", "artist"],
        update_fields=["play_count"],
    )
    tagged = _known_artists(
        [a for a in files.assignments if a.tag_id in tag_ids],
        artist_ids,
        report,
        hetrec.USER_TAGGED_ARTISTS_FILE,
        total=len(files.assignments),
    )
    _write_tag_assignments(tagged, user_ids, artist_ids, tag_ids, bar)
    friendships = _write_friendships(files.friends, user_ids, bar)
    report.counts = {
        "artists": len(files.artists),
        "tags": len(files.tags),
        "users": len(user_ids),
        "play counts": len(plays),
        "tag assignments": len(tagged),
        "friendships": friendships,
    }


def _write_artists(rows: list[hetrec.ArtistRow], bar: Progress) -> dict[int, int]:
    """Upsert Last.fm artists; a catalogue-only artist with the same name is adopted, not copied."""
    bar.step("artists")
    known = set(Artist.objects.filter(lastfm_id__isnull=False).values_list("lastfm_id", flat=True))
    orphans: dict[str, Artist] = {}
    for artist in Artist.objects.filter(lastfm_id__isnull=True).order_by("id"):
        orphans.setdefault(artist.name_key, artist)
    adopted: list[Artist] = []
    for row in rows:
        orphan = orphans.pop(normalize_name(row.name), None) if row.artist_id not in known else None
        if orphan is not None:
            orphan.lastfm_id = row.artist_id
            adopted.append(orphan)
    Artist.objects.bulk_update(adopted, ["lastfm_id"], batch_size=1000)
    upsert(
        Artist,
        [
            Artist(
                lastfm_id=r.artist_id,
                name=r.name,
                name_key=normalize_name(r.name),
                lastfm_url=r.url[:512],
                picture_url=r.picture_url[:512],
            )
            for r in rows
        ],
        progress=bar,
        unique_fields=["lastfm_id"],
        update_fields=["name", "name_key", "lastfm_url", "picture_url"],
    )
    linked = Artist.objects.filter(lastfm_id__isnull=False).values_list("lastfm_id", "id")
    return {lastfm_id: pk for lastfm_id, pk in linked if lastfm_id is not None}


def _write_tags(rows: list[hetrec.TagRow], bar: Progress) -> dict[int, int]:
    bar.step("tags")
    upsert(
        Tag,
        [Tag(lastfm_id=r.tag_id, name=r.name[:255]) for r in rows],
        progress=bar,
        unique_fields=["lastfm_id"],
        update_fields=["name"],
    )
    linked = Tag.objects.filter(lastfm_id__isnull=False).values_list("lastfm_id", "id")
    return {lastfm_id: pk for lastfm_id, pk in linked if lastfm_id is not None}


def _write_users(files: LastfmFiles, bar: Progress) -> dict[int, int]:
    """HetRec has no users file: a user is anyone who appears in an interaction file."""
    bar.step("users")
    lastfm_ids = sorted(
        {p.user_id for p in files.plays}
        | {a.user_id for a in files.assignments}
        | {f.user_id for f in files.friends}
        | {f.friend_id for f in files.friends}
    )
    users = [
        User(username=LASTFM_USERNAME.format(i), display_name=f"Last.fm listener {i}", password="!")
        for i in lastfm_ids
    ]
    upsert(User, users, progress=bar, unique_fields=["username"])
    by_name = dict(
        User.objects.filter(username__startswith="lastfm_").values_list("username", "id")
    )
    ids = {i: by_name[LASTFM_USERNAME.format(i)] for i in lastfm_ids}
    profiles = [
        ListenerProfile(user_id=ids[i], source=ListenerProfile.Source.LASTFM, lastfm_user_id=i)
        for i in lastfm_ids
    ]
    upsert(ListenerProfile, profiles, progress=bar, unique_fields=["user"])
    return ids


def _known_artists(
    rows: list[R], artist_ids: dict[int, int], report: ImportReport, file: str, total: int = 0
) -> list[R]:
    """Drop rows naming an artist (or tag) missing from the catalogue files, and count them."""
    kept = [r for r in rows if r.artist_id in artist_ids]
    dropped = max(total, len(rows)) - len(kept)
    if dropped:
        report.notes.append(
            f"{file}: {dropped} rows name an artist or tag missing from the catalogue files"
        )
    return kept


def _write_tag_assignments(
    rows: list[hetrec.TagAssignmentRow],
    user_ids: dict[int, int],
    artist_ids: dict[int, int],
    tag_ids: dict[int, int],
    bar: Progress,
) -> None:
    bar.step("tag assignments")
    upsert(
        UserTagAssignment,
        [
            UserTagAssignment(
                user_id=user_ids[a.user_id],
                artist_id=artist_ids[a.artist_id],
                tag_id=tag_ids[a.tag_id],
                tagged_on=a.day,
            )
            for a in rows
        ],
        progress=bar,
        unique_fields=["user", "artist", "tag"],
        update_fields=["tagged_on"],
    )
    _rebuild_artist_tags()


def _rebuild_artist_tags() -> None:
    """ArtistTag is derived: how many users gave each artist each tag."""
    ArtistTag.objects.all().delete()
    counts = (
        UserTagAssignment.objects.values("artist_id", "tag_id")
        .annotate(n=Count("id"))
        .values_list("artist_id", "tag_id", "n")
    )
    ArtistTag.objects.bulk_create(
        [ArtistTag(artist_id=a, tag_id=t, count=n) for a, t, n in counts.iterator()],
        batch_size=5000,
    )


def _write_friendships(
    rows: list[hetrec.FriendRow], user_ids: dict[int, int], bar: Progress
) -> int:
    bar.step("friendships")
    pairs = {
        (
            min(user_ids[r.user_id], user_ids[r.friend_id]),
            max(user_ids[r.user_id], user_ids[r.friend_id]),
        )
        for r in rows
    }
    upsert(
        Friendship,
        [
            Friendship(user_low_id=a, user_high_id=b, source=Friendship.Source.LASTFM)
            for a, b in sorted(pairs)
        ],
        progress=bar,
        unique_fields=["user_low", "user_high"],
    )
    return len(pairs)

"""Import a folder in the Last.fm HetRec 2011 layout."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from django.db.models import Count

from groups.models import Friendship
from ml.data import hetrec, normalize_name
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


def lastfm_import(*, directory: Path, progress: bool = False) -> ImportReport:
    """Import users, artists, tags, play counts, tag assignments and friendships from ``directory``.

    Every file is read and checked before anything is written; Last.fm artists are linked to
    catalogue artists that share their normalised name.
    """

    def work(report: ImportReport) -> None:
        files = _read_all(directory, report)
        total = sum(len(rows) for rows in files.values())
        with progress_bar(total=total, desc="Last.fm", enabled=progress) as bar:
            _write(files, report, bar)

    return run_import(kind="lastfm", source=str(directory), work=work)


def _read_all(directory: Path, report: ImportReport) -> dict[str, list]:  # type: ignore[type-arg]
    results = {
        "artists": hetrec.read_artists(directory),
        "tags": hetrec.read_tags(directory),
        "plays": hetrec.read_user_artists(directory),
        "assignments": hetrec.read_tag_assignments(directory),
        "friends": hetrec.read_friends(directory),
    }
    for result in results.values():
        report.skipped.extend(result.errors)
    return {name: result.rows for name, result in results.items()}


def _write(files: dict[str, list], report: ImportReport, bar: Progress) -> None:  # type: ignore[type-arg]
    artist_ids = _write_artists(files["artists"], bar)
    tag_ids = _write_tags(files["tags"], bar)
    user_ids = _write_users(files, bar)
    plays = _dangling(files["plays"], artist_ids, None, report, hetrec.USER_ARTISTS_FILE)
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
    tagged = _dangling(
        files["assignments"], artist_ids, tag_ids, report, hetrec.USER_TAGGED_ARTISTS_FILE
    )
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
            for a in tagged
        ],
        progress=bar,
        unique_fields=["user", "artist", "tag"],
        update_fields=["tagged_on"],
    )
    _rebuild_artist_tags()
    friendships = _write_friendships(files["friends"], user_ids, bar)
    report.counts = {
        "artists": len(files["artists"]),
        "tags": len(files["tags"]),
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
    return dict(Artist.objects.filter(lastfm_id__isnull=False).values_list("lastfm_id", "id"))


def _write_tags(rows: list[hetrec.TagRow], bar: Progress) -> dict[int, int]:
    bar.step("tags")
    upsert(
        Tag,
        [Tag(lastfm_id=r.tag_id, name=r.name[:255]) for r in rows],
        progress=bar,
        unique_fields=["lastfm_id"],
        update_fields=["name"],
    )
    return dict(Tag.objects.filter(lastfm_id__isnull=False).values_list("lastfm_id", "id"))


def _write_users(files: dict[str, list], bar: Progress) -> dict[int, int]:  # type: ignore[type-arg]
    """HetRec has no users file: a user is anyone who appears in an interaction file."""
    bar.step("users")
    lastfm_ids = sorted(
        {p.user_id for p in files["plays"]}
        | {a.user_id for a in files["assignments"]}
        | {f.user_id for f in files["friends"]}
        | {f.friend_id for f in files["friends"]}
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


def _dangling(
    rows: list,  # type: ignore[type-arg]
    artist_ids: dict[int, int],
    tag_ids: dict[int, int] | None,
    report: ImportReport,
    file: str,
) -> list:  # type: ignore[type-arg]
    """Drop rows that name an artist or tag missing from the catalogue files, and count them."""
    kept = [
        r for r in rows if r.artist_id in artist_ids and (tag_ids is None or r.tag_id in tag_ids)
    ]
    dropped = len(rows) - len(kept)
    if dropped:
        report.notes.append(
            f"{file}: {dropped} rows name an artist or tag missing from the catalogue files"
        )
    return kept


def _rebuild_artist_tags() -> None:
    """ArtistTag is derived: how many users gave each artist each tag."""
    ArtistTag.objects.all().delete()
    counts = (
        UserTagAssignment.objects.values("artist_id", "tag_id")
        .annotate(n=Count("id"))
        .values_list("artist_id", "tag_id", "n")
    )
    ArtistTag.objects.bulk_create(
        (ArtistTag(artist_id=a, tag_id=t, count=n) for a, t, n in counts.iterator()),
        batch_size=5000,
    )


def _write_friendships(
    rows: list[hetrec.FriendRow], user_ids: dict[int, int], bar: Progress
) -> int:
    bar.step("friendships")
    pairs = Counter(
        (
            min(user_ids[r.user_id], user_ids[r.friend_id]),
            max(user_ids[r.user_id], user_ids[r.friend_id]),
        )
        for r in rows
    )
    upsert(
        Friendship,
        [
            Friendship(user_low_id=a, user_high_id=b, source=Friendship.Source.LASTFM)
            for a, b in pairs
        ],
        progress=bar,
        unique_fields=["user_low", "user_high"],
    )
    return len(pairs)


__all__ = ["lastfm_import"]

"""Readers of the Last.fm HetRec 2011 layout (tab-separated, one header line, no quoting)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

from ml.data.files import (
    DEFAULT_MAX_BAD_RATIO,
    ReadResult,
    RowValueError,
    parse_int,
    read_tsv,
    require_text,
)

ARTISTS_FILE = "artists.dat"
TAGS_FILE = "tags.dat"
USER_ARTISTS_FILE = "user_artists.dat"
USER_TAGGED_ARTISTS_FILE = "user_taggedartists.dat"
USER_FRIENDS_FILE = "user_friends.dat"


class ArtistRow(NamedTuple):
    artist_id: int
    name: str
    url: str
    picture_url: str


class TagRow(NamedTuple):
    tag_id: int
    name: str


class UserArtistRow(NamedTuple):
    user_id: int
    artist_id: int
    weight: int


class TagAssignmentRow(NamedTuple):
    user_id: int
    artist_id: int
    tag_id: int
    day: dt.date | None


class FriendRow(NamedTuple):
    user_id: int
    friend_id: int


def _artist(f: list[str]) -> ArtistRow:
    return ArtistRow(parse_int(f[0], "id", low=1), require_text(f[1], "name"), f[2], f[3])


def _tag(f: list[str]) -> TagRow:
    return TagRow(parse_int(f[0], "tagID", low=1), require_text(f[1], "tagValue"))


def _user_artist(f: list[str]) -> UserArtistRow:
    return UserArtistRow(
        parse_int(f[0], "userID", low=1),
        parse_int(f[1], "artistID", low=1),
        parse_int(f[2], "weight", low=1),
    )


def _day(day: str, month: str, year: str) -> dt.date | None:
    d = parse_int(day, "day", low=1, high=31)
    m = parse_int(month, "month", low=1, high=12)
    y = parse_int(year, "year", low=1900, high=2100)
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise RowValueError(f"{year}-{month}-{day} is not a date") from None


def _tag_assignment(f: list[str]) -> TagAssignmentRow:
    return TagAssignmentRow(
        parse_int(f[0], "userID", low=1),
        parse_int(f[1], "artistID", low=1),
        parse_int(f[2], "tagID", low=1),
        _day(f[3], f[4], f[5]),
    )


def _friend(f: list[str]) -> FriendRow:
    user, friend = parse_int(f[0], "userID", low=1), parse_int(f[1], "friendID", low=1)
    if user == friend:
        raise RowValueError(f"user {user} is their own friend")
    return FriendRow(user, friend)


def read_artists(folder: Path, max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO) -> ReadResult[ArtistRow]:
    return read_tsv(
        folder / ARTISTS_FILE,
        header=("id", "name", "url", "pictureURL"),
        parse=_artist,
        max_bad_ratio=max_bad_ratio,
    )


def read_tags(folder: Path, max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO) -> ReadResult[TagRow]:
    # tags.dat is ISO-8859-1 in the original distribution (e.g. "rock français").
    return read_tsv(
        folder / TAGS_FILE,
        header=("tagID", "tagValue"),
        parse=_tag,
        encoding="latin-1",
        max_bad_ratio=max_bad_ratio,
    )


def read_user_artists(
    folder: Path, max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO
) -> ReadResult[UserArtistRow]:
    return read_tsv(
        folder / USER_ARTISTS_FILE,
        header=("userID", "artistID", "weight"),
        parse=_user_artist,
        max_bad_ratio=max_bad_ratio,
    )


def read_tag_assignments(
    folder: Path, max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO
) -> ReadResult[TagAssignmentRow]:
    return read_tsv(
        folder / USER_TAGGED_ARTISTS_FILE,
        header=("userID", "artistID", "tagID", "day", "month", "year"),
        parse=_tag_assignment,
        max_bad_ratio=max_bad_ratio,
    )


def read_friends(folder: Path, max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO) -> ReadResult[FriendRow]:
    return read_tsv(
        folder / USER_FRIENDS_FILE,
        header=("userID", "friendID"),
        parse=_friend,
        max_bad_ratio=max_bad_ratio,
    )

"""Readers of a Spotify data export: the streaming history a user downloads from their account.

Two formats, told apart by their fields, never by trusting the file name alone:

* **Extended streaming history** (``Streaming_History_Audio_*.json``): a JSON list of streams
  with ``ts`` (UTC, when the stream ended), ``ms_played``, ``master_metadata_track_name``,
  ``master_metadata_album_artist_name``, ``master_metadata_album_album_name``,
  ``spotify_track_uri``, ``reason_start``, ``reason_end``, ``shuffle``, ``skipped``,
  ``offline``, ... Podcast episodes and audiobooks have no track name and are not music.
* **Account data** (``StreamingHistory*.json``, the older and shorter export): ``endTime``
  (``YYYY-MM-DD HH:MM``, UTC), ``artistName``, ``trackName``, ``msPlayed``.

A ``.zip`` (the archive Spotify sends) is opened and its history files read. The error policy is
the importers' (README, "Import commands"): a file that is not JSON, is cut short, or is not a
streaming history makes the whole import fail with one line naming it; a record that does not
parse is skipped and reported as ``file:record: reason``; more than 1 % bad records (at least
10) means a garbled file.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ml.data import DataFileError, RowError

HISTORY_MEMBER = re.compile(r"(^|/)(Streaming_History_Audio_[^/]*|StreamingHistory[^/]*)\.json$")
TRACK_URI = re.compile(r"^spotify:track:([0-9A-Za-z]{1,22})$")
UNKNOWN = {"unknown artist", "unknown track"}  # the account export's local files


@dataclass(frozen=True)
class ExportFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class ExportPlay:
    played_at: dt.datetime
    ms_played: int
    track_name: str
    artist_name: str
    album_name: str = ""
    spotify_id: str = ""


@dataclass
class ExportRead:
    plays: list[ExportPlay] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


class _RecordError(ValueError):
    pass


def export_files_read(
    files: Sequence[ExportFile], *, min_ms_played: int, max_bytes: int
) -> ExportRead:
    """Every play in ``files`` (JSON files or zip archives); ``DataFileError`` on damage."""
    result = ExportRead()
    if not files:
        raise DataFileError("no files given: choose the export's Streaming_History_*.json files")
    for item in _expand(files, max_bytes=max_bytes):
        _read_one(item, result, min_ms_played=min_ms_played)
    return result


def _expand(files: Sequence[ExportFile], *, max_bytes: int) -> list[ExportFile]:
    total = sum(len(f.data) for f in files)
    if total > max_bytes:
        raise DataFileError(f"the files hold {_mb(total)}; the limit is {_mb(max_bytes)}")
    expanded: list[ExportFile] = []
    for item in files:
        if item.name.lower().endswith(".zip"):
            expanded.extend(_unzip(item, max_bytes=max_bytes))
        else:
            expanded.append(item)
    return expanded


def _unzip(item: ExportFile, *, max_bytes: int) -> list[ExportFile]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(item.data))
    except zipfile.BadZipFile:
        raise DataFileError(f"{item.name}: not a zip archive (or a damaged one)") from None
    with archive:
        members = [m for m in archive.infolist() if HISTORY_MEMBER.search(m.filename)]
        if not members:
            raise DataFileError(
                f"{item.name}: no streaming history inside "
                "(Streaming_History_Audio_*.json or StreamingHistory*.json)"
            )
        unpacked = sum(m.file_size for m in members)
        if unpacked > max_bytes:
            raise DataFileError(
                f"{item.name}: unpacks to {_mb(unpacked)}; the limit is {_mb(max_bytes)}"
            )
        try:
            return [ExportFile(f"{item.name}/{m.filename}", archive.read(m)) for m in members]
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataFileError(f"{item.name}: damaged zip archive ({exc})") from None


def _mb(n: int) -> str:
    return f"{n / 1_048_576:.1f} MB"


def _load(item: ExportFile) -> list[Any]:
    try:
        text = item.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(f"{item.name}: not UTF-8 text, so not a Spotify export file") from None
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(
            f"{item.name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "is the file complete?"
        ) from None
    if not isinstance(records, list):
        raise DataFileError(
            f"{item.name}: not a Spotify streaming history (expected a JSON list of plays)"
        )
    return records


def _read_one(item: ExportFile, result: ExportRead, *, min_ms_played: int) -> None:
    records = _load(item)
    parse = _parser(item.name, records)
    errors: list[RowError] = []
    for number, record in enumerate(records, start=1):
        try:
            play = parse(record)
        except _RecordError as exc:
            errors.append(RowError(item.name, number, str(exc)))
            continue
        result.counts["records"] += 1
        if play is None:
            result.counts["not_music"] += 1
        elif play.ms_played < min_ms_played:
            result.counts["short"] += 1
        else:
            result.plays.append(play)
    if len(errors) >= 10 and len(errors) > 0.01 * len(records):
        raise DataFileError(
            f"{item.name}: {len(errors)} of {len(records)} records do not parse "
            f"(first: {errors[0].reason}); is it a Spotify export file?"
        )
    result.errors.extend(errors)


def _parser(name: str, records: list[Any]) -> Callable[[Any], ExportPlay | None]:
    first = next((r for r in records if isinstance(r, dict)), None)
    if first is None:
        return _extended
    if "ts" in first and "ms_played" in first:
        return _extended
    if "endTime" in first and "msPlayed" in first:
        return _account
    raise DataFileError(
        f"{name}: not a Spotify streaming history "
        "(its records have neither ts/ms_played nor endTime/msPlayed)"
    )


def _ms(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _RecordError(f"{field_name} {value!r} is not a duration in milliseconds")
    return int(value)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _extended(record: Any) -> ExportPlay | None:
    if not isinstance(record, dict):
        raise _RecordError("not a JSON object")
    try:
        played_at = dt.datetime.fromisoformat(str(record.get("ts")))
    except ValueError:
        raise _RecordError(f"ts {record.get('ts')!r} is not an ISO 8601 timestamp") from None
    ms_played = _ms(record.get("ms_played"), "ms_played")
    track = _text(record.get("master_metadata_track_name"))
    artist = _text(record.get("master_metadata_album_artist_name"))
    if not track or not artist:
        return None  # a podcast episode, an audiobook chapter or a video
    uri = TRACK_URI.match(_text(record.get("spotify_track_uri")))
    return ExportPlay(
        played_at=played_at if played_at.tzinfo else played_at.replace(tzinfo=dt.UTC),
        ms_played=ms_played,
        track_name=track,
        artist_name=artist,
        album_name=_text(record.get("master_metadata_album_album_name")),
        spotify_id=uri.group(1) if uri else "",
    )


def _account(record: Any) -> ExportPlay | None:
    if not isinstance(record, dict):
        raise _RecordError("not a JSON object")
    try:
        played_at = dt.datetime.strptime(str(record.get("endTime")), "%Y-%m-%d %H:%M")
    except ValueError:
        raise _RecordError(f"endTime {record.get('endTime')!r} is not YYYY-MM-DD HH:MM") from None
    ms_played = _ms(record.get("msPlayed"), "msPlayed")
    track, artist = _text(record.get("trackName")), _text(record.get("artistName"))
    if not track or not artist or {track.casefold(), artist.casefold()} <= UNKNOWN:
        return None  # a podcast (podcastName/episodeName) or an unidentified local file
    return ExportPlay(
        played_at=played_at.replace(tzinfo=dt.UTC),
        ms_played=ms_played,
        track_name=track,
        artist_name=artist,
    )

"""Line-numbered, validating readers for tab- and comma-separated data files.

Two kinds of damage are told apart:

* a **bad row** (a value that does not parse or is out of range, a wrong field count in the
  middle of a file) is reported as ``file:line: reason`` and skipped;
* a **damaged file** (missing, wrong header, undecodable bytes, truncated mid-row or mid-stream,
  or more bad rows than ``max_bad_ratio`` allows) raises :class:`DataFileError` with one line,
  so a caller that imports in a transaction keeps nothing.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")

#: Above this share of bad rows a file is treated as garbled, not as a file with a few bad rows.
DEFAULT_MAX_BAD_RATIO = 0.01
#: ... but a handful of bad rows in a small file is still only a handful.
MIN_BAD_ROWS_TOLERATED = 10


class DataFileError(Exception):
    """A data file cannot be used at all; the message is one line naming the file."""


class RowValueError(ValueError):
    """Raised by a row parser: the row is skipped and reported with its line number."""


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class ReadResult(Generic[T]):
    rows: list[T] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def _read_all(path: Path, encoding: str) -> str:
    """The whole decoded text; any decoding or decompression failure is a damaged file."""
    try:
        with _open_text(path, encoding) as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: not valid {encoding} at byte {exc.start} (garbled or wrong file)"
        ) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFileError(f"{path}: damaged or truncated gzip stream ({exc})") from None


def _check_complete(path: Path, text: str) -> None:
    """Every data file we read ends with a line break; one that does not was cut short."""
    if text and not text.endswith("\n"):
        line = text.count("\n") + 1
        raise DataFileError(f"{path}: truncated at line {line} (the last row has no line ending)")


def _check_header(path: Path, found: list[str], expected: tuple[str, ...]) -> None:
    if tuple(h.strip() for h in found[: len(expected)]) != expected:
        raise DataFileError(
            f"{path}: header is {', '.join(found[:8]) or '(empty)'}; expected {', '.join(expected)}"
        )


def _finish(path: Path, result: ReadResult[T], total: int, max_bad_ratio: float) -> ReadResult[T]:
    bad = len(result.errors)
    if bad > max(MIN_BAD_ROWS_TOLERATED, max_bad_ratio * total):
        first = result.errors[0]
        raise DataFileError(
            f"{path}: {bad} of {total} rows are malformed, the file looks garbled (first: {first})"
        )
    return result


def read_tsv(
    path: Path,
    *,
    header: tuple[str, ...],
    parse: Callable[[list[str]], T],
    encoding: str = "utf-8",
    max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO,
) -> ReadResult[T]:
    """Read a tab-separated file with one header line and no quoting (the HetRec layout)."""
    text = _read_all(path, encoding)
    _check_complete(path, text)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise DataFileError(f"{path}: empty file; expected header {', '.join(header)}")
    _check_header(path, lines[0].rstrip("\r").split("\t"), header)
    result: ReadResult[T] = ReadResult()
    name = path.name
    for number, raw in enumerate(lines[1:], start=2):
        fields = raw.rstrip("\r").split("\t")
        if len(fields) != len(header):
            reason = f"expected {len(header)} fields, found {len(fields)}"
            result.errors.append(RowError(name, number, reason))
            continue
        try:
            result.rows.append(parse(fields))
        except RowValueError as exc:
            result.errors.append(RowError(name, number, str(exc)))
    return _finish(path, result, len(lines) - 1, max_bad_ratio)


def read_csv(
    path: Path,
    *,
    header: tuple[str, ...],
    parse: Callable[[dict[str, str]], T],
    encoding: str = "utf-8",
    max_bad_ratio: float = DEFAULT_MAX_BAD_RATIO,
) -> ReadResult[T]:
    """Read a quoted CSV whose header starts with ``header``; see the module doc for errors."""
    text = _read_all(path, encoding)
    _check_complete(path, text)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    result: ReadResult[T] = ReadResult()
    total, line = 0, 2
    try:
        found = [h.strip() for h in next(reader, [])]
        _check_header(path, found, header)
        for fields in reader:
            start, line = line, reader.line_num + 1
            total += 1
            if len(fields) != len(found):
                reason = f"expected {len(found)} fields, found {len(fields)}"
                result.errors.append(RowError(path.name, start, reason))
                continue
            try:
                result.rows.append(parse(dict(zip(found, fields, strict=True))))
            except RowValueError as exc:
                result.errors.append(RowError(path.name, start, str(exc)))
    except csv.Error as exc:
        raise DataFileError(f"{path}: malformed CSV near line {reader.line_num} ({exc})") from None
    if total == 0:
        raise DataFileError(f"{path}: no data rows")
    return _finish(path, result, total, max_bad_ratio)


# ---- field parsers: each raises RowValueError with a reason naming the field ----------------


def parse_int(value: str, name: str, *, low: int | None = None, high: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise RowValueError(f"{name}={value!r} is not an integer") from None
    _check_range(number, name, low, high)
    return number


def parse_float(
    value: str, name: str, *, low: float | None = None, high: float | None = None
) -> float:
    try:
        number = float(value)
    except ValueError:
        raise RowValueError(f"{name}={value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise RowValueError(f"{name}={value!r} is not a finite number")
    _check_range(number, name, low, high)
    return number


def _check_range(number: float, name: str, low: float | None, high: float | None) -> None:
    if low is not None and number < low:
        raise RowValueError(f"{name}={number} is below {low}")
    if high is not None and number > high:
        raise RowValueError(f"{name}={number} is above {high}")


def require_text(value: str, name: str) -> str:
    text = value.strip()
    if not text or text == "NA":
        raise RowValueError(f"{name} is empty")
    return text

"""Shared machinery of the importers: reports, progress, batched upserts, artist resolution."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone
from tqdm import tqdm

from audotics.errors import ImportFailed
from ml.data import DataFileError, RowError, normalize_name
from recommender.models import Artist, ImportRun

M = TypeVar("M", bound=models.Model)
BATCH_SIZE = 2000
MAX_SKIPPED_KEPT = 200


@dataclass
class ImportReport:
    kind: str
    source: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = ", ".join(f"{n:,} {name}" for name, n in self.counts.items())
        return f"{self.kind}: {parts}; {len(self.skipped)} rows skipped"


class Progress:
    """One progress bar per import, advanced by rows written (silent when disabled)."""

    def __init__(self, *, total: int, desc: str, enabled: bool) -> None:
        self._bar = tqdm(total=total, desc=desc, unit="row", disable=not enabled, leave=True)

    def step(self, label: str) -> None:
        self._bar.set_postfix_str(label, refresh=False)

    def note(self, label: str) -> None:
        """Show ``label`` now (long steps such as training epochs)."""
        self._bar.set_postfix_str(label, refresh=True)

    def advance(self, n: int) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()


def upsert(
    model: type[M],
    objs: Sequence[M],
    *,
    progress: Progress,
    unique_fields: list[str],
    update_fields: list[str] | None = None,
) -> None:
    """Insert new rows and update existing ones, matched on ``unique_fields``, in batches."""
    for start in range(0, len(objs), BATCH_SIZE):
        batch = objs[start : start + BATCH_SIZE]
        if update_fields:
            model._default_manager.bulk_create(
                batch,
                update_conflicts=True,
                unique_fields=unique_fields,
                update_fields=update_fields,
            )
        else:
            model._default_manager.bulk_create(batch, ignore_conflicts=True)
        progress.advance(len(batch))


def artist_ids_by_name_key() -> dict[str, int]:
    """Normalised name → artist id; a Last.fm artist (lowest id) wins over a catalogue one."""
    best: dict[str, tuple[int, int, int]] = {}
    for key, lastfm_id, pk in Artist.objects.values_list("name_key", "lastfm_id", "id"):
        rank = (0, lastfm_id, pk) if lastfm_id is not None else (1, 0, pk)
        if key not in best or rank < best[key]:
            best[key] = rank
    return {key: rank[2] for key, rank in best.items()}


def artists_for_names(names: dict[str, str], *, progress: Progress) -> dict[str, int]:
    """Map each normalised name (key → display name) to an artist, creating missing ones."""
    known = artist_ids_by_name_key()
    missing = [Artist(name=name, name_key=key) for key, name in names.items() if key not in known]
    progress.step("artists")
    upsert(Artist, missing, progress=progress, unique_fields=["id"])
    if missing:
        known = artist_ids_by_name_key()
    return {key: known[key] for key in names}


def run_import(*, kind: str, source: str, work: Callable[[ImportReport], None]) -> ImportReport:
    """Run ``work`` in one transaction and keep an audit row; file damage rolls everything back."""
    report = ImportReport(kind=kind, source=source)
    started = timezone.now()
    try:
        with transaction.atomic():
            work(report)
            _audit(report, ImportRun.Status.SUCCEEDED, started, "")
    except DataFileError as exc:
        _audit(report, ImportRun.Status.FAILED, started, str(exc))
        raise ImportFailed(str(exc)) from None
    return report


def _audit(report: ImportReport, status: str, started: Any, message: str) -> None:
    ImportRun.objects.create(
        kind=report.kind,
        source=report.source,
        status=status,
        counts=report.counts,
        skipped=[str(e) for e in report.skipped[:MAX_SKIPPED_KEPT]],
        message=message or "\n".join(report.notes),
        started_at=started,
        finished_at=timezone.now(),
    )


@contextlib.contextmanager
def progress_bar(*, total: int, desc: str, enabled: bool) -> Iterator[Progress]:
    bar = Progress(total=total, desc=desc, enabled=enabled)
    try:
        yield bar
    finally:
        bar.close()


def name_keys(names: list[str]) -> dict[str, str]:
    """Normalised key → the first spelling seen, for a list of display names."""
    keys: dict[str, str] = {}
    for name in names:
        keys.setdefault(normalize_name(name), name)
    return keys

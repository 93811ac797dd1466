"""Flushing the in-process histograms into the minute rows, and pruning old rows.

A flush drains the recorder and adds each pending histogram to its minute row in one
transaction (rows are added to, never replaced, so every gunicorn worker and uvicorn process
adds up). If the write fails (a lock, a lost connection, two processes inserting the same new
row at once) the transaction leaves nothing behind and the drained histograms go back into
the recorder for the next flush; the request that triggered it never sees the error.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from monitoring import conf
from monitoring.histogram import SLOTS, merge_into
from monitoring.models import LatencyMinute
from monitoring.recorder import RECORDER, Key, Pending, Recorder

logger = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600.0

_state: dict[str, Any] = {"pruned": 0.0, "database": None}


def _minute(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _key(row: LatencyMinute) -> Key:
    return (int(row.minute.timestamp()), row.kind, row.name, row.method, row.status)


def _rows_update(rows: list[LatencyMinute]) -> None:
    """One ``executemany`` UPDATE by primary key: ``bulk_update`` builds a CASE per row and
    field and costs ten times as much (20 ms for 60 rows on SQLite)."""
    counts = LatencyMinute._meta.get_field("counts")
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(LatencyMinute._meta.db_table)} SET {quote('counts')} = %s, "
        f"{quote('n')} = %s, {quote('total_seconds')} = %s WHERE {quote('id')} = %s"
    )
    params = [
        (counts.get_db_prep_save(row.counts, connection), row.n, row.total_seconds, row.pk)
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


@transaction.atomic
def _rows_add(taken: dict[Key, Pending]) -> None:
    """Add ``taken`` to its rows (locked while read); every row or none.

    Rows are written in bulk from internal counters, so ``full_clean`` is not called per row:
    the database's unique and check constraints guard them instead.
    """
    existing = {
        _key(row): row
        for row in LatencyMinute.objects.select_for_update().filter(
            minute__in={_minute(k[0]) for k in taken},
            kind__in={k[1] for k in taken},
            name__in={k[2] for k in taken},
        )
    }
    updated, created = [], []
    for key, pending in taken.items():
        row = existing.get(key)
        if row is None:
            created.append(
                LatencyMinute(
                    minute=_minute(key[0]), kind=key[1], name=key[2][:255], method=key[3],
                    status=key[4], n=pending.n, total_seconds=pending.total_seconds,
                    counts=list(pending.counts),
                )
            )  # fmt: skip
            continue
        counts = list(row.counts) if len(row.counts) == SLOTS else [0] * SLOTS
        row.counts = merge_into(counts, pending.counts)
        row.n += pending.n
        row.total_seconds += pending.total_seconds
        updated.append(row)
    if updated:
        _rows_update(updated)
    if created:
        LatencyMinute.objects.bulk_create(created)


def latency_flush(*, recorder: Recorder = RECORDER) -> int:
    """Write what ``recorder`` holds; the number of observations written (0 on failure)."""
    taken = recorder.drain()
    if not taken:
        return 0
    try:
        _rows_add(taken)
    except DatabaseError as exc:
        recorder.restore(taken)
        logger.warning("monitoring: flush failed, %d histograms kept: %s", len(taken), exc)
        return 0
    return sum(p.n for p in taken.values())


def latency_prune(*, older_than_days: int) -> int:
    """Delete minute rows older than ``older_than_days``; how many went."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = LatencyMinute.objects.filter(minute__lt=cutoff).delete()
    return int(deleted)


def latency_database_note() -> None:
    """Remember which database this process serves from (once), for the exit flush."""
    if _state["database"] is None:
        _state["database"] = connection.settings_dict.get("NAME")


def latency_flush_if_due(**_: Any) -> None:
    """The ``request_finished`` receiver: flush when due, prune hourly, never raise.

    Django sends ``request_finished`` after the response went out (WSGI ``close``, ASGI after
    the body), so a flush does not delay the response it follows. Inside a transaction (a
    test's, or ``ATOMIC_REQUESTS`` gone wrong) it waits: a rollback would lose the drained
    histograms.
    """
    try:
        if not RECORDER.due(every_seconds=conf.flush_seconds(), threshold=conf.flush_threshold()):
            return  # the common case: a microsecond, no database or connection lookup
        latency_database_note()
        if connection.in_atomic_block:
            return
        latency_flush()
        if time.monotonic() - _state["pruned"] >= PRUNE_EVERY_SECONDS:
            _state["pruned"] = time.monotonic()
            latency_prune(older_than_days=conf.retention_days())
    except Exception:  # monitoring must never turn a served request into an error
        logger.exception("monitoring: flush after a request failed")


def latency_flush_at_exit() -> None:
    """``atexit``: write what is pending, if automatic flushing is on and it is the same
    database the requests were served from (a test run's database is gone by then)."""
    try:
        if conf.flush_seconds() <= 0 or not RECORDER.observations:
            return
        if _state["database"] is None or _state["database"] != connection.settings_dict.get("NAME"):
            return
        latency_flush()
    except Exception:
        logger.debug("monitoring: flush at exit skipped", exc_info=True)

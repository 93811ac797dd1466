"""The public timing API: other code reports how long something took, by name.

    from monitoring.timing import observe, timed

    observe("recs.update", seconds)          # a duration measured elsewhere
    with timed("room.broadcast"):            # or time a block
        ...

Observations go into the same in-process histograms as request latency (no I/O on the caller's
path) and reach the database with the next flush; the dashboard shows p50/p90/p99 per name.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager

from monitoring.recorder import RECORDER, TIMING

MAX_NAME = 100


def observe(name: str, seconds: float) -> None:
    """Record one duration of ``name`` (e.g. ``"recs.update"``), in seconds.

    A negative or non-finite duration is ignored (a clock step must not break the caller).
    """
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"a timing name is 1-{MAX_NAME} characters, got {name!r}")
    if seconds >= 0.0 and math.isfinite(seconds):
        RECORDER.record(TIMING, name, "", "", seconds)


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Time the block and ``observe`` it under ``name`` (also when it raises)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        observe(name, time.perf_counter() - start)

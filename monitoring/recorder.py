"""This process's pending latency histograms, one per (minute, kind, name, method, status).

The request path only touches memory here (a lock, a dict lookup and a list increment): no
database or cache call. ``monitoring.services.latency_flush`` drains the pending histograms and
adds them to the minute rows; when that fails it puts them back, so nothing is lost or counted
twice.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from monitoring.histogram import SLOTS, merge_into, slot_of

REQUEST = "request"
TIMING = "timing"
MINUTE = 60
#: distinct pending histograms kept while the database refuses flushes (oldest minutes go first)
MAX_PENDING = 20_000

#: (minute start in epoch seconds, kind, name, method, status class)
Key = tuple[int, str, str, str, str]


@dataclass(slots=True)
class Pending:
    counts: list[int] = field(default_factory=lambda: [0] * SLOTS)
    n: int = 0
    total_seconds: float = 0.0

    def add(self, other: Pending) -> None:
        merge_into(self.counts, other.counts)
        self.n += other.n
        self.total_seconds += other.total_seconds


class Recorder:
    """Thread-safe accumulator; one per process (``RECORDER``), fresh ones in tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Key, Pending] = {}
        self._observations = 0
        self.last_flush = time.monotonic()

    def record(self, kind: str, name: str, method: str, status: str, seconds: float) -> None:
        key = (int(time.time()) // MINUTE * MINUTE, kind, name, method, status)
        slot = slot_of(seconds)
        with self._lock:
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = Pending()
            pending.counts[slot] += 1
            pending.n += 1
            pending.total_seconds += seconds
            self._observations += 1

    @property
    def observations(self) -> int:
        """Observations recorded since the last drain."""
        return self._observations

    def due(self, *, every_seconds: float, threshold: int) -> bool:
        """Whether a flush is due: ``every_seconds`` since the last one, or ``threshold`` waiting.

        ``every_seconds <= 0`` turns automatic flushing off (explicit flushes still work).
        """
        if every_seconds <= 0 or not self._observations:
            return False
        if self._observations >= threshold:
            return True
        return time.monotonic() - self.last_flush >= every_seconds

    def drain(self) -> dict[Key, Pending]:
        """Take everything pending (the caller writes it, or ``restore``s it on failure)."""
        with self._lock:
            taken, self._pending = self._pending, {}
            self._observations = 0
            self.last_flush = time.monotonic()
        return taken

    def restore(self, taken: dict[Key, Pending]) -> None:
        """Put back a drained snapshot whose write failed (merged with what came since)."""
        with self._lock:
            for key, pending in taken.items():
                current = self._pending.get(key)
                if current is None:
                    self._pending[key] = pending
                else:
                    current.add(pending)
                self._observations += pending.n
            if len(self._pending) > MAX_PENDING:
                for key in sorted(self._pending)[: len(self._pending) - MAX_PENDING]:
                    self._observations -= self._pending.pop(key).n


RECORDER = Recorder()

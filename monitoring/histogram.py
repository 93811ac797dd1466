"""Fixed log-spaced latency histograms: one bucket layout everywhere, so histograms add up.

Every process, every minute row and every endpoint uses the same ``BOUNDS``, so merging is a
sum of count lists and a percentile over any window is read from the merged counts. With 64
buckets from 0.1 ms to 30 s each bucket spans a factor of about 1.22; inside a bucket the
estimate interpolates geometrically, so it stays within that bucket of the exact value.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence

LOW_SECONDS = 1e-4
HIGH_SECONDS = 30.0
N_BUCKETS = 64
#: ``N_BUCKETS + 1`` edges; a value falls in slot ``bisect_right(BOUNDS, value)``: 0 below
#: LOW (underflow), ``i`` in ``[BOUNDS[i-1], BOUNDS[i])``, ``N_BUCKETS + 1`` at HIGH or above
BOUNDS: tuple[float, ...] = tuple(
    LOW_SECONDS * (HIGH_SECONDS / LOW_SECONDS) ** (i / N_BUCKETS) for i in range(N_BUCKETS + 1)
)
SLOTS = N_BUCKETS + 2


def slot_of(seconds: float) -> int:
    """The count slot of one observation (see ``BOUNDS``)."""
    return bisect_right(BOUNDS, seconds)


def slot_range(slot: int) -> tuple[float, float]:
    """The seconds a slot covers; the under- and overflow slots are clamped to the edges."""
    if slot <= 0:
        return LOW_SECONDS, LOW_SECONDS
    if slot >= SLOTS - 1:
        return HIGH_SECONDS, HIGH_SECONDS
    return BOUNDS[slot - 1], BOUNDS[slot]


def empty() -> list[int]:
    return [0] * SLOTS


def counts_of(samples: Iterable[float]) -> list[int]:
    counts = empty()
    for value in samples:
        counts[slot_of(value)] += 1
    return counts


def merge_into(target: list[int], counts: Sequence[int]) -> list[int]:
    """Add ``counts`` into ``target`` (in place; a stored row of another length is refused)."""
    if len(counts) != len(target):
        raise ValueError(f"a histogram has {len(counts)} slots, expected {len(target)}")
    for i, c in enumerate(counts):
        if c:
            target[i] += int(c)
    return target


def merged(histograms: Iterable[Sequence[int]]) -> list[int]:
    total = empty()
    for counts in histograms:
        merge_into(total, counts)
    return total


def _order_statistic(counts: Sequence[int], k: int) -> float:
    """An estimate of the ``k``-th smallest observation (0-based): the bucket's samples are
    taken as spread geometrically evenly across it."""
    seen = 0
    for slot, c in enumerate(counts):
        if c and k < seen + c:
            lo, hi = slot_range(slot)
            return float(lo * (hi / lo) ** ((k - seen + 0.5) / c))
        seen += c
    return HIGH_SECONDS


def percentile(counts: Sequence[int], q: float) -> float | None:
    """The ``q``-th percentile (0-100) in seconds, or None for an empty histogram.

    numpy's default (linear) method on the estimated order statistics: the rank is
    ``(n - 1) * q / 100`` and a fractional rank interpolates between its two neighbours, which
    matters for small samples (p99 of 16 requests leans towards the slowest).
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0-100")
    n = sum(counts)
    if n == 0:
        return None
    rank = (n - 1) * q / 100.0
    below = math.floor(rank)
    value = _order_statistic(counts, below)
    if rank > below:
        value += (rank - below) * (_order_statistic(counts, below + 1) - value)
    return value


def percentiles(counts: Sequence[int], qs: Sequence[float]) -> dict[str, float | None]:
    """``{"p50": seconds, ...}`` for each ``q`` (named ``p`` + its integer form)."""
    return {f"p{q:g}": percentile(counts, q) for q in qs}


def bucket_ratio() -> float:
    """How wide a bucket is, as the ratio of its edges (the estimate's worst relative error)."""
    return math.exp(math.log(HIGH_SECONDS / LOW_SECONDS) / N_BUCKETS)

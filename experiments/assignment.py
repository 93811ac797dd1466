"""Stable assignment of listeners to arms: a hash, no table and no state.

``sha256("<salt>:<user id>")`` read as a number in [0, 1) picks the arm whose cumulative share
of the traffic covers it. The same listener gets the same arm in every process and after every
restart for as long as the salt and the weights stay the same (they are frozen once the
experiment runs); a new salt reshuffles everybody independently of other experiments.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from itertools import accumulate

#: 53 bits: exactly representable as a float, so the point is always below 1.0
_BITS = 53


def hash_point(*, salt: str, user_id: int) -> float:
    """The listener's point in [0, 1): the digest's first 53 bits over 2**53."""
    digest = hashlib.sha256(f"{salt}:{user_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> (64 - _BITS)) / (1 << _BITS)


def arm_index(*, weights: Sequence[int], point: float) -> int:
    """The index of the arm whose slice of ``[0, sum(weights))`` holds ``point * sum``."""
    if not weights or min(weights) <= 0:
        raise ValueError(f"weights must be positive, got {list(weights)}")
    cumulative = list(accumulate(weights))
    return bisect.bisect_right(cumulative, point * cumulative[-1])

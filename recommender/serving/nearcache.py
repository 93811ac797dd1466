"""A per-process copy of rendered results, trusted for ``RECOMMENDATIONS_NEAR_MS`` at most.

A cache hit in the shared cache costs a round trip to read the listener's generation (and the
curation revision) before the stored bytes can be trusted. Within the near window (50 ms by
default) a process answers from its own copy without that round trip. Feedback handled by
this process drops the listener's copies at once (so the very next request here is fresh);
feedback handled by another process reaches this one within the window, well inside the
100 ms an update may take to show (issue 6).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from django.conf import settings

MAX_ENTRIES = 4096

_lock = threading.Lock()
_entries: OrderedDict[tuple[int, int], tuple[float, str, bytes]] = OrderedDict()


def near_seconds() -> float:
    return float(getattr(settings, "RECOMMENDATIONS_NEAR_MS", 50)) / 1000.0


def near_get(*, user_id: int, n: int, version: str) -> bytes | None:
    """The rendered list kept by this process, if checked within the window and current."""
    found = _entries.get((user_id, n))
    if found is None:
        return None
    checked_at, kept_version, rendered = found
    if kept_version != version or time.monotonic() - checked_at > near_seconds():
        return None
    return rendered


def near_put(*, user_id: int, n: int, version: str, rendered: bytes) -> None:
    """Keep ``rendered`` as checked against the shared cache just now."""
    if near_seconds() <= 0:
        return
    with _lock:
        _entries[(user_id, n)] = (time.monotonic(), version, rendered)
        _entries.move_to_end((user_id, n))
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def near_forget(*, user_id: int | None = None) -> None:
    """Drop one listener's copies (their feedback), or every copy (curation, tests)."""
    with _lock:
        if user_id is None:
            _entries.clear()
            return
        for key in [k for k in _entries if k[0] == user_id]:
            del _entries[key]

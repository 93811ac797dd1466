"""An in-process cache of the active models, reloaded when the ACTIVE pointer moves.

A web or worker process asks ``registry.get("user_preference")`` on every request. The pointer
file is stat-ed at most every ``check_interval`` seconds (inode, mtime and size change on every
:func:`os.replace`), so a publish or rollback by another process is picked up within that delay
and without reading any model file until the pointer really changed.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ml.artifacts import ModelStore
from ml.base import BaseRecommender, ModelLoadError

logger = logging.getLogger(__name__)


@dataclass
class _Entry:
    model: BaseRecommender
    version: str
    stamp: tuple[int, int, int] | None
    checked_at: float


class ModelRegistry:
    """Thread-safe cache of loaded active models, one per model name.

    Parameters
    ----------
    store : ModelStore
        Where the versions and their ACTIVE pointers live.
    check_interval : float, default 2.0
        Seconds between two looks at a model's pointer; 0 looks on every :meth:`get`.

    Notes
    -----
    If the pointer moves to a version that fails to load, the model already in memory keeps
    serving (and the failure is logged and retried at the next check): a bad flip must not take
    recommendations down. With nothing in memory yet, the :class:`~ml.base.ModelLoadError`
    propagates.
    """

    def __init__(self, store: ModelStore, *, check_interval: float = 2.0) -> None:
        self.store = store
        self.check_interval = check_interval
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, name: str) -> BaseRecommender:
        """The active model of ``name``, loading it on first use or after a pointer change."""
        entry = self._entries.get(name)
        if entry is not None and time.monotonic() - entry.checked_at < self.check_interval:
            return entry.model
        with self._lock_for(name):
            return self._refresh(name)

    def version(self, name: str) -> str | None:
        """The version currently cached for ``name`` (None when nothing is loaded)."""
        entry = self._entries.get(name)
        return entry.version if entry is not None else None

    def clear(self, name: str | None = None) -> None:
        """Forget one cached model (or all); the next :meth:`get` reloads it."""
        with self._guard:
            if name is None:
                self._entries.clear()
            else:
                self._entries.pop(name, None)

    def _lock_for(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _refresh(self, name: str) -> BaseRecommender:
        now = time.monotonic()
        entry = self._entries.get(name)
        if entry is not None and now - entry.checked_at < self.check_interval:
            return entry.model  # another thread refreshed it while we waited for the lock
        stamp = self.store.pointer_stamp(name)
        if entry is not None and stamp is not None and stamp == entry.stamp:
            entry.checked_at = now
            return entry.model
        version = self.store.active_version(name)
        if entry is not None and version == entry.version:
            entry.stamp, entry.checked_at = stamp, now
            return entry.model
        try:
            model = self.store.load(name, version)
        except ModelLoadError:
            if entry is None:
                raise
            logger.exception(
                "%s: keeping version %s, version %s did not load", name, entry.version, version
            )
            entry.checked_at = now
            return entry.model
        with self._guard:
            self._entries[name] = _Entry(model, str(version), stamp, now)
        logger.info("%s: loaded version %s", name, version)
        return model

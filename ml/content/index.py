"""Nearest-neighbour search over unit vectors (faiss inner product) with metadata filters.

The catalogue is small enough (tens of thousands of tracks, 32 dimensions) for an exact flat
index: one query costs well under a millisecond, and results are exact. Filters (exclude
artists, genre, mood, tempo range) become an allow-list bitmap handed to faiss, so the search
still returns ``n`` results when most of the catalogue is filtered out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Filters:
    """What a neighbour must satisfy; ``None`` / empty means no constraint."""

    exclude_artists: frozenset[str] = frozenset()  # artist keys
    exclude_ids: frozenset[str] = frozenset()
    genre: str | None = None
    mood: str | None = None
    tempo_min: float | None = None
    tempo_max: float | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.exclude_artists
            or self.exclude_ids
            or self.genre
            or self.mood
            or self.tempo_min is not None
            or self.tempo_max is not None
        )


@dataclass(frozen=True)
class Neighbour:
    id: str
    score: float


class VectorIndex:
    """Exact inner-product search over ``vectors`` (rows L2-normalised by the caller).

    ``metadata`` arrays (``artist_keys``, ``genres``, ``moods``, ``tempo``), aligned with ``ids``,
    are what :class:`Filters` test; a filter on a field without metadata raises ``ValueError``.
    """

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, **metadata: np.ndarray) -> None:
        import faiss

        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        self.ids = np.asarray(ids).astype(str)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.metadata = metadata
        self.position = {v: k for k, v in enumerate(self.ids.tolist())}
        self._index: Any = faiss.IndexFlatIP(self.vectors.shape[1])
        self._index.add(self.vectors)

    def __len__(self) -> int:
        return len(self.ids)

    def vector(self, id_: str) -> np.ndarray:
        out: np.ndarray = self.vectors[self.position[id_]]
        return out

    def allowed(self, filters: Filters) -> np.ndarray | None:
        if filters.empty:
            return None
        keep = np.ones(len(self.ids), dtype=bool)

        def field(name: str) -> np.ndarray:
            if name not in self.metadata:
                raise ValueError(f"this index has no {name!r} to filter on")
            return self.metadata[name]

        if filters.exclude_artists:
            keep &= ~np.isin(field("artist_keys"), list(filters.exclude_artists))
        if filters.exclude_ids:
            keep &= ~np.isin(self.ids, list(filters.exclude_ids))
        if filters.genre:
            keep &= field("genres") == filters.genre
        if filters.mood:
            keep &= field("moods") == filters.mood
        if filters.tempo_min is not None:
            keep &= field("tempo") >= filters.tempo_min
        if filters.tempo_max is not None:
            keep &= field("tempo") <= filters.tempo_max
        return keep

    def search(
        self,
        query: np.ndarray,
        n: int,
        *,
        filters: Filters | None = None,
        exclude: Iterable[str] = (),
    ) -> list[Neighbour]:
        """The ``n`` best rows for one query vector, best first, honouring ``filters``."""
        import faiss

        excluded = set(exclude)
        filters = filters or Filters()
        allowed = self.allowed(filters)
        if allowed is not None and excluded:
            allowed[[self.position[e] for e in excluded if e in self.position]] = False
        want = min(n + (0 if allowed is not None else len(excluded)), len(self.ids))
        if want <= 0:
            return []
        q = np.ascontiguousarray(np.asarray(query, np.float32).reshape(1, -1))
        if allowed is None:
            scores, rows = self._index.search(q, want)
        else:
            if not allowed.any():
                return []
            bitmap = np.packbits(allowed, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, rows = self._index.search(q, want, params=params)
        out = [
            Neighbour(str(self.ids[r]), float(s))
            for s, r in zip(scores[0], rows[0], strict=True)
            if r >= 0 and self.ids[r] not in excluded
        ]
        return out[:n]

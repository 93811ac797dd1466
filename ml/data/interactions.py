"""Interaction sets: a users x items matrix with its raw ids, side features, splits.

Built from a HetRec-layout folder or a ``user,item,weight[,timestamp]`` CSV here, and from the
database by the Django selectors, so every path trains the same code.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.data import hetrec
from ml.data.files import DataFileError, RowValueError, parse_float, read_csv
from ml.data.names import normalize_name

#: ``extras`` keys: per-user tag assignments (raw user id, item column, feature column) and each
#: item's normalised name (the join key to the track catalogue's artists).
TAG_TRIPLES = "tag_triples"
ITEM_NAME_KEYS = "item_name_keys"


@dataclass(frozen=True)
class Interactions:
    """``matrix[u, i]`` is the weight (e.g. play count) of raw user ``user_ids[u]`` on ``item_ids[i]``.

    ``item_features`` (items x features, e.g. tag counts) and ``user_features`` are optional side
    information aligned with ``item_ids`` / ``user_ids``; ``friends`` holds raw user-id pairs.
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_features: sp.csr_matrix | None = None
    feature_names: np.ndarray | None = None
    friends: np.ndarray | None = None  # (n_pairs, 2) raw user ids
    name: str = "interactions"
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.matrix.shape != (len(self.user_ids), len(self.item_ids)):
            raise ValueError(
                f"matrix shape {self.matrix.shape} does not match "
                f"{len(self.user_ids)} users x {len(self.item_ids)} items"
            )

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    def fingerprint(self) -> str:
        """A content hash of the matrix and ids: the data snapshot id in a model manifest."""
        import hashlib

        h = hashlib.sha256()
        m = self.matrix.tocsr()
        for array in (m.indptr, m.indices, m.data, self.user_ids.astype(str), self.item_ids.astype(str)):
            h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]

    def with_matrix(self, matrix: sp.csr_matrix) -> Interactions:
        return replace(self, matrix=matrix.tocsr())

    def subset_users(self, rows: np.ndarray) -> Interactions:
        """The same item space, only the users at ``rows``.

        When the per-user tag assignments are known (``extras["tag_triples"]``: raw user id,
        item column, feature column), the item features are recounted from the kept users only,
        so a held-out user's tags never describe the artists a model trains on.
        """
        rows = np.asarray(rows)
        user_ids = self.user_ids[rows]
        triples = self.extras.get(TAG_TRIPLES)
        if triples is None or self.item_features is None:
            return replace(self, matrix=self.matrix[rows].tocsr(), user_ids=user_ids)
        kept = triples[np.isin(triples[:, 0], user_ids)]
        features = _count_features(kept, self.item_features.shape)
        return replace(
            self,
            matrix=self.matrix[rows].tocsr(),
            user_ids=user_ids,
            item_features=features,
            extras={**self.extras, TAG_TRIPLES: kept},
        )

    def aligned_to(self, item_ids: np.ndarray) -> Interactions:
        """Re-index onto another item space (e.g. a trained model's); unknown items are dropped."""
        index = {item: k for k, item in enumerate(item_ids.tolist())}
        coo = self.matrix.tocoo()
        mapped = np.array([index.get(i, -1) for i in self.item_ids.tolist()], dtype=np.int64)
        cols = mapped[coo.col]
        keep = cols >= 0
        matrix = sp.csr_matrix(
            (coo.data[keep], (coo.row[keep], cols[keep])), shape=(self.n_users, len(item_ids))
        )
        return replace(
            self, matrix=matrix, item_ids=np.asarray(item_ids), item_features=None, extras={}
        )


def from_triples(
    users: np.ndarray, items: np.ndarray, weights: np.ndarray, *, name: str = "interactions"
) -> Interactions:
    """Build from parallel arrays of raw ids and weights (duplicates are summed)."""
    user_ids, u = np.unique(users, return_inverse=True)
    item_ids, i = np.unique(items, return_inverse=True)
    matrix = sp.csr_matrix(
        (np.asarray(weights, np.float32), (u, i)), shape=(len(user_ids), len(item_ids))
    )
    matrix.sum_duplicates()
    return Interactions(matrix=matrix, user_ids=user_ids, item_ids=item_ids, name=name)


def load_hetrec(folder: Path | str) -> Interactions:
    """User x artist play counts from a HetRec folder, with artist x tag counts when present."""
    folder = Path(folder)
    plays = hetrec.read_user_artists(folder).rows
    if not plays:
        raise DataFileError(f"{folder}: {hetrec.USER_ARTISTS_FILE} has no rows")
    arr = np.array(plays, dtype=np.int64)
    data = from_triples(arr[:, 0], arr[:, 1], arr[:, 2].astype(np.float32), name=folder.name)
    features = names = None
    extras: dict[str, np.ndarray] = {}
    if (folder / hetrec.USER_TAGGED_ARTISTS_FILE).exists():
        features, names, extras[TAG_TRIPLES] = _artist_tags(folder, data.item_ids)
    if (folder / hetrec.ARTISTS_FILE).exists():
        extras[ITEM_NAME_KEYS] = _artist_name_keys(folder, data.item_ids)
    friends = None
    if (folder / hetrec.USER_FRIENDS_FILE).exists():
        rows = hetrec.read_friends(folder).rows
        friends = np.array([(r.user_id, r.friend_id) for r in rows if r.user_id < r.friend_id], np.int64)
        friends = friends.reshape(-1, 2)
    return replace(
        data, item_features=features, feature_names=names, friends=friends, extras=extras
    )


def _artist_name_keys(folder: Path, item_ids: np.ndarray) -> np.ndarray:
    """Each item's normalised artist name ("" when artists.dat does not list it)."""
    names = {r.artist_id: normalize_name(r.name) for r in hetrec.read_artists(folder).rows}
    return np.array([names.get(int(i), "") for i in item_ids.tolist()], dtype=str)


def _artist_tags(
    folder: Path, item_ids: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """``(artist x tag counts, tag ids, triples)``; triples = (raw user id, item col, tag col)."""
    rows = hetrec.read_tag_assignments(folder).rows
    index = {a: k for k, a in enumerate(item_ids.tolist())}
    found = [(r.user_id, index[r.artist_id], r.tag_id) for r in rows if r.artist_id in index]
    triples = np.array(found, np.int64).reshape(-1, 3)
    tag_ids, cols = np.unique(triples[:, 2], return_inverse=True)
    triples[:, 2] = cols.ravel()
    return _count_features(triples, (len(item_ids), len(tag_ids))), tag_ids, triples


def _count_features(triples: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    matrix = sp.csr_matrix(
        (np.ones(len(triples), np.float32), (triples[:, 1], triples[:, 2])), shape=shape
    )
    matrix.sum_duplicates()
    return matrix


def _csv_row(row: dict[str, str]) -> tuple[str, str, float]:
    user, item = row["user"].strip(), row["item"].strip()
    if not user or not item:
        raise RowValueError("user and item are required")
    return user, item, parse_float(row["weight"], "weight", low=0.0)


def load_csv(path: Path | str) -> Interactions:
    """``user,item,weight[,timestamp]`` rows (ids kept as strings)."""
    path = Path(path)
    result = read_csv(path, header=("user", "item", "weight"), parse=_csv_row)
    if not result.rows:
        raise DataFileError(f"{path}: no interactions")
    users, items, weights = zip(*result.rows, strict=True)
    return from_triples(np.array(users), np.array(items), np.array(weights), name=path.stem)


def load(path: Path | str) -> Interactions:
    """A HetRec-layout folder or an interactions CSV."""
    path = Path(path)
    if path.is_dir():
        return load_hetrec(path)
    if path.is_file():
        return load_csv(path)
    raise DataFileError(f"{path}: no such file or folder")


# ---- splits ---------------------------------------------------------------------------------


def split_items_per_user(
    data: Interactions, *, test_fraction: float = 0.2, seed: int = 7
) -> tuple[Interactions, Interactions]:
    """Each user's items split (seeded) into train and test; same users and item space."""
    rng = np.random.default_rng(seed)
    m = data.matrix.tocsr()
    train_mask = np.ones(m.nnz, dtype=bool)
    for u in range(m.shape[0]):
        start, end = m.indptr[u], m.indptr[u + 1]
        count = end - start
        n_test = int(round(count * test_fraction)) if count >= 2 else 0
        if n_test:
            chosen = rng.choice(count, size=n_test, replace=False)
            train_mask[start + chosen] = False
    train = _masked(m, train_mask)
    test = _masked(m, ~train_mask)
    return data.with_matrix(train), data.with_matrix(test)


def _masked(m: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    coo = m.tocoo()
    out = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=m.shape)
    out.eliminate_zeros()
    return out


def split_users(
    data: Interactions, *, test_fraction: float = 0.2, seed: int = 7
) -> tuple[Interactions, Interactions]:
    """Disjoint train and test users (seeded), both in the full item space."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(data.n_users)
    n_test = int(round(data.n_users * test_fraction))
    return data.subset_users(np.sort(order[n_test:])), data.subset_users(np.sort(order[:n_test]))


def seed_split(
    matrix: sp.csr_matrix, *, seeds: int | None, rng: np.random.Generator, fraction: float = 0.8
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """``(given, held out, kept rows)``: ``seeds`` random items per user are given (or a
    ``fraction`` of them when ``seeds`` is ``None``), the rest held out.

    Users with too few items to hold any out are dropped (``kept rows`` are the input rows that
    remain); given items are binarised (a seed is a pick, not a play count) when ``seeds`` is set.
    """
    m = matrix.tocsr()
    g_rows: list[int] = []
    g_cols: list[int] = []
    g_vals: list[float] = []
    h_rows: list[int] = []
    h_cols: list[int] = []
    row = 0
    kept: list[int] = []
    for u in range(m.shape[0]):
        items = m.indices[m.indptr[u] : m.indptr[u + 1]]
        values = m.data[m.indptr[u] : m.indptr[u + 1]]
        n_given = seeds if seeds is not None else int(round(len(items) * fraction))
        if len(items) <= max(n_given, 1) or n_given < 1:
            continue
        chosen = rng.choice(len(items), size=n_given, replace=False)
        mask = np.zeros(len(items), dtype=bool)
        mask[chosen] = True
        g_rows += [row] * n_given
        g_cols += items[mask].tolist()
        g_vals += [1.0] * n_given if seeds is not None else values[mask].tolist()
        h_rows += [row] * int((~mask).sum())
        h_cols += items[~mask].tolist()
        kept.append(u)
        row += 1
    shape = (row, m.shape[1])
    given = sp.csr_matrix((np.asarray(g_vals, np.float32), (g_rows, g_cols)), shape=shape)
    held = sp.csr_matrix((np.ones(len(h_rows), np.float32), (h_rows, h_cols)), shape=shape)
    return given, held, np.asarray(kept, dtype=np.int64)



def write_csv(data: Interactions, path: Path) -> None:
    """Write ``user,item,weight`` rows (used by tests and to export database snapshots)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["user", "item", "weight"])
    coo = data.matrix.tocoo()
    for u, i, w in zip(coo.row, coo.col, coo.data, strict=True):
        writer.writerow([data.user_ids[u], data.item_ids[i], f"{w:g}"])
    path.write_text(buf.getvalue())

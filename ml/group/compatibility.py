"""Compatibility between listeners: similarity features, the 0-100 score and its reasons.

Four similarities feed the learned, monotone compatibility head
(:class:`~ml.group.modeling.CompatibilityHead`):

1. ``taste``: cosine of the two learned member vectors (the fine-tuned taste-text encoding);
2. ``tags``: cosine of the two tag profiles (artists' tag mixes weighted by log plays);
3. ``artists``: Jaccard overlap of the artists they play;
4. ``preferences``: correlation of their NCF preferences over the whole catalogue.

The head is trained on pairs from real training groups (plus random pairs) to predict whether
two people will like at least one *new* artist in common (one hidden from both). The 0-100
score is the percentile of a pair's logit among the real friend pairs it was trained on
("closer than 64 % of friend pairs"): the raw chance is small for almost everyone (a shared
*new* artist is rare), which reads badly as a score. Reasons are built from the data, never
from the network: shared artists, shared tags, shared moods when known, and the biggest
disagreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ml.group.text import Vocabulary, taste_profile

if TYPE_CHECKING:
    from ml.group.modeling import CompatibilityHead

FEATURES = ("taste", "tags", "artists", "preferences")
SHOWN = 3


@dataclass(frozen=True)
class Compatibility:
    """A 0-100 score, the similarities behind it and sentences a person can read."""

    score: int
    reasons: list[str]
    similarities: dict[str, float]
    shared_artists: list[str] = field(default_factory=list)
    shared_tags: list[str] = field(default_factory=list)
    shared_moods: list[str] = field(default_factory=list)
    disagreement: str | None = None


def tag_profile(history: sp.csr_matrix, vocabulary: Vocabulary) -> np.ndarray:
    """One row's tag mix: the artists' tag shares weighted by log plays."""
    row = sp.csr_matrix(history, dtype=np.float32)
    weights = np.log1p(np.maximum(row.data, 0.0))
    return np.asarray(weights @ vocabulary.item_tags[row.indices].toarray()).ravel()


def pair_similarities(
    histories: sp.csr_matrix,
    taste: np.ndarray,
    logits: np.ndarray,
    vocabulary: Vocabulary,
    pairs: np.ndarray,
) -> np.ndarray:
    """The :data:`FEATURES` similarities, ``(len(pairs), 4)``, for row pairs of the inputs.

    ``histories`` are play-count rows, ``taste`` the learned member vectors and ``logits`` the
    NCF scores over the catalogue, one row per listener.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    out = np.zeros((len(pairs), len(FEATURES)), dtype=np.float32)
    if len(pairs) == 0:
        return out
    hist = sp.csr_matrix(histories, dtype=np.float32)
    weighted = hist.copy()
    weighted.data = np.log1p(np.maximum(weighted.data, 0.0))
    tags = _unit_rows(sp.csr_matrix(weighted @ vocabulary.item_tags))
    binary = sp.csr_matrix((hist > 0).astype(np.float32))
    sizes = np.asarray(binary.sum(axis=1)).ravel()
    unit_taste = taste / np.maximum(np.linalg.norm(taste, axis=1, keepdims=True), 1e-12)
    a, b = pairs[:, 0], pairs[:, 1]
    out[:, 0] = (unit_taste[a] * unit_taste[b]).sum(1)
    out[:, 1] = np.asarray(tags[a].multiply(tags[b]).sum(1)).ravel()
    shared = np.asarray(binary[a].multiply(binary[b]).sum(1)).ravel()
    union = sizes[a] + sizes[b] - shared
    out[:, 2] = np.where(union > 0, shared / np.maximum(union, 1), 0.0)
    for start in range(0, len(pairs), 512):
        sa, sb = a[start : start + 512], b[start : start + 512]
        out[start : start + 512, 3] = (_centred_unit(logits[sa]) * _centred_unit(logits[sb])).sum(1)
    return out


def training_pairs(
    groups: Sequence[np.ndarray], n_users: int, *, seed: int, limit: int = 4000
) -> tuple[np.ndarray, int]:
    """Member pairs of training groups (at most ``limit``, first) then as many random pairs;
    and how many of the rows are group pairs."""
    rng = np.random.default_rng(seed)
    chosen = sorted({(int(a), int(b)) for rows in groups for a in rows for b in rows if a < b})
    if len(chosen) > limit:
        chosen = [chosen[i] for i in np.sort(rng.choice(len(chosen), limit, replace=False))]
    random = rng.integers(0, n_users, size=(len(chosen), 2))
    random = random[random[:, 0] != random[:, 1]]
    return np.vstack([np.asarray(chosen, dtype=np.int64).reshape(-1, 2), random]), len(chosen)


def shares_hidden_item(hidden: sp.csr_matrix, pairs: np.ndarray) -> np.ndarray:
    """1.0 where both listeners of a pair have at least one hidden item in common."""
    binary = sp.csr_matrix((sp.csr_matrix(hidden) > 0).astype(np.float32))
    shared = np.asarray(binary[pairs[:, 0]].multiply(binary[pairs[:, 1]]).sum(axis=1)).ravel()
    return (shared > 0).astype(np.float32)


def fit_head(
    head: CompatibilityHead, features: np.ndarray, labels: np.ndarray, n_friend_pairs: int
) -> None:
    """Full-batch logistic regression of the monotone head (a few hundred Adam steps), then
    the percentiles of the first ``n_friend_pairs`` rows' logits (the real friend pairs)."""
    import torch

    x, y = torch.from_numpy(features), torch.from_numpy(labels)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(300):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(head(x), y)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    head.eval()
    with torch.no_grad():
        friends = head(x[: max(n_friend_pairs, 1)])
        head.quantiles.copy_(torch.quantile(friends, torch.linspace(0.0, 1.0, 101)))


def _unit_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)


def _centred_unit(rows: np.ndarray) -> np.ndarray:
    centred = rows - rows.mean(axis=1, keepdims=True)
    norm: np.ndarray = np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    return np.asarray(centred / norm)


def reasons(
    history_a: sp.csr_matrix,
    history_b: sp.csr_matrix,
    vocabulary: Vocabulary,
    *,
    names: tuple[str, str],
    score: int,
) -> Compatibility:
    """Readable reasons for a pair; the score is passed in, the caller adds similarities."""
    a, b = sp.csr_matrix(history_a), sp.csr_matrix(history_b)
    wa = dict(zip(a.indices.tolist(), np.log1p(a.data).tolist(), strict=True))
    wb = dict(zip(b.indices.tolist(), np.log1p(b.data).tolist(), strict=True))
    both = sorted(set(wa) & set(wb), key=lambda i: (-min(wa[i], wb[i]), i))
    artists = [str(vocabulary.item_names[i]) for i in both[:SHOWN]]
    pa = taste_profile(a, vocabulary, n_tags=10, n_artists=0)
    pb = taste_profile(b, vocabulary, n_tags=10, n_artists=0)
    tags_b = {name for name, _ in pb.tags}
    tags = [name for name, _ in pa.tags if name in tags_b][:SHOWN]
    moods_b = {name for name, _ in pb.moods}
    moods = [name for name, _ in pa.moods if name in moods_b]
    text = [f"Taste match {score}/100: closer than {score}% of friend pairs."]
    if artists:
        extra = len(both) - len(artists)
        more = f" and {extra} more" if extra > 0 else ""
        text.append(f"{names[0]} and {names[1]} both play {_join(artists)}{more}.")
    else:
        text.append(f"{names[0]} and {names[1]} have no artist in common yet.")
    if tags:
        text.append(f"Both lean towards {_join(tags)}.")
    if moods:
        text.append(f"Both like {_join(moods)} music.")
    disagreement = _disagreement(a, b, vocabulary, names)
    if disagreement:
        text.append(disagreement)
    return Compatibility(
        score=score,
        reasons=text,
        similarities={},
        shared_artists=artists,
        shared_tags=tags,
        shared_moods=moods,
        disagreement=disagreement,
    )


def _disagreement(
    a: sp.csr_matrix, b: sp.csr_matrix, vocabulary: Vocabulary, names: tuple[str, str]
) -> str | None:
    """The tag whose share of listening differs most between the two, as a sentence."""
    ta, tb = tag_profile(a, vocabulary), tag_profile(b, vocabulary)
    if ta.sum() > 0 and tb.sum() > 0:
        share_a, share_b = ta / ta.sum(), tb / tb.sum()
        gap = share_a - share_b
        k = int(np.argmax(np.abs(gap)))
        if abs(gap[k]) >= 0.01:
            lover, other = (0, 1) if gap[k] > 0 else (1, 0)
            shares = (share_a[k], share_b[k])
            return (
                f"Biggest difference: {vocabulary.tag_names[k]} is {shares[lover]:.0%} of "
                f"{names[lover]}'s listening and {shares[other]:.0%} of {names[other]}'s."
            )
    only_a = sorted(set(a.indices.tolist()) - set(b.indices.tolist()), key=lambda i: -_weight(a, i))
    if only_a:
        return (
            f"Biggest difference: {names[0]}'s favourite {vocabulary.item_names[only_a[0]]} "
            f"is not in {names[1]}'s listening."
        )
    return None


def _weight(row: sp.csr_matrix, col: int) -> float:
    return float(row[0, col])


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"

"""Training the group layers and the encoder's top layers on real groups.

Each member's training items are split into a *given* part and a hidden *target* part (the
protocol's own 80/20 idea, one level down). The member NCF is fitted on the given parts only,
so its preferences for the targets are honest guesses; a group's target is the union of its
members' targets, and the layers learn to rank it first among the candidates (the union of the
members' top NCF items) with a listwise softmax loss.

Validation picks the epoch (epoch 0 being the untrained layers) and must look like serving:
a tenth of the groups is held out, every member's hidden items are split in half, training
groups learn from the first half (the second is never a candidate), and validation groups are
scored on the second half with everything else (given part and first half) as the members'
*history*: their preferences, taste texts and friends' plays are recomputed from it, as at
serving time. (Scoring validation from the training view rewarded layers that memorise each
member's text-to-items mapping, which then failed on real held-out items.)

The encoder joins in cheaply: at the start of an epoch every member's text runs through the
trainable top layers once; the group steps accumulate the gradient of the loss with respect to
those member vectors, and at the end of the epoch the chain rule carries it through the top
layers in one large-batch step (encode once per epoch, as the lower layers are cached).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ml.base import ModelFitError
from ml.group.config import GroupConfig
from ml.group.encoder import Lowered, TasteEncoder
from ml.group.modeling import GroupLayers

VALIDATION_SHARE = 0.1
UPPER_BATCH = 128


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    loss: float
    validation_ndcg: float
    seconds: float


@dataclass(frozen=True)
class Preferences:
    """Members' NCF logits over the catalogue and the statistics that turn them into features."""

    logits: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    log_norm: np.ndarray

    @classmethod
    def from_logits(cls, logits: np.ndarray) -> Preferences:
        logits = np.asarray(logits, dtype=np.float32)
        top = logits.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        return cls(
            logits=logits,
            mean=logits.mean(axis=1),
            std=np.maximum(logits.std(axis=1), 1e-6),
            log_norm=log_norm,
        )

    def features(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``(len(rows), len(cols), 2)``: standardised score and log-probability."""
        block = self.logits[np.ix_(rows, cols)]
        z = (block - self.mean[rows, None]) / self.std[rows, None]
        logp = block - self.log_norm[rows, None]
        return np.stack([z, logp], axis=-1).astype(np.float32)


@dataclass(frozen=True)
class Context:
    """A group's surroundings: its members' other friends' plays, and item popularity.

    ``plays`` is users x items (binary), ``neighbours[r]`` the friend rows of user row ``r``.
    """

    plays: sp.csr_matrix
    neighbours: list[np.ndarray]
    popularity: np.ndarray

    @classmethod
    def build(cls, matrix: sp.csr_matrix, friend_rows: np.ndarray) -> Context:
        plays = sp.csr_matrix((sp.csr_matrix(matrix) > 0).astype(np.float32))
        n_users = plays.shape[0]
        pairs = np.asarray(friend_rows, dtype=np.int64).reshape(-1, 2)
        both = np.vstack([pairs, pairs[:, ::-1]])
        order = np.argsort(both[:, 0], kind="stable")
        starts = np.searchsorted(both[order, 0], np.arange(n_users + 1))
        neighbours = [both[order[starts[r] : starts[r + 1]], 1] for r in range(n_users)]
        counts = np.asarray(plays.sum(axis=0)).ravel()
        log_pop = np.log((counts + 1.0) / (n_users + 1.0))
        popularity = (log_pop - log_pop.mean()) / max(float(log_pop.std()), 1e-6)
        return cls(plays, neighbours, popularity.astype(np.float32))

    def features(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """``(len(cols), 2)``: log(1 + members' other friends who play it), popularity.

        ``rows`` are the members' user rows; ``-1`` marks a member the model does not know
        (no friends to look at).
        """
        members = {int(r) for r in rows if r >= 0}
        friends = sorted({int(f) for r in members for f in self.neighbours[r]} - members)
        social = np.zeros(len(cols), dtype=np.float32)
        if friends:
            social = np.asarray(self.plays[friends][:, cols].sum(axis=0)).ravel()
        return np.stack([np.log1p(social), self.popularity[cols]], axis=-1).astype(np.float32)


@dataclass(frozen=True)
class View:
    """Everything derived from one version of the members' histories."""

    preferences: Preferences
    lowered: Lowered
    context: Context


@dataclass(frozen=True)
class GroupExample:
    rows: np.ndarray
    candidates: np.ndarray
    target: np.ndarray  # bool over candidates
    context: np.ndarray  # (candidates, 2)


@dataclass(frozen=True)
class Examples:
    """Training groups (scored in ``fit_view``) and validation groups (``valid_view``)."""

    fit: list[GroupExample]
    valid: list[GroupExample]

    @property
    def all(self) -> list[GroupExample]:
        return [*self.fit, *self.valid]


def candidate_columns(logits: np.ndarray, excluded: np.ndarray, per_member: int) -> np.ndarray:
    """The union of each member's top ``per_member`` items by NCF score, ``excluded`` left out."""
    scores = np.array(np.atleast_2d(logits), dtype=np.float32, copy=True)
    scores[:, np.asarray(excluded, dtype=bool)] = -np.inf
    k = min(per_member, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    keep = np.isfinite(np.take_along_axis(scores, top, 1))
    return np.unique(top[keep])


def seen_mask(history: sp.csr_matrix, n_items: int) -> np.ndarray:
    """True for every item any of the rows has."""
    mask = np.zeros(n_items, dtype=bool)
    mask[sp.csr_matrix(history).indices] = True
    return mask


def split_groups_for_validation(
    groups: Sequence[np.ndarray], seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training groups, validation groups): a seeded tenth held out when there are 20+."""
    order = np.random.default_rng(seed).permutation(len(groups))
    n_valid = int(len(groups) * VALIDATION_SHARE) if len(groups) >= 20 else 0
    return (
        [groups[i] for i in sorted(order[n_valid:])],
        [groups[i] for i in sorted(order[:n_valid])],
    )


def halves(matrix: sp.csr_matrix, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Each row's entries split at random into two halves (the first gets the odd one)."""
    rng = np.random.default_rng(seed)
    m = sp.csr_matrix(matrix)
    first = np.zeros(m.nnz, dtype=bool)
    for r in range(m.shape[0]):
        start, end = m.indptr[r], m.indptr[r + 1]
        first[start + rng.permutation(end - start)[: (end - start + 1) // 2]] = True
    a, b = m.copy(), m.copy()
    a.data = np.where(first, a.data, 0.0)
    b.data = np.where(first, 0.0, b.data)
    a.eliminate_zeros()
    b.eliminate_zeros()
    return a, b


def make_examples(
    groups: Sequence[np.ndarray],
    view: View,
    history: sp.csr_matrix,
    hidden_away: sp.csr_matrix,
    target: sp.csr_matrix,
    per_member: int,
) -> list[GroupExample]:
    """Examples ranking ``target`` among candidates outside ``history`` and ``hidden_away``.

    Groups whose target has no item among the candidates are skipped.
    """
    examples = []
    n_items = history.shape[1]
    for rows in groups:
        excluded = seen_mask(history[rows], n_items) | seen_mask(hidden_away[rows], n_items)
        candidates = candidate_columns(view.preferences.logits[rows], excluded, per_member)
        mask = np.isin(candidates, np.unique(target[rows].indices))
        if mask.any():
            examples.append(
                GroupExample(rows, candidates, mask, view.context.features(rows, candidates))
            )
    return examples


def _batch(
    examples: Sequence[GroupExample],
    vectors: torch.Tensor,
    preferences: Preferences,
    item_features: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    m = max(len(e.rows) for e in examples)
    c = max(len(e.candidates) for e in examples)
    b = len(examples)
    rows = np.zeros((b, m), np.int64)
    member_mask = np.zeros((b, m), bool)
    items = np.zeros((b, c), np.int64)
    item_mask = np.zeros((b, c), bool)
    target = np.zeros((b, c), np.float32)
    prefs = np.zeros((b, m, c, 2), np.float32)
    context = np.zeros((b, c, 2), np.float32)
    for k, e in enumerate(examples):
        rows[k, : len(e.rows)] = e.rows
        member_mask[k, : len(e.rows)] = True
        items[k, : len(e.candidates)] = e.candidates
        item_mask[k, : len(e.candidates)] = True
        target[k, : len(e.candidates)] = e.target
        prefs[k, : len(e.rows), : len(e.candidates)] = preferences.features(e.rows, e.candidates)
        context[k, : len(e.candidates)] = e.context
    return (
        vectors[torch.from_numpy(rows)],
        torch.from_numpy(member_mask),
        item_features[torch.from_numpy(items)],
        torch.from_numpy(prefs),
        torch.from_numpy(context),
        torch.from_numpy(item_mask),
        torch.from_numpy(target),
    )


def _loss_and_ndcg(
    layers: GroupLayers, batch: tuple[torch.Tensor, ...], k: int = 10
) -> tuple[torch.Tensor, float]:
    text, member_mask, features, prefs, context, item_mask, target = batch
    scores = layers(text, member_mask, features, prefs, context).scores
    scores = scores.masked_fill(~item_mask, float("-inf"))
    logp = torch.log_softmax(scores, dim=1).masked_fill(~item_mask, 0.0)
    loss = -((logp * target).sum(1) / target.sum(1).clamp(min=1.0)).mean()
    with torch.no_grad():
        top = scores.topk(min(k, scores.shape[1]), dim=1).indices
        hits = target.gather(1, top)
        discounts = 1.0 / torch.log2(torch.arange(2, top.shape[1] + 2, dtype=torch.float32))
        ideal = torch.cumsum(discounts, 0)[(target.sum(1).clamp(max=top.shape[1]) - 1).long()]
        ndcg = float(((hits * discounts).sum(1) / ideal).mean())
    return loss, ndcg


def train(
    config: GroupConfig,
    layers: GroupLayers,
    encoder: TasteEncoder,
    examples: Examples,
    views: tuple[View, View | None],
    item_features: torch.Tensor,
    on_epoch: Callable[[EpochLog], None] | None = None,
) -> list[EpochLog]:
    """Fit ``layers`` and the encoder's top layers; keeps the best epoch on validation groups."""
    rng = np.random.default_rng(config.seed)
    fit, valid = examples.fit, examples.valid
    view, valid_view = views
    lowered, preferences = view.lowered, view.preferences
    if not fit:
        raise ModelFitError("group: no training group has a hidden item among its candidates")
    optimizer = torch.optim.Adam(
        [
            {"params": list(layers.mix.parameters()), "lr": config.learning_rate},
            {
                "params": [p for n, p in layers.named_parameters() if not n.startswith("mix.")],
                "lr": config.layer_learning_rate,
                "weight_decay": config.weight_decay,
            },
        ]
    )
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    encoder_optimizer = (
        torch.optim.Adam(trainable, lr=config.encoder_learning_rate) if trainable else None
    )
    layers.eval()
    best = _validate(layers, encoder, valid_view, valid, item_features)
    best_state, log = _snapshot(layers, encoder), [EpochLog(0, 0.0, best, 0.0)]
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        vectors = _encode_all(encoder, lowered).requires_grad_(True)
        layers.train()
        losses = []
        batches = np.array_split(rng.permutation(len(fit)), max(1, len(fit) // config.batch_size))
        for idx in batches:
            batch = _batch([fit[i] for i in idx], vectors, preferences, item_features)
            loss, _ = _loss_and_ndcg(layers, batch)
            if not torch.isfinite(loss):
                raise ModelFitError(f"group: loss became {loss.item()} at epoch {epoch}")
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
            losses.append(float(loss.item()))
        if encoder_optimizer is not None and vectors.grad is not None:
            _encoder_step(encoder, encoder_optimizer, lowered, vectors.grad / len(batches))
        layers.eval()
        score = _validate(layers, encoder, valid_view, valid, item_features)
        entry = EpochLog(epoch, float(np.mean(losses)), score, time.perf_counter() - start)
        log.append(entry)
        if on_epoch is not None:
            on_epoch(entry)
        if not valid or score > best:
            best, best_state = score, _snapshot(layers, encoder)
    _restore(layers, encoder, best_state)
    return log


def _encode_all(encoder: TasteEncoder, lowered: Lowered) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat(
            [
                encoder.upper(lowered.take(slice(s, s + UPPER_BATCH)))
                for s in range(0, len(lowered), UPPER_BATCH)
            ]
        )


def _encoder_step(
    encoder: TasteEncoder,
    optimizer: torch.optim.Optimizer,
    lowered: Lowered,
    grad: torch.Tensor,
) -> None:
    """Carry the accumulated member-vector gradient through the top layers (chain rule)."""
    touched = torch.nonzero(grad.abs().sum(1) > 0).squeeze(1)
    optimizer.zero_grad()
    for start in range(0, len(touched), UPPER_BATCH):
        idx = touched[start : start + UPPER_BATCH]
        out = encoder.upper(lowered.take(idx))
        out.backward(grad[idx])  # type: ignore[no-untyped-call]
    optimizer.step()


def _validate(
    layers: GroupLayers,
    encoder: TasteEncoder,
    view: View | None,
    valid: list[GroupExample],
    item_features: torch.Tensor,
) -> float:
    if not valid or view is None:
        return 0.0
    with torch.no_grad():
        vectors = _encode_all(encoder, view.lowered)
        scores = []
        for s in range(0, len(valid), 256):
            chunk = valid[s : s + 256]
            batch = _batch(chunk, vectors, view.preferences, item_features)
            _, ndcg = _loss_and_ndcg(layers, batch)
            scores.append(ndcg * len(chunk))
    return float(sum(scores) / len(valid))


def _snapshot(layers: GroupLayers, encoder: TasteEncoder) -> tuple[dict[str, torch.Tensor], ...]:
    return copy.deepcopy(layers.state_dict()), encoder.trainable_state()


def _restore(
    layers: GroupLayers, encoder: TasteEncoder, state: tuple[dict[str, torch.Tensor], ...]
) -> None:
    layers.load_state_dict(state[0])
    with torch.no_grad():
        named = dict(encoder.bert.named_parameters())
        for name, value in state[1].items():
            named[name].copy_(value)

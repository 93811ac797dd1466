"""The ``groups`` protocol: real friend groups, ephemeral test groups, harmony metrics.

Split. Without a test folder, the friend graph's groups (:mod:`ml.group.groups`) are split
(seeded) into training and test groups, and every listener's artists are split 80/20 as in
``weak``: models fit on the 80 %, group models also on the training groups. With a test folder,
the models fit on the whole training folder and its groups, and the test groups come from the
test folder's own friend graph: its listeners are folded in from 80 % of their history.

Metrics, for a group list ``r_1..r_K`` of items none of the members has played:

* ``ndcg`` (group NDCG@K) and ``map``/``recall``/``hr``/``precision``: against the union of the
  members' held-out items;
* ``member_ndcg_mean`` / ``member_ndcg_min``: each member's NDCG@K of the same list against
  their own held-out items; mean and minimum over the group's members;
* ``member_ndcg_spread``: the maximum minus the minimum member NDCG@K;
* ``dominance``: the share of lists with at least one hit in which a single member holds more
  than half of all the members' hits (an item relevant to two members counts for both);
* ``coverage``, ``pop_bias``, ``gini`` as in :mod:`ml.evaluation`.

Each is the mean over test groups with at least one held-out item (members without held-out
items are left out of the member metrics). Peers are scored under every requested policy over
their members' scores (``als/average``, ``als/least-misery``, ...); a group model adds its
learned policy (``group``) and the same fixed policies over its members' NCF scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender, NotFittedError
from ml.data.interactions import Interactions, split_items_per_user
from ml.evaluation import ModelResult, accuracy_at_k, gini
from ml.group import policies
from ml.group.groups import Group, friend_groups, sample_groups, split_groups

if TYPE_CHECKING:
    import argparse

    from ml.cli import ProtocolRun

TEST_FRACTION = 0.2
GROUP_TEST_FRACTION = 0.2
HARMONY = ("member_ndcg_mean", "member_ndcg_min", "member_ndcg_spread", "dominance")


@dataclass(frozen=True)
class GroupTask:
    """One split: what the models fit on and what the test groups are scored against.

    ``members`` lists every test-group member once; ``history`` and ``held_out`` are their rows
    over ``train``'s items (``history``: what they played and is excluded; ``held_out``: the
    relevant items); ``known`` says whether the members are training users (else fold-in).
    """

    train: Interactions
    train_groups: list[Group]
    test_groups: list[Group]
    members: np.ndarray
    history: sp.csr_matrix
    held_out: sp.csr_matrix
    known: bool
    description: str

    def rows(self, group: Group) -> np.ndarray:
        index = {u: k for k, u in enumerate(self.members.tolist())}
        return np.asarray([index[u] for u in group.members], dtype=np.int64)


def make_task(
    data: Interactions,
    test_data: Interactions | None = None,
    *,
    seed: int = 7,
    max_test_groups: int = 0,
) -> GroupTask:
    """The seeded split of the module docstring (``max_test_groups`` 0: keep them all)."""
    if test_data is None:
        groups = friend_groups(data.friends, data.user_ids, seed=seed)
        split = split_groups(groups, test_fraction=GROUP_TEST_FRACTION, seed=seed)
        train, test = split_items_per_user(data, test_fraction=TEST_FRACTION, seed=seed)
        test_groups = sample_groups(split.test, max_test_groups, seed=seed)
        members = _members(test_groups)
        rows = _rows(data.user_ids, members)
        return GroupTask(
            train=train,
            train_groups=split.train,
            test_groups=test_groups,
            members=members,
            history=train.matrix[rows],
            held_out=test.matrix[rows],
            known=True,
            description=(
                f"groups on {_describe(data)}; {len(split.train)} training and "
                f"{len(test_groups)} test friend groups (ephemeral), 80/20 items per listener"
            ),
        )
    groups = friend_groups(test_data.friends, test_data.user_ids, seed=seed)
    test_groups = sample_groups(groups, max_test_groups, seed=seed)
    aligned = test_data.aligned_to(data.item_ids)
    given, held = split_items_per_user(aligned, test_fraction=TEST_FRACTION, seed=seed)
    members = _members(test_groups)
    rows = _rows(test_data.user_ids, members)
    return GroupTask(
        train=data,
        train_groups=friend_groups(data.friends, data.user_ids, seed=seed),
        test_groups=test_groups,
        members=members,
        history=given.matrix[rows],
        held_out=held.matrix[rows],
        known=False,
        description=(
            f"groups on {_describe(data)}; {len(test_groups)} test friend groups of fold-in "
            f"listeners from {_describe(test_data)}"
        ),
    )


def _describe(data: Interactions) -> str:
    return f"{data.name} ({data.n_users} users x {data.n_items} items)"


def _members(groups: Sequence[Group]) -> np.ndarray:
    seen: dict[Any, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group.members))
    return np.asarray(list(seen))


def _rows(user_ids: np.ndarray, members: np.ndarray) -> np.ndarray:
    index = {u: k for k, u in enumerate(user_ids.tolist())}
    return np.asarray([index[u] for u in members.tolist()], dtype=np.int64)


# ---- metrics ------------------------------------------------------------------------------------


def member_ndcg(cols: np.ndarray, held_out: sp.csr_matrix, k: int) -> np.ndarray:
    """NDCG@k of one list (item columns, -1 empty) for each row of ``held_out`` (NaN: no items)."""
    held_out = sp.csr_matrix(held_out)
    relevant = np.zeros((held_out.shape[0], len(cols)), dtype=bool)
    ok = cols >= 0
    if ok.any():
        relevant[:, ok] = held_out[:, cols[ok]].toarray() > 0
    discounts = 1.0 / np.log2(np.arange(2, len(cols) + 2))
    counts = np.minimum(np.diff(held_out.indptr), k)
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])[counts]
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(counts > 0, (relevant * discounts).sum(1) / ideal, np.nan)
    return out


def harmony(cols: np.ndarray, held_out: sp.csr_matrix, k: int) -> dict[str, float]:
    """The member metrics of one group list (see the module docstring); NaN when undefined."""
    ndcg = member_ndcg(cols, held_out, k)
    valid = ndcg[np.isfinite(ndcg)]
    held_out = sp.csr_matrix(held_out)
    ok = cols >= 0
    hits = (held_out[:, cols[ok]].toarray() > 0).sum(1) if ok.any() else np.zeros(held_out.shape[0])
    total = hits.sum()
    return {
        "member_ndcg_mean": float(valid.mean()) if valid.size else float("nan"),
        "member_ndcg_min": float(valid.min()) if valid.size else float("nan"),
        "member_ndcg_spread": float(valid.max() - valid.min()) if valid.size else float("nan"),
        "dominance": float(hits.max() > total / 2) if total > 0 else float("nan"),
    }


def group_metrics(
    lists: np.ndarray,
    task: GroupTask,
    popularity: np.ndarray,
    k: int,
) -> dict[str, float]:
    """All protocol metrics for one model's lists, one row per test group (same order)."""
    union_rows, member_rows = [], []
    for group in task.test_groups:
        rows = task.rows(group)
        union_rows.append(sp.csr_matrix(task.held_out[rows].sum(axis=0)))
        member_rows.append(rows)
    union = sp.vstack(union_rows).tocsr() if union_rows else sp.csr_matrix((0, len(popularity)))
    keep = np.flatnonzero(np.diff(union.indptr) > 0)
    metrics = accuracy_at_k(lists[keep], union[keep], k)
    per_group = [harmony(lists[g], task.held_out[member_rows[g]], k) for g in keep]
    for name in HARMONY:
        values = np.asarray([h[name] for h in per_group], dtype=np.float64)
        values = values[np.isfinite(values)]
        metrics[name] = float(values.mean()) if values.size else 0.0
    recommended = lists[keep][lists[keep] >= 0]
    counts = np.bincount(recommended, minlength=len(popularity))
    metrics["coverage"] = float(np.count_nonzero(counts) / max(len(popularity), 1))
    metrics["pop_bias"] = float(popularity[recommended].mean()) if recommended.size else 0.0
    metrics["gini"] = gini(counts)
    metrics["groups"] = float(len(keep))
    return metrics


# ---- running models -----------------------------------------------------------------------------

Lister = Callable[[np.ndarray, np.ndarray], np.ndarray]


def evaluate_groups(
    models: Mapping[str, BaseRecommender],
    task: GroupTask,
    *,
    policy_names: Sequence[str] = policies.POLICIES,
    k: int = 10,
) -> dict[str, ModelResult]:
    """Fit every model on ``task.train`` and score the test groups under each policy."""
    chosen = [policies.policy_name(p) for p in policy_names]
    popularity = _popularity(task.train.matrix)
    results: dict[str, ModelResult] = {}
    for name, model in models.items():
        start = time.perf_counter()
        _fit(model, task)
        train_seconds = time.perf_counter() - start
        for row_name, lister in _listers(name, model, task, chosen, k).items():
            begin = time.perf_counter()
            lists = np.vstack(
                [lister(task.rows(g), _excluded(task, g, model)) for g in task.test_groups]
            ).reshape(-1, k)
            seconds = time.perf_counter() - begin
            metrics = group_metrics(lists, task, popularity, k)
            groups = max(int(metrics["groups"]), 1)
            results[row_name] = ModelResult(
                model=row_name,
                protocol="groups",
                k=k,
                users=int(metrics.pop("groups")),
                metrics=metrics,
                train_seconds=train_seconds,
                recommend_seconds_per_user=seconds / groups,
                params={
                    **model.get_params(),
                    "policy": row_name.partition("/")[2] or policies.LEARNED,
                },
            )
    return results


def _fit(model: BaseRecommender, task: GroupTask) -> None:
    from ml.group.estimator import GroupRecommender

    if isinstance(model, GroupRecommender):
        model.fit(task.train, groups=task.train_groups)
    else:
        model.fit(task.train)


def _excluded(task: GroupTask, group: Group, model: BaseRecommender) -> np.ndarray:
    mask = np.zeros(model.n_items, dtype=bool)
    mask[task.history[task.rows(group)].indices] = True
    return mask


def _popularity(matrix: sp.csr_matrix) -> np.ndarray:
    m = sp.csr_matrix(matrix)
    counts = np.bincount(m.indices[m.data > 0], minlength=m.shape[1])
    return np.asarray(counts / max(m.shape[0], 1), dtype=np.float64)


def member_scores(model: BaseRecommender, task: GroupTask) -> np.ndarray:
    """Every test member's scores over the model's items (known users, or folded in)."""
    if not model.is_fitted:
        raise NotFittedError(f"{model.model_type} is not fitted")
    if task.known:
        return np.asarray(model.score(task.members, model.item_ids_), dtype=np.float32)
    return np.vstack(
        [
            model._scores_from_history(task.history[s : s + 256])
            for s in range(0, task.history.shape[0], 256)
        ]
    ).astype(np.float32)


def _listers(
    name: str, model: BaseRecommender, task: GroupTask, chosen: Sequence[str], k: int
) -> dict[str, Lister]:
    from ml.group.estimator import GroupRecommender

    def pad(cols: np.ndarray) -> np.ndarray:
        out = np.full(k, -1, dtype=np.int64)
        out[: len(cols)] = cols[:k]
        return out

    listers: dict[str, Lister] = {}
    if isinstance(model, GroupRecommender):
        state = model.members(task.members.tolist() if task.known else task.history)
        scores = state.preferences

        def learned(rows: np.ndarray, excluded: np.ndarray) -> np.ndarray:
            values, _ = model.learned_scores(state.take(rows), excluded)
            return pad(policies.top_columns(np.where(excluded, -np.inf, values), k))

        listers[name] = learned
    else:
        scores = member_scores(model, task)
    for policy in chosen:
        if policy == policies.LEARNED:
            continue

        def fixed(rows: np.ndarray, excluded: np.ndarray, policy: str = policy) -> np.ndarray:
            return pad(policies.rank(scores[rows], policy, k, excluded=excluded).columns)

        listers[f"{name}/{policy}"] = fixed
    return listers


# ---- the command line ---------------------------------------------------------------------------


def run_protocol(args: argparse.Namespace, models: dict[str, BaseRecommender]) -> ProtocolRun:
    """``python -m ml evaluate --protocol groups``: see :data:`ml.cli.PROTOCOLS`."""
    from ml.cli import ProtocolRun, UsageError
    from ml.data.interactions import load
    from ml.group.text import attach_names

    data = attach_names(load(args.train), args.train) if args.train.is_dir() else load(args.train)
    test = None if args.test is None else load(args.test)
    try:
        chosen = [
            policies.policy_name(p) for p in (getattr(args, "policy", None) or policies.POLICIES)
        ]
    except ValueError as exc:
        raise UsageError(f"--policy: {exc}") from None
    source = data if test is None else test
    if source.friends is None or len(source.friends) == 0:
        raise UsageError(
            f"{args.test or args.train}: no friend graph (user_friends.dat) to form groups"
        )
    task = make_task(
        data, test, seed=args.seed, max_test_groups=getattr(args, "max_groups", 0) or 0
    )
    if not task.test_groups:
        raise UsageError(f"{args.test or args.train}: no friend group of 2 to 8 listeners to test")
    results = evaluate_groups(models, task, policy_names=chosen, k=args.k)
    return ProtocolRun(task.description, results, format_harmony(list(results.values()), args.k))


def format_harmony(results: Sequence[ModelResult], k: int) -> str:
    """One aligned row per model and policy: group NDCG and the harmony metrics."""
    headers = [
        "model",
        f"group NDCG@{k}",
        "member mean",
        "member min",
        "spread",
        "dominance",
        f"HR@{k}",
        "coverage",
        "train s",
        "rec ms/group",
    ]
    rows = [
        [
            r.model,
            *(f"{r.metrics[m]:.4f}" for m in ("ndcg", *HARMONY, "hr", "coverage")),
            f"{r.train_seconds:.2f}",
            f"{r.recommend_seconds_per_user * 1000:.3f}",
        ]
        for r in results
    ]
    widths = [max(len(row[c]) for row in [headers, *rows]) for c in range(len(headers))]
    lines = [
        "  ".join(
            [
                row[0].ljust(widths[0]),
                *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
            ]
        )
        for row in [headers, *rows]
    ]
    return "\n".join(lines)

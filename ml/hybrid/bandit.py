"""Online adaptation of the hybrid's blend weights: a guarded contextual bandit.

One weight vector per context bucket (e.g. ``"h11-30"`` or ``"h>30|group"``). Serving either
uses the current weights (:meth:`BlendBandit.weights`) or, with probability ``explore``, a
Dirichlet perturbation of them (:meth:`BlendBandit.sample`). Feedback on an item updates the
bucket with an exponentiated-gradient step (Kivinen & Warmuth; EXP3-style credit): reward 1
(like, play-through) or 0 (skip, dislike), and the members whose normalised score ranked the
item above the others' average get the credit or the blame::

    w_m <- w_m * exp(lr * (2 * reward - 1) * (v_m - mean(v)))

followed by the **guard**: the Euclidean projection onto ``{min_weight <= w_m <= max_weight,
sum w = 1}``, so no streak of updates can push a weight out of bounds. ``snapshot``/``restore``
give an operator rollback, ``reset`` returns to the offline weights, and the whole state is
JSON (:meth:`to_json` / :meth:`from_json`). Pure numpy, deterministic for a seed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


class BlendBandit:
    """Per-bucket blend weights adapted from feedback; see the module docstring.

    Parameters
    ----------
    members : sequence of str
        Member names, in the hybrid's order.
    prior : mapping of str to sequence of float
        The offline weights per bucket (e.g. ``HybridRecommender.weights_by_bucket()`` values).
    min_weight, max_weight : float
        The guard's bounds for every member's weight.
    learning_rate : float
        Step size of the exponentiated-gradient update.
    explore : float
        Probability that :meth:`sample` perturbs the weights.
    concentration : float
        Dirichlet concentration of the perturbation (higher: closer to the weights).
    seed : int
        Seed of the exploration.
    """

    def __init__(
        self,
        members: Sequence[str],
        prior: Mapping[str, Sequence[float]],
        *,
        min_weight: float = 0.02,
        max_weight: float = 0.8,
        learning_rate: float = 0.1,
        explore: float = 0.1,
        concentration: float = 50.0,
        seed: int = 7,
    ) -> None:
        self.members = list(members)
        k = len(self.members)
        if k == 0:
            raise ValueError("bandit: no members")
        if not 0.0 <= min_weight <= 1.0 / k <= max_weight <= 1.0:
            raise ValueError(
                f"bandit: bounds [{min_weight}, {max_weight}] leave no weights summing to 1 "
                f"over {k} members"
            )
        self.min_weight = min_weight
        self.max_weight = max_weight
        self.learning_rate = learning_rate
        self.explore = explore
        self.concentration = concentration
        self.seed = seed
        self.prior = {b: self._guard(np.asarray(w, np.float64)) for b, w in prior.items()}
        self._weights: dict[str, np.ndarray] = {}
        self._updates: dict[str, int] = {}
        self._rng = np.random.default_rng(seed)

    # ---- serving -----------------------------------------------------------------------------
    def weights(self, bucket: str) -> dict[str, float]:
        """The current weights of ``bucket`` (an unknown bucket starts from equal weights)."""
        return dict(zip(self.members, self._current(bucket).tolist(), strict=True))

    def sample(self, bucket: str) -> dict[str, float]:
        """Weights to serve one request: the current ones, or an exploratory perturbation."""
        w = self._current(bucket)
        if self._rng.random() < self.explore:
            w = self._guard(self._rng.dirichlet(self.concentration * w + 1e-3))
        return dict(zip(self.members, w.tolist(), strict=True))

    # ---- learning ----------------------------------------------------------------------------
    def update(self, bucket: str, parts: Mapping[str, float], reward: float) -> dict[str, float]:
        """One feedback event on an item whose member scores were ``parts``; returns new weights.

        ``parts`` are the members' normalised scores of the item (the hybrid's ``parts`` divided
        by the weights, or the parts themselves: only their differences matter); ``reward`` is
        in [0, 1].
        """
        if not 0.0 <= reward <= 1.0:
            raise ValueError(f"bandit: reward must be in [0, 1], got {reward}")
        v = np.array([float(parts.get(m, 0.0)) for m in self.members])
        if not np.isfinite(v).all():
            raise ValueError("bandit: parts must be finite")
        spread = v.std()
        credit = (v - v.mean()) / spread if spread > 0 else np.zeros_like(v)
        w = self._current(bucket) * np.exp(self.learning_rate * (2 * reward - 1) * credit)
        self._weights[bucket] = self._guard(w)
        self._updates[bucket] = self._updates.get(bucket, 0) + 1
        return self.weights(bucket)

    # ---- operator controls -------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of the whole state (weights, counts, exploration RNG)."""
        return json.loads(self.to_json())  # type: ignore[no-any-return]

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Return exactly to a :meth:`snapshot` (the rollback)."""
        if list(snapshot["members"]) != self.members:
            raise ValueError("bandit: the snapshot is for other members")
        self._weights = {b: np.asarray(w, np.float64) for b, w in snapshot["weights"].items()}
        self._updates = {b: int(c) for b, c in snapshot["updates"].items()}
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = snapshot["rng"]

    def reset(self, bucket: str | None = None) -> None:
        """Back to the offline weights (one bucket, or all and the exploration seed)."""
        if bucket is not None:
            self._weights.pop(bucket, None)
            self._updates.pop(bucket, None)
            return
        self._weights = {}
        self._updates = {}
        self._rng = np.random.default_rng(self.seed)

    def updates(self, bucket: str) -> int:
        return self._updates.get(bucket, 0)

    # ---- serialisation -----------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {
                "members": self.members,
                "config": {
                    "min_weight": self.min_weight,
                    "max_weight": self.max_weight,
                    "learning_rate": self.learning_rate,
                    "explore": self.explore,
                    "concentration": self.concentration,
                    "seed": self.seed,
                },
                "prior": {b: w.tolist() for b, w in self.prior.items()},
                "weights": {b: w.tolist() for b, w in self._weights.items()},
                "updates": self._updates,
                "rng": self._rng.bit_generator.state,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> BlendBandit:
        state = json.loads(text)
        bandit = cls(state["members"], state["prior"], **state["config"])
        bandit.restore(state)
        return bandit

    # ---- internals ---------------------------------------------------------------------------
    def _current(self, bucket: str) -> np.ndarray:
        if bucket in self._weights:
            return self._weights[bucket]
        base = bucket.split("|", 1)[0]  # "h>30|group" starts from "h>30"'s prior
        prior = self.prior.get(bucket, self.prior.get(base))
        if prior is None:
            prior = self._guard(np.full(len(self.members), 1.0 / len(self.members)))
        return prior.copy()

    def _guard(self, w: np.ndarray) -> np.ndarray:
        """Euclidean projection onto ``{min <= w <= max, sum(w) = 1}`` (bisection on the shift)."""
        w = np.nan_to_num(np.asarray(w, np.float64), nan=1.0 / len(self.members))
        if w.shape != (len(self.members),):
            raise ValueError(f"bandit: expected {len(self.members)} weights, got {w.shape}")
        inside = (w >= self.min_weight).all() and (w <= self.max_weight).all()
        if inside and abs(w.sum() - 1.0) < 1e-12:
            return w  # already feasible: the projection is the identity (keeps JSON exact)
        lo, hi = w.min() - self.max_weight, w.max() - self.min_weight
        for _ in range(100):
            tau = (lo + hi) / 2
            total = np.clip(w - tau, self.min_weight, self.max_weight).sum()
            lo, hi = (tau, hi) if total > 1 else (lo, tau)
        out: np.ndarray = np.clip(w - (lo + hi) / 2, self.min_weight, self.max_weight)
        normalised: np.ndarray = out / out.sum()
        return normalised  # division removes the bisection's last rounding error


def bucket_key(bucket_label: str, group_size: int = 1) -> str:
    """The bandit's context key: the history bucket, split by solo vs group listening."""
    return bucket_label if group_size <= 1 else f"{bucket_label}|group"

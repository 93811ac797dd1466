"""The group recommender: taste text through BERT, AGREE-style layers over members' NCF.

``GroupRecommender`` is a :class:`~ml.base.BaseRecommender` (a single listener is a group of
one, so the store, the registry, ``manage.py train group`` and the contract test all work) with
the group API on top:

* :meth:`GroupRecommender.recommend_group` ranks items for members given by raw id or by
  history, under the learned policy or any of :data:`ml.group.policies.POLICIES`, with the
  room's history of what already played (excluded, and feeding the fairness ledger);
* :meth:`GroupRecommender.compatibility` / :meth:`GroupRecommender.compatibility_group`
  score listeners 0-100 with readable reasons.

Fitting (see :mod:`ml.group.training`): each listener's items are split into a given part and
a hidden target; a member NCF is fitted on the given parts; the group layers and the encoder's
top layer learn, on real friend groups, to rank the members' hidden items first. The member
NCF is then refitted on all items for serving (``refit_ncf``; without it the first NCF folds
members in from their whole history, one forward pass each).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender, ModelFitError, ModelLoadError
from ml.data.interactions import Interactions, split_items_per_user
from ml.group import policies
from ml.group.compatibility import (
    Compatibility,
    fit_head,
    pair_similarities,
    reasons,
    shares_hidden_item,
    training_pairs,
)
from ml.group.config import DEFAULT_NCF, GroupConfig
from ml.group.groups import Group, friend_groups, random_groups, sample_groups
from ml.group.text import Vocabulary, taste_texts
from ml.group.training import (
    Context,
    EpochLog,
    Examples,
    Preferences,
    View,
    candidate_columns,
    halves,
    make_examples,
    split_groups_for_validation,
)

NCF_FOLDER = "ncf"
LOG_FILE = "training.json"
#: Items outside the learned candidates rank below every candidate, by average preference.
_BELOW = 1.0
MemberSpec = Any  # a raw user id the model knows, or a ``{item_id: weight}`` history


@dataclass(frozen=True)
class Members:
    """What the group layers need about each member, one row each."""

    ids: tuple[Any, ...]
    rows: np.ndarray  # user rows of known listeners, -1 for a history the model never saw
    history: sp.csr_matrix
    preferences: np.ndarray
    text: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: Sequence[int] | np.ndarray) -> Members:
        rows = np.asarray(rows, dtype=np.int64)
        return Members(
            tuple(self.ids[r] for r in rows.tolist()),
            self.rows[rows],
            self.history[rows],
            self.preferences[rows],
            self.text[rows],
        )


@dataclass(frozen=True)
class GroupRecommendation:
    """A group's list: items best first, their scores, and what each member contributes.

    ``member_weights`` is ``members x items``: the learned attention of each member for each
    item, or under a fixed policy each member's standardised preference for it.
    ``satisfaction`` is each member's fairness ledger before this list (what already played).
    """

    item_ids: np.ndarray
    scores: np.ndarray
    policy: str
    member_ids: tuple[Any, ...]
    member_weights: np.ndarray
    satisfaction: np.ndarray


class GroupRecommender(BaseRecommender):
    """Group dynamics model; see the module docstring and :class:`GroupConfig`."""

    model_type = "group"

    def __init__(
        self,
        *,
        encoder: str = "minilm",
        trainable_layers: int = 1,
        max_length: int = 48,
        text_tags: int = 8,
        text_artists: int = 6,
        dim: int = 64,
        attention_dim: int = 32,
        candidates: int = 50,
        epochs: int = 8,
        batch_size: int = 64,
        learning_rate: float = 3e-3,
        layer_learning_rate: float = 3e-4,
        encoder_learning_rate: float = 1e-5,
        weight_decay: float = 1e-3,
        target_fraction: float = 0.2,
        max_groups: int = 4000,
        refit_ncf: bool = True,
        ncf: dict[str, Any] | None = None,
        seed: int = 7,
    ) -> None:
        self.encoder = encoder
        self.trainable_layers = trainable_layers
        self.max_length = max_length
        self.text_tags = text_tags
        self.text_artists = text_artists
        self.dim = dim
        self.attention_dim = attention_dim
        self.candidates = candidates
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.layer_learning_rate = layer_learning_rate
        self.encoder_learning_rate = encoder_learning_rate
        self.weight_decay = weight_decay
        self.target_fraction = target_fraction
        self.max_groups = max_groups
        self.refit_ncf = refit_ncf
        self.ncf = ncf
        self.seed = seed
        #: Called after every epoch of the group layers (progress bars); not a hyperparameter.
        self.on_epoch: Any = None

    @classmethod
    def tiny(cls, **params: Any) -> Self:
        return cls(**{**GroupConfig.tiny().to_dict(), **params})

    @classmethod
    def from_config(cls, config: GroupConfig) -> Self:
        return cls(**config.to_dict())

    @property
    def config(self) -> GroupConfig:
        params = self.get_params()
        params["ncf"] = dict(DEFAULT_NCF if self.ncf is None else self.ncf)
        return GroupConfig.from_dict(params)

    # ---- training --------------------------------------------------------------------------
    def fit(self, data: Interactions, *, groups: Sequence[Group] | None = None) -> Self:
        """Fit on ``data``; ``groups`` are the training groups (default: its friend graph's)."""
        self._training_groups = groups
        try:
            return super().fit(data)
        finally:
            del self._training_groups

    def _fit(self, data: Interactions) -> None:
        import torch

        from ml.group.encoder import load_encoder
        from ml.group.modeling import CompatibilityHead, GroupLayers
        from ml.group.training import train
        from ml.user_pref.estimator import NCFRecommender

        config = self.config
        torch.manual_seed(config.seed)
        full = data.with_matrix(self.train_matrix_)
        given, target = split_items_per_user(
            full, test_fraction=config.target_fraction, seed=config.seed
        )
        self.ncf_ = NCFRecommender(**{**config.ncf, "seed": config.seed}).fit(given)
        self.vocabulary_ = Vocabulary.from_interactions(data, data.item_features)
        self.encoder_ = load_encoder(
            config.encoder,
            trainable_layers=config.trainable_layers,
            max_length=config.max_length,
            seed=config.seed,
        )
        self.friend_rows_ = self._friend_rows(data)
        examples, views = self._examples(data, given.matrix, target.matrix)
        features = torch.from_numpy(self._item_features())
        self.layers_ = GroupLayers(config, features.shape[1], self.encoder_.hidden_size)
        self.training_log_: list[EpochLog] = train(
            config, self.layers_, self.encoder_, examples, views, features, on_epoch=self.on_epoch
        )
        self.layers_.eval()
        del views
        self.user_text_ = self.encoder_.encode(self._texts(self.train_matrix_)).numpy()
        self.compatibility_ = CompatibilityHead()
        self._fit_compatibility(examples.all, given.matrix, target.matrix)
        if config.refit_ncf:  # serve from an NCF that has seen every training item
            self.ncf_ = NCFRecommender(**{**config.ncf, "seed": config.seed}).fit(full)

    def _view(self, history: sp.csr_matrix) -> View:
        return View(
            preferences=Preferences.from_logits(self.ncf_._scores_from_history(history)),
            lowered=self.encoder_.lower(self._texts(history)),
            context=Context.build(history, self.friend_rows_),
        )

    def _examples(
        self, data: Interactions, given: sp.csr_matrix, target: sp.csr_matrix
    ) -> tuple[Examples, tuple[View, View | None]]:
        """Training and validation examples and their views (see :mod:`ml.group.training`)."""
        groups = self._group_rows(data)
        view = self._view(given)
        nothing = sp.csr_matrix(target.shape, dtype=np.float32)
        if not make_examples(groups[:100], view, given, nothing, target, self.candidates):
            groups = self._group_rows(data, stand_in=True)
        fit_groups, valid_groups = split_groups_for_validation(groups, self.seed)
        if not valid_groups:
            fit = make_examples(fit_groups, view, given, nothing, target, self.candidates)
            examples, valid_view = Examples(fit, []), None
        else:
            learn, check = halves(target, self.seed)
            valid_history = sp.csr_matrix(given + learn)
            valid_view = self._view(valid_history)
            examples = Examples(
                fit=make_examples(fit_groups, view, given, check, learn, self.candidates),
                valid=make_examples(
                    valid_groups, valid_view, valid_history, learn, check, self.candidates
                ),
            )
        if not examples.fit:
            raise ModelFitError("group: no training group has a hidden item among its candidates")
        return examples, (view, valid_view)

    def _texts(self, histories: sp.csr_matrix) -> list[str]:
        return taste_texts(
            histories, self.vocabulary_, n_tags=self.text_tags, n_artists=self.text_artists
        )

    def _item_features(self) -> np.ndarray:
        return np.asarray(self.ncf_.item_features_.toarray(), dtype=np.float32)

    def _friend_rows(self, data: Interactions) -> np.ndarray:
        pairs = [
            (self.user_index_[a], self.user_index_[b])
            for a, b in np.asarray(data.friends if data.friends is not None else [])
            .reshape(-1, 2)
            .tolist()
            if a in self.user_index_ and b in self.user_index_ and a != b
        ]
        return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)

    def _context(self) -> Context:
        cached: Context | None = getattr(self, "_context_cache", None)
        if cached is None:
            cached = Context.build(self.train_matrix_, self.friend_rows_)
            self._context_cache = cached
        return cached

    def _group_rows(self, data: Interactions, *, stand_in: bool = False) -> list[np.ndarray]:
        """User rows of the training groups: given, else the friend graph's, else random ones.

        Seeded random groups stand in when there is no friend graph (a CSV) or when its groups
        teach nothing (``stand_in``: every hidden item is in another member's history).
        """
        groups = self._training_groups
        if groups is None and not stand_in:
            groups = friend_groups(data.friends, data.user_ids, seed=self.seed)
        if not groups:
            groups = random_groups(data.user_ids, max(50, data.n_users), seed=self.seed)
        rows = []
        for group in sample_groups(list(groups), self.max_groups, seed=self.seed):
            found = [self.user_index_.get(u) for u in group.members]
            known = sorted({r for r in found if r is not None})
            if len(known) >= 2:
                rows.append(np.asarray(known, dtype=np.int64))
        return rows

    def _fit_compatibility(
        self,
        examples: Sequence[Any],
        given: sp.csr_matrix,
        target: sp.csr_matrix,
    ) -> None:
        """Fit the monotone head: will the pair like a hidden artist in common?"""
        pairs, n_friends = training_pairs(
            [e.rows for e in examples], len(self.user_ids_), seed=self.seed
        )
        taste = self._taste_vectors(self.encoder_.encode(self._texts(given)).numpy())
        logits = self.ncf_._scores_from_history(given)
        x = pair_similarities(given, taste, logits, self.vocabulary_, pairs)
        fit_head(self.compatibility_, x, shares_hidden_item(target, pairs), n_friends)

    def _taste_vectors(self, text: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            out = self.layers_.member_vectors(torch.from_numpy(np.asarray(text, np.float32)))
        return np.asarray(out.numpy())

    # ---- members and scoring ---------------------------------------------------------------
    def members(self, specs: Sequence[MemberSpec] | sp.spmatrix) -> Members:
        """Members from raw ids (known listeners), ``{item_id: weight}`` histories or rows."""
        self._require_fitted()
        if sp.issparse(specs):
            history = sp.csr_matrix(specs, dtype=np.float32)
            if history.shape[1] != self.n_items:
                raise ValueError(
                    f"history has {history.shape[1]} item columns, the model has {self.n_items}"
                )
            ids: tuple[Any, ...] = (None,) * history.shape[0]
            return self._members(ids, history, [None] * history.shape[0])
        specs = list(specs)
        if not specs:
            raise ValueError("a group needs at least one member")
        rows: list[int | None] = []
        histories: list[sp.csr_matrix] = []
        for spec in specs:
            if isinstance(spec, dict):
                rows.append(None)
                histories.append(self.history_matrix([spec]))
            else:
                row = int(self.user_rows([spec])[0])
                rows.append(row)
                histories.append(self.train_matrix_[row])
        ids = tuple(None if isinstance(s, dict) else s for s in specs)
        return self._members(ids, sp.vstack(histories).tocsr(), rows)

    def _members(
        self, ids: tuple[Any, ...], history: sp.csr_matrix, rows: list[int | None]
    ) -> Members:
        text = np.zeros((len(rows), self.user_text_.shape[1]), dtype=np.float32)
        new = [k for k, r in enumerate(rows) if r is None]
        for k, r in enumerate(rows):
            if r is not None:
                text[k] = self.user_text_[r]
        if new:
            text[new] = self.encoder_.encode(self._texts(history[new])).numpy()
        preferences = self.ncf_._scores_from_history(history)
        user_rows = np.asarray([-1 if r is None else r for r in rows], dtype=np.int64)
        return Members(ids, user_rows, history, preferences, text)

    def learned_scores(
        self, members: Members, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The learned group score of every item (finite) and members' attention weights.

        Candidates are the union of the members' top items outside ``excluded``; every other
        item scores below all of them, ordered by the members' average standardised preference.
        """
        import torch

        prefs = Preferences.from_logits(members.preferences)
        rows = np.arange(len(members))
        cands = candidate_columns(prefs.logits, excluded, self.candidates)
        z = (prefs.logits - prefs.mean[:, None]) / prefs.std[:, None]
        scores = z.mean(axis=0).astype(np.float64)
        weights = np.zeros((len(members), self.n_items), dtype=np.float32)
        if len(cands) == 0:
            return scores, weights
        with torch.no_grad():
            out = self.layers_(
                torch.from_numpy(members.text[None]),
                torch.ones(1, len(members), dtype=torch.bool),
                torch.from_numpy(self._item_features_dense()[cands][None]),
                torch.from_numpy(prefs.features(rows, cands)[None]),
                torch.from_numpy(self._context().features(members.rows, cands)[None]),
            )
        learned = out.scores[0].numpy().astype(np.float64)
        floor = learned.min() - _BELOW - (scores.max() - scores.min())
        scores = scores - scores.max() + floor
        scores[cands] = learned
        weights[:, cands] = out.weights[0].numpy()
        return scores, weights

    def _item_features_dense(self) -> np.ndarray:
        cached: np.ndarray | None = getattr(self, "_features_cache", None)
        if cached is None:
            cached = self._item_features()
            self._features_cache = cached
        return cached

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        return self._singletons(self.members(history))

    def _scores_for_users(self, rows: np.ndarray) -> np.ndarray:
        return self._singletons(self.members(self.user_ids_[rows].tolist()))

    def _singletons(self, members: Members) -> np.ndarray:
        out = np.empty((len(members), self.n_items), dtype=np.float32)
        for k in range(len(members)):
            one = members.take([k])
            excluded = np.zeros(self.n_items, dtype=bool)
            excluded[one.history.indices] = True
            out[k] = self.learned_scores(one, excluded)[0]
        return out

    # ---- the group API ---------------------------------------------------------------------
    def recommend_group(
        self,
        members: Sequence[MemberSpec] | sp.spmatrix | Members,
        n: int = 10,
        *,
        policy: str = policies.LEARNED,
        history: Sequence[Any] = (),
        satisfaction: Sequence[float] | None = None,
        exclude_seen: bool = True,
        candidates: Sequence[Any] | np.ndarray | None = None,
        threshold: float = policies.MISERY_THRESHOLD,
    ) -> GroupRecommendation:
        """Top-``n`` items for a group under ``policy`` (``"learned"`` or a fixed policy).

        ``history`` is the room's played item ids, oldest first: never recommended again, and
        the fairness ledger (``satisfaction``, one value per member, overrides that ledger).
        ``exclude_seen`` leaves out what any member already played.
        """
        state = members if isinstance(members, Members) else self.members(members)
        played = np.asarray(
            [self.item_index_[i] for i in history if i in self.item_index_], dtype=np.int64
        )
        excluded = np.zeros(self.n_items, dtype=bool)
        excluded[played] = True
        if exclude_seen:
            excluded[state.history.indices] = True
        if candidates is not None:
            allowed = np.zeros(self.n_items, dtype=bool)
            allowed[self.item_columns(candidates)] = True
            excluded |= ~allowed
        return self._rank(
            state, n, policies.policy_name(policy), played, excluded, threshold, satisfaction
        )

    recommend_for_group = recommend_group

    def _rank(
        self,
        state: Members,
        n: int,
        policy: str,
        played: np.ndarray,
        excluded: np.ndarray,
        threshold: float,
        satisfaction: Sequence[float] | None = None,
    ) -> GroupRecommendation:
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if policy == policies.LEARNED:
            scores, weights = self.learned_scores(state, excluded)
            scores = np.where(excluded, -np.inf, scores)
            cols = policies.top_columns(scores, n)
            ledger = (
                policies.member_satisfaction(state.preferences, played)
                if satisfaction is None
                else np.asarray(satisfaction, dtype=np.float64)
            )
            ranking = policies.Ranking(cols, scores[cols], ledger)
            contributions = weights[:, cols]
        else:
            ranking = policies.rank(
                state.preferences, policy, n, excluded=excluded, played=played,
                satisfaction=satisfaction, threshold=threshold,
            )  # fmt: skip
            contributions = policies.standardise(state.preferences)[:, ranking.columns]
        return GroupRecommendation(
            item_ids=self.item_ids_[ranking.columns],
            scores=np.asarray(ranking.scores, dtype=np.float32),
            policy=policy,
            member_ids=state.ids,
            member_weights=np.asarray(contributions, dtype=np.float32),
            satisfaction=ranking.satisfaction,
        )

    # ---- compatibility ---------------------------------------------------------------------
    def compatibility(
        self, user_a: MemberSpec, user_b: MemberSpec, *, names: tuple[str, str] | None = None
    ) -> Compatibility:
        """How well two listeners' tastes fit, 0-100, with reasons (raw ids or histories)."""
        state = self.members([user_a, user_b])
        return self._pair(state, 0, 1, names or (_label(user_a, "A"), _label(user_b, "B")))

    def compatibility_group(
        self,
        user: MemberSpec,
        members: Sequence[MemberSpec],
        *,
        names: Sequence[str] | None = None,
    ) -> Compatibility:
        """How well ``user`` fits a group: the mean of the pairwise scores, with reasons."""
        if not members:
            raise ValueError("compatibility_group needs at least one member")
        state = self.members([user, *members])
        labels = (
            list(names)
            if names
            else [_label(s, f"member {k}") for k, s in enumerate([user, *members])]
        )
        pairs = [self._pair(state, 0, k, (labels[0], labels[k])) for k in range(1, len(state))]
        scores = [p.score for p in pairs]
        best, worst = int(np.argmax(scores)), int(np.argmin(scores))
        score = round(float(np.mean(scores)))
        text = [f"Group match {score}/100 across {len(pairs)} member(s)."]
        if scores[best] != scores[worst]:
            text.append(
                f"Closest to {labels[best + 1]} ({scores[best]}), furthest from "
                f"{labels[worst + 1]} ({scores[worst]})."
            )
        counts: dict[str, int] = {}
        for p in pairs:
            for artist in p.shared_artists:
                counts[artist] = counts.get(artist, 0) + 1
        common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        if common:
            text.append(
                "Shared with the group: "
                + ", ".join(f"{a} ({c} of {len(pairs)})" for a, c in common)
                + "."
            )
        disagreement = pairs[worst].disagreement
        if disagreement:
            text.append(disagreement)
        similarities = {
            k: float(np.mean([p.similarities[k] for p in pairs])) for k in pairs[0].similarities
        }
        return replace(
            pairs[best], score=score, reasons=text, similarities=similarities,
            shared_artists=[a for a, _ in common], disagreement=disagreement,
        )  # fmt: skip

    def _pair(self, state: Members, a: int, b: int, names: tuple[str, str]) -> Compatibility:
        import torch

        from ml.group.compatibility import FEATURES

        taste = self._taste_vectors(state.text)
        x = pair_similarities(
            state.history, taste, state.preferences, self.vocabulary_, np.array([[a, b]])
        )
        with torch.no_grad():
            head = self.compatibility_
            score = round(float(head.percentile(head(torch.from_numpy(x)))[0]))
        result = reasons(
            state.history[a], state.history[b], self.vocabulary_, names=names, score=score
        )
        return replace(result, similarities=dict(zip(FEATURES, x[0].tolist(), strict=True)))

    # ---- persistence -----------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "layers_"):
            return {}
        arrays: dict[str, np.ndarray] = {
            "user_text": self.user_text_,
            "friend_rows": self.friend_rows_,
        }
        arrays |= {f"vocab__{k}": v for k, v in self.vocabulary_.state().items()}
        for prefix, module_state in (
            ("layers__", self.layers_.state_dict()),
            ("compat__", self.compatibility_.state_dict()),
            ("encoder__", self.encoder_.trainable_state()),
        ):
            arrays |= {prefix + k: t.detach().numpy() for k, t in module_state.items()}
        return arrays

    def _save_extra(self, folder: Path) -> None:
        self.ncf_.save(folder / NCF_FOLDER)
        log = [entry.__dict__ for entry in getattr(self, "training_log_", [])]
        (folder / LOG_FILE).write_text(json.dumps(log, indent=1))

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        import torch

        from ml.group.encoder import load_encoder
        from ml.group.modeling import CompatibilityHead, GroupLayers
        from ml.user_pref.estimator import NCFRecommender

        def part(prefix: str) -> dict[str, Any]:
            return {
                k.removeprefix(prefix): torch.from_numpy(v.copy())
                for k, v in arrays.items()
                if k.startswith(prefix)
            }

        config = self.config
        try:
            self.ncf_ = NCFRecommender.load(folder / NCF_FOLDER)
            self.vocabulary_ = Vocabulary.from_state(
                {k.removeprefix("vocab__"): v for k, v in arrays.items() if k.startswith("vocab__")}
            )
            self.user_text_ = arrays["user_text"].astype(np.float32)
            self.friend_rows_ = arrays["friend_rows"].astype(np.int64).reshape(-1, 2)
            self.encoder_ = load_encoder(
                config.encoder, trainable_layers=config.trainable_layers,
                max_length=config.max_length, seed=config.seed,
            )  # fmt: skip
            named = dict(self.encoder_.bert.named_parameters())
            with torch.no_grad():
                for name, value in part("encoder__").items():
                    named[name].copy_(value)
            n_features = self.ncf_.item_features_.shape[1]
            self.layers_ = GroupLayers(config, n_features, self.encoder_.hidden_size)
            self.layers_.load_state_dict(part("layers__"))
            self.compatibility_ = CompatibilityHead()
            self.compatibility_.load_state_dict(part("compat__"))
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ModelLoadError(
                f"{folder}: group model does not match its config ({exc})"
            ) from None
        self.layers_.eval()
        self.compatibility_.eval()
        log = folder / LOG_FILE
        if log.exists():
            self.training_log_ = [EpochLog(**e) for e in json.loads(log.read_text())]


def _label(spec: MemberSpec, fallback: str) -> str:
    return fallback if isinstance(spec, dict) else f"user {spec}"

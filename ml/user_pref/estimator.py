"""The user-preference recommender: NeuMF trained with a multinomial ranking loss.

Training follows the denoising-autoencoder recipe (Liang et al. 2018): each step hides a random
half of a user's history and asks the model to rank all of that user's items over the whole
catalogue. Early stopping watches NDCG@10 on a seeded validation split of every user's items.
Because the user side is encoded from the history, fold-in of a new user or of fresh feedback is
one forward pass (no optimisation), well under the 50 ms budget.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender, ModelFitError, ModelLoadError
from ml.data.interactions import Interactions, split_items_per_user
from ml.user_pref.config import NCFConfig

WEIGHTS_FILE = "weights.pt"
HISTORY_FILE = "training.json"
SCORE_BATCH = 64


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    loss: float
    validation_ndcg: float
    seconds: float


def normalise_rows(matrix: sp.csr_matrix, weighting: str = "log1p") -> sp.csr_matrix:
    """log1p (or binarised) weights, then unit L2 norm per row (play counts are heavily skewed)."""
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if weighting == "binary":
        out.data = (out.data > 0).astype(np.float32)
    else:
        out.data = np.log1p(np.maximum(out.data, 0.0))
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ out, dtype=np.float32)


def refit_epochs(log: list[EpochLog], tolerance: float) -> int:
    """The last epoch whose validation NDCG is within ``tolerance`` (relative) of the best.

    The validation curve is flat near its top (a few items per user make it noisy), and the
    refit sees every item, so the longest training that validation cannot tell from the best is
    the safer choice (in the spirit of the one-standard-error rule).
    """
    best = max(e.validation_ndcg for e in log)
    return max(e.epoch for e in log if e.validation_ndcg >= (1.0 - tolerance) * best)


class NCFRecommender(BaseRecommender):
    """Neural collaborative filtering (NeuMF) over user histories; see the module docstring."""

    model_type = "ncf"

    def __init__(
        self,
        *,
        embedding_dim: int = 512,
        mlp_dim: int = 32,
        mlp_hidden: tuple[int, ...] | list[int] = (16,),
        max_features: int = 1000,
        refit: bool = True,
        epoch_tolerance: float = 0.01,
        input_weighting: str = "log1p",
        tie_embeddings: bool = False,
        input_dropout: float = 0.5,
        dropout: float = 0.5,
        epochs: int = 40,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        patience: int = 5,
        validation_fraction: float = 0.1,
        seed: int = 7,
    ) -> None:
        self.embedding_dim = embedding_dim
        self.mlp_dim = mlp_dim
        self.mlp_hidden = mlp_hidden
        self.max_features = max_features
        self.refit = refit
        self.epoch_tolerance = epoch_tolerance
        self.input_weighting = input_weighting
        self.tie_embeddings = tie_embeddings
        self.input_dropout = input_dropout
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed
        #: Called after every epoch with its log (progress bars); not a hyperparameter.
        self.on_epoch: Callable[[EpochLog], None] | None = None

    @classmethod
    def tiny(cls, **params: Any) -> Self:
        return cls(**{**NCFConfig.tiny().to_dict(), **params})

    @classmethod
    def from_config(cls, config: NCFConfig) -> Self:
        return cls(**config.to_dict())

    @property
    def config(self) -> NCFConfig:
        return NCFConfig.from_dict(
            {k: v for k, v in self.get_params().items() if k in NCFConfig.__dataclass_fields__}
        )

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params["mlp_hidden"] = list(params["mlp_hidden"])
        return params

    # ---- training --------------------------------------------------------------------------
    def _fit(self, data: Interactions) -> None:
        import torch

        from ml.user_pref.modeling import NeuMF

        config = self.config
        self._set_item_features(data)
        n_features = self.item_features_.shape[1]
        self._item_cache: tuple[Any, ...] | None = None
        self._numpy_cache: dict[str, np.ndarray] | None = None
        if config.validation_fraction == 0:
            torch.manual_seed(config.seed)
            self.network_ = NeuMF(config, self.n_items, n_features)
            self.training_log_ = self._train(self.network_, self.train_matrix_, None, config)
            return
        # Phase 1: early stopping picks the number of epochs on a validation split of each
        # user's items. Phase 2 (refit): the same seed, all items, that many epochs.
        fit_part, valid_part = split_items_per_user(
            data.with_matrix(self.train_matrix_),
            test_fraction=config.validation_fraction,
            seed=config.seed,
        )
        torch.manual_seed(config.seed)
        self.network_ = NeuMF(config, self.n_items, n_features)
        log = self._train(self.network_, fit_part.matrix, valid_part.matrix, config)
        self.training_log_ = log
        if not config.refit:
            return
        best = refit_epochs(log, self.epoch_tolerance)
        torch.manual_seed(config.seed)
        self.network_ = NeuMF(config, self.n_items, n_features)
        refit = replace(config, epochs=best, validation_fraction=0.0)
        self._train(self.network_, self.train_matrix_, None, refit)
        self._item_cache = None
        self._numpy_cache = None

    def _set_item_features(self, data: Interactions) -> None:
        """Keep the most common tags as item side features (tf-idf style, unit rows)."""
        features = data.item_features
        if features is None or features.shape[1] == 0 or self.max_features == 0:
            # One all-zero column keeps the network's shapes valid without side features.
            self.feature_columns_ = np.zeros(0, dtype=np.int64)
            self.item_features_ = sp.csr_matrix((self.n_items, 1), dtype=np.float32)
            return
        counts = np.asarray((features > 0).sum(axis=0)).ravel()
        columns = np.sort(np.argsort(-counts, kind="stable")[: self.max_features])
        self.feature_columns_ = columns.astype(np.int64)
        self.item_features_ = normalise_rows(sp.csr_matrix(features[:, columns]))

    def _train(
        self,
        network: Any,
        inputs: sp.csr_matrix,
        held_out: sp.csr_matrix | None,
        config: NCFConfig,
    ) -> list[EpochLog]:
        import torch

        rng = np.random.default_rng(config.seed)
        optimizer = torch.optim.Adam(
            network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        item_features = self._dense(self.item_features_)
        users = np.flatnonzero(np.diff(inputs.indptr))
        best, best_state, stale, log = -np.inf, copy.deepcopy(network.state_dict()), 0, []
        for epoch in range(1, config.epochs + 1):
            start = time.perf_counter()
            network.train()
            losses = []
            for batch in np.array_split(
                rng.permutation(users), max(1, len(users) // config.batch_size)
            ):
                rows = inputs[batch]
                target = torch.from_numpy((rows > 0).toarray().astype(np.float32))
                corrupted = self._drop_items(rows, config.input_dropout, rng)
                x = normalise_rows(corrupted, config.input_weighting)
                logits = network(
                    self._dense(x), self._dense(self._history_features(x)), item_features
                )
                loss = -(torch.log_softmax(logits, dim=1) * target).sum(1).mean()
                if not torch.isfinite(loss):
                    raise ModelFitError(f"ncf: loss became {loss.item()} at epoch {epoch}")
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                losses.append(float(loss.item()))
            network.eval()
            ndcg = (
                self._validation_ndcg(inputs, held_out)
                if held_out is not None
                else -float(np.mean(losses))
            )
            entry = EpochLog(epoch, float(np.mean(losses)), ndcg, time.perf_counter() - start)
            log.append(entry)
            if self.on_epoch is not None:
                self.on_epoch(entry)
            if ndcg > best:
                best, best_state, stale = ndcg, copy.deepcopy(network.state_dict()), 0
            else:
                stale += 1
                if stale >= config.patience:
                    break
        network.load_state_dict(best_state)
        network.eval()
        return log

    @staticmethod
    def _drop_items(rows: sp.csr_matrix, rate: float, rng: np.random.Generator) -> sp.csr_matrix:
        if rate <= 0:
            return rows
        out = rows.copy()
        out.data = out.data * (rng.random(len(out.data)) >= rate)
        out.eliminate_zeros()
        return out

    def _validation_ndcg(
        self, inputs: sp.csr_matrix, held_out: sp.csr_matrix, k: int = 10
    ) -> float:
        """NDCG@k of the held-out items, ranking from the inputs (the evaluation's own metric)."""
        from ml.evaluation import accuracy_at_k

        users = np.flatnonzero(np.diff(held_out.indptr) > 0)
        if len(users) == 0:
            return 0.0
        self._item_cache = None
        self._numpy_cache = None
        ids, _ = self.recommend_from_history(inputs[users], n=k)
        self._item_cache = None
        self._numpy_cache = None
        cols = self.item_columns(ids.ravel()).reshape(ids.shape)
        return accuracy_at_k(cols, held_out[users], k)["ndcg"]

    # ---- scoring ---------------------------------------------------------------------------
    @staticmethod
    def _dense(matrix: sp.csr_matrix) -> Any:
        import torch

        return torch.from_numpy(np.asarray(matrix.toarray(), dtype=np.float32))

    def _history_features(self, normalised_history: sp.csr_matrix) -> sp.csr_matrix:
        return normalise_rows(sp.csr_matrix(normalised_history @ self.item_features_))

    def _item_vectors(self) -> tuple[Any, ...]:
        import torch

        if getattr(self, "_item_cache", None) is None:
            with torch.no_grad():
                features = self._dense(self.item_features_)
                gmf, mlp = self.network_.item_vectors(features)
                self._item_cache = (gmf, mlp, self.network_.item_bias.detach())
        assert self._item_cache is not None
        return self._item_cache

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        import torch

        item_gmf, item_mlp, item_bias = self._item_vectors()
        out = np.empty((history.shape[0], self.n_items), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, history.shape[0], SCORE_BATCH):
                x = normalise_rows(
                    sp.csr_matrix(history[start : start + SCORE_BATCH]), self.input_weighting
                )
                user_gmf, user_mlp = self.network_.encode_users(
                    self._dense(x), self._dense(self._history_features(x))
                )
                scores = self.network_.score_all(user_gmf, user_mlp, item_gmf, item_mlp, item_bias)
                out[start : start + SCORE_BATCH] = scores.numpy()
        return out

    def _numpy_weights(self) -> dict[str, np.ndarray]:
        """The network's serving weights as numpy arrays (item vectors precomputed), cached."""
        cached: dict[str, np.ndarray] | None = getattr(self, "_numpy_cache", None)
        if cached is not None:
            return cached
        import torch

        net = self.network_
        item_gmf, item_mlp, item_bias = self._item_vectors()
        encoder = net.item_gmf.weight if self.config.tie_embeddings else net.history_items

        def arr(t: Any) -> np.ndarray:
            return np.ascontiguousarray(t.detach().numpy(), dtype=np.float32)

        with torch.no_grad():
            cache = {
                "encoder": arr(encoder),
                "features": arr(net.history_features.weight.T),
                "user_bias": arr(net.user_bias),
                "user_mlp_w": arr(net.user_mlp.weight.T),
                "user_mlp_b": arr(net.user_mlp.bias),
                "item_gmf": arr(item_gmf * net.predict_gmf.weight[0][None, :]),
                "item_mlp_in": arr(net.mlp_item_in(item_mlp)),
                "item_bias": arr(item_bias),
                "mlp_user_in": arr(net.mlp_user_in.weight.T),
                "predict_mlp": arr(net.predict_mlp.weight[0]),
            }
            for k, layer in enumerate(net.mlp_layers):
                cache[f"layer{k}_w"] = arr(layer.weight.T)
                cache[f"layer{k}_b"] = arr(layer.bias)
        self._numpy_cache = cache
        return cache

    def user_vectors(self, history: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """GMF and MLP user vectors of history rows (numpy; sparse history, no dense row)."""
        self._require_fitted()
        w = self._numpy_weights()
        x = normalise_rows(sp.csr_matrix(history, dtype=np.float32), self.input_weighting)
        z = np.asarray(x @ w["encoder"], np.float32)
        z += np.asarray(self._history_features(x) @ w["features"], np.float32) + w["user_bias"]
        gmf = np.tanh(z)
        mlp = np.maximum(gmf @ w["user_mlp_w"] + w["user_mlp_b"], 0.0)
        return gmf, mlp

    def scores_for_columns(self, history: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        """The NeuMF logits of the candidate columns in numpy, one pass per request."""
        return self.scores_for_vectors(*self.user_vectors(history), columns)

    def scores_for_vectors(
        self, gmf: np.ndarray, mlp: np.ndarray, columns: np.ndarray
    ) -> np.ndarray:
        """The logits of ``columns`` for users given by :meth:`user_vectors` (kept per user)."""
        w = self._numpy_weights()
        columns = np.asarray(columns, np.int64)
        scores = gmf @ w["item_gmf"][columns].T
        hidden = np.maximum(
            (mlp @ w["mlp_user_in"])[:, None, :] + w["item_mlp_in"][columns][None, :, :], 0.0
        )
        k = 0
        while f"layer{k}_w" in w:
            hidden = np.maximum(hidden @ w[f"layer{k}_w"] + w[f"layer{k}_b"], 0.0)
            k += 1
        out: np.ndarray = (scores + hidden @ w["predict_mlp"] + w["item_bias"][columns]).astype(
            np.float32
        )
        return out

    # ---- persistence -----------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "network_"):
            return {}
        f = self.item_features_
        arrays = {
            "feature_columns": self.feature_columns_,
            "item_features_data": f.data,
            "item_features_indices": f.indices,
            "item_features_indptr": f.indptr,
            "item_features_shape": np.asarray(f.shape, dtype=np.int64),
        }
        for name, tensor in self.network_.state_dict().items():
            arrays[f"net__{name}"] = tensor.detach().numpy()
        return arrays

    def _save_extra(self, folder: Path) -> None:
        log = [entry.__dict__ for entry in getattr(self, "training_log_", [])]
        (folder / HISTORY_FILE).write_text(json.dumps(log, indent=1))

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        import torch

        from ml.user_pref.modeling import NeuMF

        try:
            shape = tuple(int(v) for v in arrays["item_features_shape"])
            self.feature_columns_ = arrays["feature_columns"]
            self.item_features_ = sp.csr_matrix(
                (
                    arrays["item_features_data"],
                    arrays["item_features_indices"],
                    arrays["item_features_indptr"],
                ),
                shape=shape,
            )
            network = NeuMF(self.config, self.n_items, shape[1])
            state = {
                k.removeprefix("net__"): torch.from_numpy(v.copy())
                for k, v in arrays.items()
                if k.startswith("net__")
            }
            network.load_state_dict(state)
        except (KeyError, RuntimeError, ValueError) as exc:
            raise ModelLoadError(f"{folder}: NCF weights do not match its config ({exc})") from None
        network.eval()
        self.network_ = network
        self._item_cache = None
        self._numpy_cache = None
        history = folder / HISTORY_FILE
        if history.exists():
            self.training_log_ = [EpochLog(**e) for e in json.loads(history.read_text())]

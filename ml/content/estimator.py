"""The content model: track embeddings, predicted genres and moods, similarity, cold start.

``ContentRecommender`` is one artifact holding everything the content side serves:

* the **track network** (:mod:`ml.content.network`) trained on the catalogue, and every
  catalogue track's embedding, so ``similar_tracks`` is a faiss look-up and a brand-new track is
  embedded by the same weights at once (:meth:`embed_tracks`, numpy only);
* the **genre classifier** and the **mood detector** (Keras) when their modules are present,
  applied to every catalogue track at fit time (serving reads the stored predictions);
* an **artist-level recommender** over the interaction set's items (the models' common
  contract), scoring artists for a listener from content only: Last.fm tag profiles (TF-IDF,
  cosine), the mean embedding of the artist's catalogue tracks (cosine), and a popularity prior.
  The three weights are tuned at fit time on a seeded split of the training *users*, separately
  for a short history (``cold_start_seeds`` artists: a new user's first picks) and a long one,
  and a request uses the pair that matches its history length.

Nothing here is collaborative: the only use of other listeners is the popularity prior and the
tags they gave artists (public metadata on Last.fm), so a new artist with tags and a new track
with audio features are recommendable without any retraining.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ml.base import BaseRecommender, ModelFitError
from ml.content.features import (
    DEFAULT_CATALOGUE,
    DEFAULT_MOODS,
    FEATURES,
    MoodSet,
    TrackTable,
    load_catalogue,
    load_moods,
)
from ml.content.index import Filters, Neighbour, VectorIndex
from ml.content.network import NetworkConfig, NetworkEpoch, TrackNetwork, train_network
from ml.data.interactions import ITEM_NAME_KEYS, Interactions, seed_split, split_users
from ml.evaluation import accuracy_at_k

MOOD_DIR = "mood_detector"
SHORT, LONG = 0, 1
#: candidate blend weights (tag, audio, popularity) tried at fit time
GRID_TAG = (0.0, 1.0)
GRID_AUDIO = (0.0, 0.25, 0.5, 1.0)
GRID_POP = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5)
TUNING_USERS = 400
ARTIST_TAG_DIMS = 64
#: below this many rows or tag columns the tag SVD is dense (ARPACK varied between runs)
DENSE_SVD_LIMIT = 500


def _unit_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m, dtype=np.float32)
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m, dtype=np.float32)


def _unit_dense(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: np.ndarray = (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return out


def tag_profiles(counts: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(unit TF-IDF rows, idf)`` from artist x tag counts (log-damped counts)."""
    counts = sp.csr_matrix(counts, dtype=np.float32)
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    idf = np.log((1.0 + counts.shape[0]) / (1.0 + df)).astype(np.float32) + 1.0
    tf = counts.copy()
    tf.data = np.log1p(tf.data)
    return _unit_rows(sp.csr_matrix(tf @ sp.diags(idf))), idf


class ContentRecommender(BaseRecommender):
    """Content-based recommender and track similarity (see the module docstring).

    Parameters
    ----------
    catalogue, moods : str
        CSV paths read when :meth:`set_sources` was not called (empty: the bundled data).
    embedding_dim, hidden, network_epochs : int
        Size and training length of the track network.
    weights : list of 6 floats or None
        Fixed blend weights ``[tag, audio, pop]`` for short then long histories; ``None`` tunes
        them at fit time.
    cold_start_seeds : int
        The history length treated as "short" (a new user's seed artists).
    classifiers : bool
        Fit the genre classifier and the mood detector too (off in some tests: Keras is slow
        to import).
    """

    model_type = "content"

    def __init__(
        self,
        *,
        catalogue: str = "",
        moods: str = "",
        embedding_dim: int = 32,
        hidden: int = 64,
        network_epochs: int = 30,
        weights: list[float] | None = None,
        cold_start_seeds: int = 3,
        classifiers: bool = True,
        tiny_classifiers: bool = False,
        seed: int = 7,
    ) -> None:
        self.catalogue = catalogue
        self.moods = moods
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.network_epochs = network_epochs
        self.weights = weights
        self.cold_start_seeds = cold_start_seeds
        self.classifiers = classifiers
        self.tiny_classifiers = tiny_classifiers
        self.seed = seed
        self.on_epoch: Callable[[NetworkEpoch], None] | None = None
        self.on_step: Callable[[str], None] | None = None
        self._sources: tuple[TrackTable, MoodSet | None] | None = None
        self._track_index: VectorIndex | None = None
        self._artist_index: VectorIndex | None = None

    @classmethod
    def tiny(cls, **params: Any) -> ContentRecommender:
        defaults: dict[str, Any] = {
            "embedding_dim": 8,
            "hidden": 16,
            "network_epochs": 2,
            "tiny_classifiers": True,
        }
        return cls(**{**defaults, **params})

    def set_sources(
        self, catalogue: TrackTable, moods: MoodSet | None = None
    ) -> ContentRecommender:
        """Train on these tables (the database's) instead of reading ``catalogue``/``moods``."""
        self._sources = (catalogue, moods)
        return self

    def _network_config(self) -> NetworkConfig:
        base = NetworkConfig()
        return NetworkConfig(
            hidden=self.hidden,
            genre_dim=max(4, self.embedding_dim // 2),
            embedding_dim=self.embedding_dim,
            epochs=self.network_epochs,
            batch_size=base.batch_size if self.hidden >= 32 else 64,
            seed=self.seed,
        )

    def _step(self, text: str) -> None:
        if self.on_step is not None:
            self.on_step(text)

    # ---- fitting -----------------------------------------------------------------------------
    def _read_sources(self) -> tuple[TrackTable, MoodSet | None]:
        if self._sources is not None:
            return self._sources
        table = load_catalogue(self.catalogue or DEFAULT_CATALOGUE)
        mood_path = Path(self.moods) if self.moods else DEFAULT_MOODS
        return table, (load_moods(mood_path) if mood_path.exists() else None)

    def _fit(self, data: Interactions) -> None:
        table, mood_set = self._read_sources()
        if len(table) < 2:
            raise ModelFitError("content: the catalogue has fewer than two tracks")
        self._step("track network")
        try:
            self.network_ = train_network(table, self._network_config(), on_epoch=self.on_epoch)
        except ValueError as exc:
            raise ModelFitError(f"content: {exc}") from None
        self.track_ids_ = table.track_ids.astype(str)
        self.track_names_ = table.names.astype(str)
        self.track_artists_ = table.artists.astype(str)
        self.track_artist_keys_ = table.artist_keys.astype(str)
        self.track_genres_ = table.genres.astype(str)
        self.track_subgenres_ = table.subgenres.astype(str)
        self.track_tempo_ = table.features[:, FEATURES.index("tempo")].astype(np.float32)
        self.track_popularity_ = table.features[:, FEATURES.index("popularity")].astype(np.float32)
        self.track_vectors_ = self.network_.embed(table.features, table.subgenres)
        self._fit_classifiers(table, mood_set)
        self._step("artist profiles")
        self._fit_artists(data)
        self._track_index = self._artist_index = None

    def _fit_classifiers(self, table: TrackTable, mood_set: MoodSet | None) -> None:
        """Predicted genre (network heads, or the genre classifier) and mood of every track."""
        genre_p, subgenre_p = self.network_.predict_genres(table.features)
        self.genre_classes_ = self.network_.genres
        self.subgenre_classes_ = self.network_.subgenres
        self.track_genre_proba_ = genre_p
        self.track_subgenre_proba_ = subgenre_p
        self.mood_classes_ = np.array([], dtype=str)
        self.track_mood_proba_ = np.zeros((len(table), 0), dtype=np.float32)
        self.mood_detector_: Any = None
        if not self.classifiers:
            return
        self._step("genre classifier")
        from ml.content.genre import GenreClassifier

        genre = GenreClassifier.tiny() if self.tiny_classifiers else GenreClassifier()
        known = table.genres != ""
        if len(np.unique(table.genres[known])) >= 2:
            genre.fit(table.features[known], table.genres[known], groups=table.artist_keys[known])
            self.genre_classifier_: Any = genre
            self.genre_classes_ = np.asarray(genre.classes_).astype(str)
            self.track_genre_proba_ = genre.predict_proba(table.features).astype(np.float32)
        if mood_set is not None and len(np.unique(mood_set.labels)) >= 2:
            self._step("mood detector (Keras)")
            from ml.content.mood import MoodDetector

            detector = MoodDetector.tiny() if self.tiny_classifiers else MoodDetector()
            detector.fit(mood_set.features, mood_set.labels)
            self.mood_detector_ = detector
            self.mood_classes_ = np.asarray(detector.classes_).astype(str)
            self.track_mood_proba_ = detector.predict_proba(table.features).astype(np.float32)

    def _fit_artists(self, data: Interactions) -> None:
        self.tag_ids_, self.item_tags_, self.idf_ = self._tag_matrix(data)
        self.item_audio_ = self._audio_matrix(data)
        users = np.asarray((data.matrix > 0).sum(axis=0)).ravel().astype(np.float32)
        self.item_pop_ = (np.log1p(users) / max(float(np.log1p(users).max()), 1e-9)).astype(
            np.float32
        )
        if self.weights is not None:
            if len(self.weights) != 6:
                raise ModelFitError("content: weights must be 6 numbers (short then long)")
            self.weights_ = np.asarray(self.weights, np.float32).reshape(2, 3)
        else:
            self._step("tune blend weights")
            self.weights_ = self._tune(data)

    @staticmethod
    def _tag_matrix(data: Interactions) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        if data.item_features is None or data.item_features.shape[1] == 0:
            empty = sp.csr_matrix((data.n_items, 1), dtype=np.float32)
            return np.zeros(1, dtype=np.int64), empty, np.ones(1, dtype=np.float32)
        tags, idf = tag_profiles(data.item_features)
        names = data.feature_names if data.feature_names is not None else np.arange(tags.shape[1])
        return np.asarray(names), tags, idf

    def _audio_matrix(self, data: Interactions) -> np.ndarray:
        """Each item's mean track embedding (unit), zero when the catalogue has no track of it."""
        keys = data.extras.get(ITEM_NAME_KEYS)
        out = np.zeros((data.n_items, self.track_vectors_.shape[1]), dtype=np.float32)
        if keys is None:
            return out
        codes, unique_keys = np.unique(self.track_artist_keys_, return_inverse=True)
        sums = np.zeros((len(codes), out.shape[1]), dtype=np.float32)
        np.add.at(sums, unique_keys, self.track_vectors_)
        row_of = {k: r for r, k in enumerate(codes.tolist())}
        for item, key in enumerate(np.asarray(keys).tolist()):
            r = row_of.get(key) if key else None
            if r is not None:
                out[item] = sums[r]
        return _unit_dense(out)

    def _tune(self, data: Interactions) -> np.ndarray:
        """Grid-search the blend on a seeded fifth of the training users (see the docstring)."""
        weights = np.array([[1.0, 0.5, 0.35], [1.0, 0.5, 0.2]], dtype=np.float32)
        if data.n_users < 10:
            return weights
        inner, valid = split_users(data, test_fraction=0.2, seed=self.seed)
        if valid.n_users > TUNING_USERS:
            rng = np.random.default_rng(self.seed)
            valid = valid.subset_users(
                np.sort(rng.choice(valid.n_users, TUNING_USERS, replace=False))
            )
        _, tags, _ = self._tag_matrix(inner)
        users = np.asarray((inner.matrix > 0).sum(axis=0)).ravel().astype(np.float32)
        pop = np.log1p(users) / max(float(np.log1p(users).max()), 1e-9)
        rng = np.random.default_rng(self.seed)
        for slot, seeds in ((SHORT, self.cold_start_seeds), (LONG, None)):
            given, held, _ = seed_split(valid.matrix, seeds=seeds, rng=rng)
            if given.shape[0] == 0:
                continue
            s_tag = self._similarity(given, tags)
            s_audio = self._similarity(given, self.item_audio_)
            best = -1.0
            for w_tag in GRID_TAG:
                for w_audio in GRID_AUDIO:
                    if w_tag == 0 and w_audio == 0:
                        continue
                    for w_pop in GRID_POP:
                        scores = w_tag * s_tag + w_audio * s_audio + w_pop * pop[None, :]
                        ndcg = _ndcg(scores, given, held)
                        if ndcg > best:
                            best, weights[slot] = ndcg, (w_tag, w_audio, w_pop)
        return weights

    # ---- scoring -----------------------------------------------------------------------------
    @staticmethod
    def _similarity(history: sp.csr_matrix, vectors: sp.csr_matrix | np.ndarray) -> np.ndarray:
        """Cosine between each history's mean item vector and every item vector."""
        return ContentRecommender._similarity_columns(history, vectors, None)

    def _scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        s_tag = self._similarity(history, self.item_tags_)
        s_audio = self._similarity(history, self.item_audio_)
        lengths = np.diff(history.indptr)
        slot = np.where(lengths <= self.cold_start_seeds, SHORT, LONG)
        w = self.weights_[slot]
        scores: np.ndarray = (
            w[:, [0]] * s_tag + w[:, [1]] * s_audio + w[:, [2]] * self.item_pop_[None, :]
        )
        return scores.astype(np.float32)

    def scores_for_columns(self, history: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
        self._require_fitted()
        history = sp.csr_matrix(history)
        columns = np.asarray(columns, np.int64)
        s_tag = self._similarity_columns(history, self.item_tags_, columns)
        s_audio = self._similarity_columns(history, self.item_audio_, columns)
        slot = np.where(np.diff(history.indptr) <= self.cold_start_seeds, SHORT, LONG)
        w = self.weights_[slot]
        scores: np.ndarray = (
            w[:, [0]] * s_tag + w[:, [1]] * s_audio + w[:, [2]] * self.item_pop_[None, columns]
        )
        return scores.astype(np.float32)

    @staticmethod
    def _similarity_columns(
        history: sp.csr_matrix, vectors: sp.csr_matrix | np.ndarray, columns: np.ndarray | None
    ) -> np.ndarray:
        """Cosine between each history's mean item vector and the item vectors ``columns``
        (all items when None)."""
        h = sp.csr_matrix(history, dtype=np.float32, copy=True)
        h.data = np.log1p(np.maximum(h.data, 0.0))
        profile = h @ vectors
        if sp.issparse(profile):
            profile = profile.toarray()
        profile = _unit_dense(np.asarray(profile, np.float32))
        items = vectors if columns is None else vectors[columns]
        scores = items @ profile.T
        return np.asarray(scores, np.float32).T

    def scores_from_history(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense scores over every item for each history row (no items excluded)."""
        self._require_fitted()
        return self._scores_from_history(sp.csr_matrix(history))

    def tag_scores(self, tag_ids: Sequence[Any]) -> np.ndarray:
        """Scores over items for a listener who picked only tags (a cold-start page)."""
        self._require_fitted()
        column = {t: k for k, t in enumerate(self.tag_ids_.tolist())}
        cols = [column[t] for t in tag_ids if t in column]
        profile = np.zeros(self.item_tags_.shape[1], dtype=np.float32)
        profile[cols] = self.idf_[cols] if len(self.idf_) == len(profile) else 1.0
        norm = float(np.linalg.norm(profile))
        tag_part = self.item_tags_ @ (profile / norm) if norm > 0 else 0.0 * self.item_pop_
        w_tag, _, w_pop = self.weights_[SHORT]
        scores: np.ndarray = (max(w_tag, 1.0) * tag_part + w_pop * self.item_pop_).astype(
            np.float32
        )
        return scores

    # ---- tracks ------------------------------------------------------------------------------
    def track_index(self) -> VectorIndex:
        """The faiss index over every catalogue track (built once per loaded model)."""
        self._require_fitted()
        if self._track_index is None:
            self._track_index = VectorIndex(
                self.track_ids_,
                self.track_vectors_,
                artist_keys=self.track_artist_keys_,
                genres=self.track_genres_,
                moods=self.track_moods(),
                tempo=self.track_tempo_,
            )
        return self._track_index

    def track_moods(self) -> np.ndarray:
        """Each track's most probable mood ("" without a mood detector)."""
        if self.track_mood_proba_.shape[1] == 0:
            return np.full(len(self.track_ids_), "", dtype=str)
        out: np.ndarray = self.mood_classes_[self.track_mood_proba_.argmax(axis=1)]
        return out

    def embed_tracks(
        self, raw_features: np.ndarray, subgenres: np.ndarray | None = None
    ) -> np.ndarray:
        """Embeddings for tracks given by raw feature rows (new tracks: no retraining)."""
        self._require_fitted()
        return self.network_.embed(raw_features, subgenres)

    def similar_tracks(
        self,
        track_id: str,
        n: int = 10,
        *,
        filters: Filters | None = None,
        raw_features: np.ndarray | None = None,
    ) -> list[Neighbour]:
        """Nearest catalogue tracks; a track unknown to the model needs ``raw_features``."""
        index = self.track_index()
        if track_id in index.position:
            query = index.vector(track_id)
        elif raw_features is not None:
            query = self.embed_tracks(np.asarray(raw_features, np.float32).reshape(1, -1))[0]
        else:
            raise KeyError(track_id)
        return index.search(query, n, filters=filters, exclude=(track_id,))

    def artist_vectors(self) -> np.ndarray:
        """One vector per item: its tag profile (SVD of the TF-IDF rows) and its audio.

        The inner product of two of them is a blend of tag and audio cosine with the
        long-history weights (audio kept at no less than 0.25, so artists without tags still
        have neighbours); a part an artist lacks (no tags, no catalogue track) is zero.
        """
        w_tag, w_audio, _ = self.weights_[LONG]
        tags = self.item_tags_
        k = int(min(ARTIST_TAG_DIMS, min(tags.shape) - 1))
        if k >= 1 and tags.nnz:
            if min(tags.shape) <= DENSE_SVD_LIMIT:  # exact and deterministic
                u, sigma, _ = np.linalg.svd(tags.toarray().astype(np.float64), full_matrices=False)
                u, sigma = u[:, :k], sigma[:k]
            else:
                from scipy.sparse.linalg import svds

                u, sigma, _ = svds(tags.astype(np.float64), k=k, random_state=self.seed)
            tag_part = _unit_dense((u * sigma).astype(np.float32))
            # An untagged artist's SVD row is rounding noise: unit-normalised it would be a
            # random direction, so those rows stay zero.
            tag_part[np.diff(tags.indptr) == 0] = 0.0
        else:
            tag_part = np.zeros((self.n_items, 1), dtype=np.float32)
        w_audio = max(w_audio, 0.25)
        both = np.hstack([np.sqrt(w_tag) * tag_part, np.sqrt(w_audio) * self.item_audio_])
        # One scale for every row (not a per-row norm): an artist missing tags or audio keeps
        # a shorter vector instead of having its one part inflated to a full unit vector.
        out: np.ndarray = (both / np.sqrt(max(w_tag + w_audio, 1e-9))).astype(np.float32)
        return out

    def artist_index(self) -> VectorIndex:
        """The faiss index over every item's :meth:`artist_vectors` (built once per model)."""
        self._require_fitted()
        if self._artist_index is None:
            self._artist_index = VectorIndex(self.item_ids_.astype(str), self.artist_vectors())
        return self._artist_index

    def similar_artists(self, item_id: Any, n: int = 10) -> list[Neighbour]:
        """Nearest artists (items) by tag profile and audio; popularity left out."""
        self.item_columns([item_id])  # unknown ids raise here
        index = self.artist_index()
        key = str(item_id)
        return index.search(index.vector(key), n, exclude=(key,))

    # ---- persistence -------------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        tags = self.item_tags_
        state = {
            **{f"net_{k}": v for k, v in self.network_.to_arrays().items()},
            "track_ids": self.track_ids_,
            "track_names": self.track_names_,
            "track_artists": self.track_artists_,
            "track_artist_keys": self.track_artist_keys_,
            "track_genres": self.track_genres_,
            "track_subgenres": self.track_subgenres_,
            "track_tempo": self.track_tempo_,
            "track_popularity": self.track_popularity_,
            "track_vectors": self.track_vectors_,
            "genre_classes": self.genre_classes_,
            "subgenre_classes": self.subgenre_classes_,
            "track_genre_proba": self.track_genre_proba_,
            "track_subgenre_proba": self.track_subgenre_proba_,
            "mood_classes": self.mood_classes_,
            "track_mood_proba": self.track_mood_proba_,
            "tag_ids": self.tag_ids_,
            "tags_data": tags.data,
            "tags_indices": tags.indices,
            "tags_indptr": tags.indptr,
            "tags_shape": np.asarray(tags.shape, dtype=np.int64),
            "idf": self.idf_,
            "item_audio": self.item_audio_,
            "item_pop": self.item_pop_,
            "weights": self.weights_,
        }
        genre = getattr(self, "genre_classifier_", None)
        if genre is not None:
            state.update({f"genre_{k}": v for k, v in genre.to_arrays().items()})
        return state

    def _set_state(self, arrays: dict[str, np.ndarray], folder: Path) -> None:
        net = {k.removeprefix("net_"): v for k, v in arrays.items() if k.startswith("net_")}
        self.network_ = TrackNetwork.from_arrays(net, self._network_config())
        for name in (
            "track_ids",
            "track_names",
            "track_artists",
            "track_artist_keys",
            "track_genres",
            "track_subgenres",
            "track_tempo",
            "track_popularity",
            "track_vectors",
            "genre_classes",
            "subgenre_classes",
            "track_genre_proba",
            "track_subgenre_proba",
            "mood_classes",
            "track_mood_proba",
            "tag_ids",
            "idf",
            "item_audio",
            "item_pop",
            "weights",
        ):
            setattr(self, f"{name}_", arrays[name])
        shape = tuple(int(v) for v in arrays["tags_shape"])
        self.item_tags_ = sp.csr_matrix(
            (arrays["tags_data"], arrays["tags_indices"], arrays["tags_indptr"]), shape=shape
        )
        genre = {
            k.removeprefix("genre_"): v
            for k, v in arrays.items()
            if k.startswith("genre_") and k != "genre_classes"
        }
        if genre:
            from ml.content.genre import GenreClassifier

            self.genre_classifier_ = GenreClassifier.from_arrays(genre)
        self._folder = folder
        self.mood_detector_ = None
        self._track_index = self._artist_index = None

    def _save_extra(self, folder: Path) -> None:
        if self.mood_detector_ is not None:
            self.mood_detector_.save(folder / MOOD_DIR)
        log = [e.__dict__ for e in self.network_.log]
        (folder / "network.json").write_text(
            json.dumps({"config": self.network_.config.to_dict(), "epochs": log}, indent=2)
        )

    def mood_detector(self) -> Any:
        """The Keras mood detector (loaded on first use: it imports TensorFlow)."""
        if self.mood_detector_ is None:
            folder = getattr(self, "_folder", None)
            if folder is None or not (Path(folder) / MOOD_DIR).exists():
                raise ModelFitError("content: this model has no mood detector")
            from ml.content.mood import MoodDetector

            self.mood_detector_ = MoodDetector.load(Path(folder) / MOOD_DIR)
        return self.mood_detector_


def _ndcg(scores: np.ndarray, given: sp.csr_matrix, held: sp.csr_matrix, k: int = 10) -> float:
    scores = scores.copy()
    rows, cols = given.nonzero()
    scores[rows, cols] = -np.inf
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
    ranked = np.take_along_axis(top, order, 1)
    return float(accuracy_at_k(ranked, held, k)["ndcg"])

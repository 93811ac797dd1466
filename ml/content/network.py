"""The track-embedding network: audio features + metadata + genre -> a unit vector.

Architecture. An audio trunk (MLP) reads the standardized :data:`~ml.content.features.FEATURES`
row; two heads on the trunk predict the genre and the sub-genre (the auxiliary task); a genre
embedding table turns a sub-genre distribution into a vector; a projection of
``[trunk, genre vector]`` is L2-normalised into the track embedding.

Training signal (contrastive, InfoNCE with in-batch negatives). An anchor track and a positive
that shares its artist (or, with probability ``playlist_share``, one of its playlists) should sit
closer than every other track in the batch; the auxiliary cross-entropy on genre and sub-genre
shapes the trunk. The genre embedding reads the true sub-genre when the catalogue knows it, but
with probability ``genre_dropout`` (and always, for a brand-new track) it reads the trunk's own
predicted distribution instead, so a track that has only audio features is embedded by the same
network at once.

Serving needs no torch: :func:`numpy_forward` runs the trained weights in numpy (a 15-input MLP
costs microseconds per track), so a web process can embed a new track without importing torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ml.content.features import Standardizer, TrackTable

#: numpy parameter names, in the order of the layers
LAYERS = ("trunk0", "trunk1", "genre_head", "subgenre_head", "project")


@dataclass(frozen=True)
class NetworkConfig:
    hidden: int = 64
    genre_dim: int = 16
    embedding_dim: int = 32
    epochs: int = 12
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-5
    temperature: float = 0.1
    aux_weight: float = 0.5
    genre_dropout: float = 0.3
    playlist_share: float = 0.5
    seed: int = 7

    @classmethod
    def tiny(cls) -> NetworkConfig:
        return cls(hidden=16, genre_dim=4, embedding_dim=8, epochs=3, batch_size=64)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NetworkEpoch:
    epoch: int
    loss: float
    contrastive: float
    genre_accuracy: float
    seconds: float


@dataclass
class TrackNetwork:
    """Trained weights as numpy arrays, with what is needed to run them (see the module doc)."""

    config: NetworkConfig
    standardizer: Standardizer
    genres: np.ndarray  # str, the genre head's classes
    subgenres: np.ndarray  # str, the sub-genre head's classes
    weights: dict[str, np.ndarray]
    log: list[NetworkEpoch]

    def embed(self, raw_features: np.ndarray, subgenres: np.ndarray | None = None) -> np.ndarray:
        """Unit embeddings for raw feature rows; ``subgenres`` (str, "" = unknown) when known."""
        x = self.standardizer.transform(np.asarray(raw_features, np.float32))
        known = None
        if subgenres is not None:
            known = _one_hot_or_none(np.asarray(subgenres), self.subgenres)
        return numpy_forward(self.weights, x, known)[0]

    def predict_genres(self, raw_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(genre probabilities, sub-genre probabilities)`` from the auxiliary heads."""
        x = self.standardizer.transform(np.asarray(raw_features, np.float32))
        _, genre, subgenre = numpy_forward(self.weights, x, None)
        return genre, subgenre

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {f"w_{k}": v for k, v in self.weights.items()}
        arrays["std_mean"] = self.standardizer.mean
        arrays["std_scale"] = self.standardizer.scale
        arrays["genres"] = self.genres.astype(str)
        arrays["subgenres"] = self.subgenres.astype(str)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: NetworkConfig) -> TrackNetwork:
        weights = {k.removeprefix("w_"): v for k, v in arrays.items() if k.startswith("w_")}
        return cls(
            config=config,
            standardizer=Standardizer(arrays["std_mean"], arrays["std_scale"]),
            genres=arrays["genres"],
            subgenres=arrays["subgenres"],
            weights=weights,
            log=[],
        )


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out


def _one_hot_or_none(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Rows of a one-hot matrix; an unknown label gives a row of NaN (= use the prediction)."""
    index = {c: k for k, c in enumerate(classes.tolist())}
    out = np.full((len(labels), len(classes)), np.nan, dtype=np.float32)
    for row, label in enumerate(labels.tolist()):
        if label in index:
            out[row] = 0.0
            out[row, index[label]] = 1.0
    return out


def numpy_forward(
    weights: dict[str, np.ndarray], x: np.ndarray, known_subgenre: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(embeddings, genre probs, sub-genre probs)`` for standardized rows ``x``."""

    def dense(name: str, inputs: np.ndarray) -> np.ndarray:
        out: np.ndarray = inputs @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]
        return out

    h = np.maximum(dense("trunk0", x), 0.0)
    h = np.maximum(dense("trunk1", h), 0.0)
    genre = _softmax(dense("genre_head", h))
    subgenre = _softmax(dense("subgenre_head", h))
    mix = subgenre
    if known_subgenre is not None:
        has = ~np.isnan(known_subgenre).any(axis=1)
        mix = np.where(has[:, None], np.nan_to_num(known_subgenre), subgenre)
    g = mix @ weights["genre_embedding"]
    z = dense("project", np.concatenate([h, g], axis=1))
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    return z.astype(np.float32), genre.astype(np.float32), subgenre.astype(np.float32)


def _classes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted non-empty classes and each row's class index (-1 for an unknown label)."""
    classes = np.unique(labels[labels != ""])
    index = np.searchsorted(classes, labels)
    found = (index < len(classes)) & (classes[np.minimum(index, len(classes) - 1)] == labels)
    return classes, np.where(found & (labels != ""), index, -1).astype(np.int64)


def _positives(table: TrackTable, rng: np.random.Generator, playlist_share: float) -> np.ndarray:
    """For every track, a random other track sharing its artist or a playlist (itself if none)."""
    n = len(table)
    codes, _ = table.artist_codes()
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], codes)
    counts = np.bincount(codes)[codes]
    same_artist = order[starts + rng.integers(0, counts)]
    playlists = table.playlists.tocsr()
    members = playlists.T.tocsr()
    out = same_artist.copy()
    use_playlist = rng.random(n) < playlist_share
    for row in np.flatnonzero(use_playlist | (same_artist == np.arange(n))):
        own = playlists.indices[playlists.indptr[row] : playlists.indptr[row + 1]]
        if len(own) == 0:
            continue
        p = own[rng.integers(0, len(own))]
        tracks = members.indices[members.indptr[p] : members.indptr[p + 1]]
        if len(tracks) > 1:
            out[row] = tracks[rng.integers(0, len(tracks))]
    result: np.ndarray = out
    return result


def train_network(
    table: TrackTable,
    config: NetworkConfig | None = None,
    *,
    on_epoch: Callable[[NetworkEpoch], None] | None = None,
) -> TrackNetwork:
    """Fit the network on every track of ``table`` (see the module docstring)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    cfg = config or NetworkConfig()
    if len(table) < 2:
        raise ValueError("the catalogue needs at least two tracks to train the track network")
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    standardizer = Standardizer.fit(table.features)
    x_all = torch.from_numpy(standardizer.transform(table.features))
    genres, genre_y = _classes(table.genres)
    subgenres, sub_y = _classes(table.subgenres)
    if len(genres) < 2 or len(subgenres) < 2:
        raise ValueError("the track network needs tracks of at least two genres and sub-genres")
    genre_known = torch.from_numpy(genre_y >= 0)
    sub_known = torch.from_numpy(sub_y >= 0)
    genre_y, sub_y = np.maximum(genre_y, 0), np.maximum(sub_y, 0)
    genre_t = torch.from_numpy(genre_y.astype(np.int64))
    sub_t = torch.from_numpy(sub_y.astype(np.int64))
    n_features = x_all.shape[1]

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.trunk0 = nn.Linear(n_features, cfg.hidden)
            self.trunk1 = nn.Linear(cfg.hidden, cfg.hidden)
            self.genre_head = nn.Linear(cfg.hidden, len(genres))
            self.subgenre_head = nn.Linear(cfg.hidden, len(subgenres))
            self.genre_embedding = nn.Parameter(0.1 * torch.randn(len(subgenres), cfg.genre_dim))
            self.project = nn.Linear(cfg.hidden + cfg.genre_dim, cfg.embedding_dim)

        def forward(
            self, x: torch.Tensor, sub: torch.Tensor, use_true: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            h = F.relu(self.trunk1(F.relu(self.trunk0(x))))
            genre_logits = self.genre_head(h)
            sub_logits = self.subgenre_head(h)
            predicted = F.softmax(sub_logits, dim=1).detach()
            true = F.one_hot(sub, len(subgenres)).float()
            mix = torch.where(use_true[:, None], true, predicted)
            z = self.project(torch.cat([h, mix @ self.genre_embedding], dim=1))
            return F.normalize(z, dim=1), genre_logits, sub_logits

    net = Net()
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(table)
    log: list[NetworkEpoch] = []
    for epoch in range(1, cfg.epochs + 1):
        started = time.perf_counter()
        positives = torch.from_numpy(_positives(table, rng, cfg.playlist_share))
        perm = torch.from_numpy(rng.permutation(n))
        total = contrastive_total = 0.0
        correct = seen = 0
        net.train()
        for start in range(0, n, cfg.batch_size):
            anchor = perm[start : start + cfg.batch_size]
            if len(anchor) < 2:
                continue
            positive = positives[anchor]
            both = torch.cat([anchor, positive])
            use_true = sub_known[both] & (torch.rand(len(both)) >= cfg.genre_dropout)
            z, genre_logits, sub_logits = net(x_all[both], sub_t[both], use_true)
            za, zp = z[: len(anchor)], z[len(anchor) :]
            logits = za @ zp.T / cfg.temperature
            target = torch.arange(len(anchor))
            # the same track can be drawn twice in a batch: mask those false negatives
            clash = (positive[None, :] == positive[:, None]) & ~torch.eye(
                len(anchor), dtype=torch.bool
            )
            logits = logits.masked_fill(clash, -1e4)
            contrastive = F.cross_entropy(logits, target)
            known_g = genre_known[both]
            aux = torch.zeros(())
            if known_g.any():
                aux = F.cross_entropy(genre_logits[known_g], genre_t[both][known_g])
                correct += int((genre_logits[known_g].argmax(1) == genre_t[both][known_g]).sum())
                seen += int(known_g.sum())
            known_s = sub_known[both]
            if known_s.any():
                aux = aux + F.cross_entropy(sub_logits[known_s], sub_t[both][known_s])
            loss = contrastive + cfg.aux_weight * aux
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            total += loss.item() * len(anchor)
            contrastive_total += contrastive.item() * len(anchor)
        entry = NetworkEpoch(
            epoch=epoch,
            loss=total / n,
            contrastive=contrastive_total / n,
            genre_accuracy=correct / max(seen, 1),
            seconds=time.perf_counter() - started,
        )
        log.append(entry)
        if on_epoch is not None:
            on_epoch(entry)
    weights = {k: v.detach().numpy().astype(np.float32).copy() for k, v in net.state_dict().items()}
    return TrackNetwork(
        config=cfg,
        standardizer=standardizer,
        genres=genres.astype(str),
        subgenres=subgenres.astype(str),
        weights=weights,
        log=log,
    )

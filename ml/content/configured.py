"""The scikit-learn-style plumbing the content classifiers share around their config dataclass."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar, Self, cast


class ConfiguredEstimator:
    """Hyperparameters stored as attributes, mirrored by the dataclass ``CONFIG``.

    ``CONFIG`` provides ``tiny()``, ``to_dict()`` and ``from_dict()``; ``hidden`` is a tuple of
    layer sizes, reported as a JSON-friendly list.
    """

    CONFIG: ClassVar[Any]

    def get_params(self) -> dict[str, Any]:
        params = {f.name: getattr(self, f.name) for f in fields(self.CONFIG)}
        return params | {"hidden": [int(h) for h in params["hidden"]]}

    @property
    def config(self) -> Any:
        return self.CONFIG.from_dict(self.get_params())

    @classmethod
    def tiny(cls, **params: Any) -> Self:
        return cast(Self, cast(Any, cls)(**{**cls.CONFIG.tiny().to_dict(), **params}))

    @classmethod
    def from_config(cls, config: Any) -> Self:
        return cast(Self, cast(Any, cls)(**config.to_dict()))

"""Audotics' machine-learning package: framework code with no Django imports.

The Django apps turn database rows into arrays and paths; this package turns arrays into models
and scores, so every model can be trained and evaluated from the command line on any data set.
"""

from __future__ import annotations

from ml.offline import enable_offline_mode

enable_offline_mode()

__all__ = ["enable_offline_mode"]

"""Readers of the project's data-set formats, shared by the Django importers and ``python -m ml``."""

from __future__ import annotations

from ml.data.files import DataFileError, ReadResult, RowError
from ml.data.names import normalize_name

__all__ = ["DataFileError", "ReadResult", "RowError", "normalize_name"]

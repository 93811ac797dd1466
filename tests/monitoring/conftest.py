"""Each test starts and ends with this process's recorder empty and the bias cache cold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from monitoring.recorder import RECORDER
from monitoring.services.bias import CACHE_KEY


@pytest.fixture(autouse=True)
def _empty_recorder() -> Iterator[None]:
    RECORDER.drain()
    cache.delete(CACHE_KEY)
    yield
    RECORDER.drain()
    cache.delete(CACHE_KEY)

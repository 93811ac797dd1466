"""``monitoring.timing``: the public API other code reports durations through."""

from __future__ import annotations

import pytest

from monitoring.recorder import RECORDER, TIMING
from monitoring.timing import observe, timed


def _timings() -> dict[str, tuple[int, float]]:
    return {
        key[2]: (pending.n, pending.total_seconds)
        for key, pending in RECORDER.drain().items()
        if key[1] == TIMING
    }


def test_observe_adds_to_the_named_histogram() -> None:
    observe("recs.update", 0.030)
    observe("recs.update", 0.010)
    observe("room.broadcast", 0.002)
    timings = _timings()
    assert timings["recs.update"] == (2, pytest.approx(0.040))
    assert timings["room.broadcast"][0] == 1


def test_timed_measures_a_block_even_when_it_raises() -> None:
    with timed("block"):
        pass
    with pytest.raises(RuntimeError), timed("block"):
        raise RuntimeError("boom")
    assert _timings()["block"][0] == 2


@pytest.mark.parametrize("seconds", [-0.5, float("nan"), float("inf")])
def test_a_nonsense_duration_is_ignored(seconds: float) -> None:
    observe("recs.update", seconds)
    assert _timings() == {}


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_a_bad_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="timing name"):
        observe(name, 0.1)

"""The fixed log-spaced histogram: percentiles land in numpy's bucket; histograms add up."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.histogram import (
    BOUNDS,
    HIGH_SECONDS,
    LOW_SECONDS,
    N_BUCKETS,
    SLOTS,
    bucket_ratio,
    counts_of,
    merged,
    percentile,
    slot_of,
)

RNG = np.random.default_rng(7)
SAMPLES = {
    "lognormal around 5 ms": RNG.lognormal(np.log(0.005), 0.8, 5000),
    "uniform 1-200 ms": RNG.uniform(0.001, 0.2, 3000),
    "two modes (cache hit / miss)": np.concatenate(
        [RNG.normal(0.002, 0.0002, 900), RNG.normal(0.08, 0.01, 100)]
    ),
    "eleven values": np.array([0.001 * k for k in range(1, 12)]),
}


def test_the_layout_is_log_spaced_from_a_tenth_of_a_millisecond_to_thirty_seconds() -> None:
    assert len(BOUNDS) == N_BUCKETS + 1 and SLOTS == N_BUCKETS + 2
    assert BOUNDS[0] == pytest.approx(LOW_SECONDS) and BOUNDS[-1] == pytest.approx(HIGH_SECONDS)
    ratios = np.array(BOUNDS[1:]) / np.array(BOUNDS[:-1])
    assert np.allclose(ratios, bucket_ratio())
    assert slot_of(0.00001) == 0 and slot_of(60.0) == SLOTS - 1
    assert slot_of(BOUNDS[3]) == 4  # an edge belongs to the bucket it opens


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("q", [50, 90, 99])
def test_percentile_is_in_the_bucket_of_numpys_order_statistic(name: str, q: float) -> None:
    """numpy's linear percentile sits between the order statistics at floor and ceil of
    ``(n - 1) q / 100``; the estimate lies in the bucket of one of them."""
    sample = np.sort(SAMPLES[name])
    rank = (len(sample) - 1) * q / 100
    below, above = sample[int(np.floor(rank))], sample[int(np.ceil(rank))]
    estimate = percentile(counts_of(sample), q)
    assert estimate is not None
    assert slot_of(below) <= slot_of(estimate) <= slot_of(above)


@pytest.mark.parametrize("name", ["lognormal around 5 ms", "uniform 1-200 ms"])
@pytest.mark.parametrize("q", [50, 90, 99])
def test_on_smooth_samples_the_error_is_under_one_bucket_width(name: str, q: float) -> None:
    exact = float(np.percentile(SAMPLES[name], q))
    estimate = percentile(counts_of(SAMPLES[name]), q)
    assert estimate is not None
    assert max(estimate / exact, exact / estimate) < bucket_ratio()


def test_a_small_sample_interpolates_towards_the_outlier_like_numpy() -> None:
    """p99 of 16 requests sits 85% of the way from the 15th to the slowest (numpy's rank)."""
    sample = [0.005] * 15 + [0.300]
    exact = float(np.percentile(sample, 99))  # about 255 ms
    estimate = percentile(counts_of(sample), 99)
    assert estimate is not None
    assert max(estimate / exact, exact / estimate) < bucket_ratio()


def test_an_empty_histogram_has_no_percentiles() -> None:
    assert percentile([0] * SLOTS, 50) is None


def test_out_of_range_values_are_clamped_to_the_edges() -> None:
    assert percentile(counts_of([100.0] * 3), 99) == pytest.approx(HIGH_SECONDS)
    assert percentile(counts_of([1e-6] * 3), 50) == pytest.approx(LOW_SECONDS)


def test_merged_parts_equal_the_whole() -> None:
    sample = SAMPLES["lognormal around 5 ms"]
    parts = [counts_of(sample[i::3]) for i in range(3)]
    assert merged(parts) == counts_of(sample)


def test_a_histogram_of_another_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="slots"):
        merged([[1, 2, 3]])

"""The bias report's arithmetic on hand-made lists whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.bias import ServedTrack, bias_figures, popularity_percentiles

CATALOGUE = list(range(100))  # popularity 0..99, one track each


def t(sid: str, artist: str, popularity: int | None) -> ServedTrack:
    return ServedTrack(spotify_id=sid, artist=artist, popularity=popularity)


def test_popularity_percentile_is_mid_rank() -> None:
    ranks = popularity_percentiles([0, 50, 99], CATALOGUE)
    assert ranks.tolist() == pytest.approx([0.5, 50.5, 99.5])
    assert popularity_percentiles([5], [5, 5, 5, 5]).tolist() == [50.0]


def test_figures_on_two_lists() -> None:
    lists = [
        [t("a", "X", 99), t("b", "X", 98), t("c", "Y", 97)],  # hits, 2 artists, 1 genre
        [t("d", "Z", 0), t("a", "X", 99)],  # 2 artists, 2 genres
    ]
    genres = {
        "a": frozenset({"pop"}), "b": frozenset({"pop"}), "c": frozenset({"pop"}),
        "d": frozenset({"rock"}),
    }  # fmt: skip

    figures = bias_figures(
        lists, catalogue_popularity=CATALOGUE, genres_of=genres, catalogue_tracks=100,
        catalogue_artists=50, catalogue_genres=6,
    )  # fmt: skip

    # percentiles 99.5, 98.5, 97.5, 0.5, 99.5 -> mean 79.1
    assert figures.popularity_bias == pytest.approx(79.1)
    assert figures.mean_popularity == pytest.approx(78.6)
    # genres: list 1 has 1 of at most 3, list 2 has 2 of at most 2 -> (1/3 + 1) / 2
    assert figures.genre_diversity == pytest.approx((1 / 3 + 1) / 2, abs=1e-4)
    # artists: 2/3 and 2/2
    assert figures.artist_diversity == pytest.approx((2 / 3 + 1) / 2, abs=1e-4)
    assert figures.coverage == pytest.approx(4 / 100)
    assert figures.artist_coverage == pytest.approx(3 / 50)
    # deciles: four tracks in the top decile, one in the bottom
    assert figures.popularity_deciles == [20.0, *([0.0] * 8), 80.0]
    assert sum(figures.popularity_deciles) == pytest.approx(100.0)


def test_an_unbiased_sample_scores_about_fifty() -> None:
    rng = np.random.default_rng(1)
    lists = [
        [t(str(i), str(i), int(p)) for i, p in enumerate(rng.integers(0, 100, 10))]
        for _ in range(200)
    ]
    figures = bias_figures(
        lists, catalogue_popularity=CATALOGUE, genres_of={}, catalogue_tracks=100,
        catalogue_artists=100, catalogue_genres=6,
    )  # fmt: skip
    assert figures.popularity_bias == pytest.approx(50, abs=2)
    assert figures.genre_diversity is None  # no genres known: not a zero


def test_no_lists_give_no_figures() -> None:
    figures = bias_figures(
        [[]], catalogue_popularity=CATALOGUE, genres_of={}, catalogue_tracks=100,
        catalogue_artists=10, catalogue_genres=6,
    )  # fmt: skip
    assert (figures.popularity_bias, figures.coverage, figures.artist_diversity) == (
        None, None, None,
    )  # fmt: skip
    assert figures.popularity_deciles == [0.0] * 10

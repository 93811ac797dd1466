"""The z-tests: the two-proportion test against hand-worked values and scipy, the
listener-level (delta method) test against its special case and a clustered example."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from experiments.stats import ratio_ztest, two_proportion_ztest


def test_a_worked_example() -> None:
    # control 100/200 = 0.50, treatment 120/200 = 0.60
    # pooled p = 220/400 = 0.55; SE = sqrt(0.55 * 0.45 * (1/200 + 1/200)) = 0.0497494
    # z = 0.10 / 0.0497494 = 2.0101; two-sided p = 2 * (1 - Phi(2.0101)) = 0.04442
    # Wald SE = sqrt(0.5 * 0.5 / 200 + 0.6 * 0.4 / 200) = 0.0494975; CI = 0.10 +- 1.95996 * SE
    test = two_proportion_ztest(control=(100, 200), treatment=(120, 200))

    assert test.difference == pytest.approx(0.10)
    assert test.z == pytest.approx(2.0101, abs=1e-4)
    assert test.p_value == pytest.approx(0.04442, abs=1e-5)
    assert test.ci_low == pytest.approx(0.10 - 1.959964 * 0.0494975, abs=1e-6)
    assert test.ci_high == pytest.approx(0.10 + 1.959964 * 0.0494975, abs=1e-6)
    assert test.enough_data and test.significant()


@pytest.mark.parametrize(
    ("control", "treatment"),
    [((30, 1000), (45, 1000)), ((560, 800), (520, 800)), ((5, 60), (9, 70))],
)
def test_agrees_with_scipy(control: tuple[int, int], treatment: tuple[int, int]) -> None:
    test = two_proportion_ztest(control=control, treatment=treatment)
    (x1, n1), (x2, n2) = control, treatment
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))

    assert test.z == pytest.approx(z)
    assert test.p_value == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
    assert test.ci_high - test.difference == pytest.approx(
        norm.ppf(0.975) * math.sqrt((x1 / n1) * (1 - x1 / n1) / n1 + (x2 / n2) * (1 - x2 / n2) / n2)
    )


def test_far_tails_keep_their_digits() -> None:
    test = two_proportion_ztest(control=(100, 10_000), treatment=(400, 10_000))

    assert 0 < test.p_value < 1e-30
    assert test.p_value == pytest.approx(2 * norm.sf(abs(test.z)), rel=1e-6)


def test_small_arms_are_not_enough_data() -> None:
    test = two_proportion_ztest(control=(1, 10), treatment=(9, 10))

    assert not test.enough_data
    assert not test.significant()


def test_rare_outcomes_are_not_enough_data_either() -> None:
    # 2 successes in 200 trials: fewer than 5 expected per arm
    assert not two_proportion_ztest(control=(1, 100), treatment=(1, 100)).enough_data


def test_no_variance_is_no_difference() -> None:
    test = two_proportion_ztest(control=(50, 50), treatment=(60, 60))

    assert test.z == 0.0 and test.p_value == 1.0


@pytest.mark.parametrize(("control", "treatment"), [((1, 0), (1, 10)), ((11, 10), (1, 10))])
def test_impossible_counts_raise(control: tuple[int, int], treatment: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        two_proportion_ztest(control=control, treatment=treatment)


def test_the_listener_level_test_is_the_unpooled_test_with_one_reaction_each() -> None:
    control = [(1, 1)] * 40 + [(0, 1)] * 60
    treatment = [(1, 1)] * 55 + [(0, 1)] * 45

    test = ratio_ztest(control=control, treatment=treatment)

    p1, p2, n = 0.40, 0.55, 100
    # The delta method's N/(N-1) correction turns p(1-p)/n into the sample variance's /(n-1).
    se = math.sqrt(p1 * (1 - p1) / (n - 1) + p2 * (1 - p2) / (n - 1))
    assert test.difference == pytest.approx(0.15)
    assert test.z == pytest.approx(0.15 / se)
    assert test.enough_data and test.significant()


def test_a_few_very_active_listeners_do_not_make_a_difference_look_sure() -> None:
    """Listeners with their own taste: 3 heavy listeners per arm give 300 reactions each, all
    alike. Counted per reaction the difference looks certain; per listener it is not."""
    control = [(300, 300), (0, 300), (0, 300)] + [(1, 2)] * 10
    treatment = [(300, 300), (300, 300), (0, 300)] + [(1, 2)] * 10
    counted = (sum(x for x, _ in control), sum(n for _, n in control))
    counted_t = (sum(x for x, _ in treatment), sum(n for _, n in treatment))

    naive = two_proportion_ztest(control=counted, treatment=counted_t)
    clustered = ratio_ztest(control=control, treatment=treatment)

    assert naive.difference == pytest.approx(clustered.difference)
    assert naive.p_value < 1e-10
    assert clustered.p_value > 0.05 and not clustered.significant()
    assert clustered.ci_high - clustered.ci_low > 5 * (naive.ci_high - naive.ci_low)


def test_the_listener_level_test_needs_ten_listeners_per_arm() -> None:
    test = ratio_ztest(control=[(20, 40)] * 9, treatment=[(30, 40)] * 9)

    assert not test.enough_data and not test.significant()

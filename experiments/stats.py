"""The tests behind the per-arm verdicts (no Django, no scipy needed).

:func:`ratio_ztest` is the one the reports use: listeners are randomised, and one listener's
reactions are not independent, so each arm's rate (successes over reactions, a ratio of two
per-listener sums) gets a listener-level variance by the delta method (Deng, Knoblich & Lu
2018, "Applying the Delta Method in Metric Analytics"). With one reaction per listener it is the
unpooled two-proportion test; with a few very active listeners its interval widens where the
reaction-level :func:`two_proportion_ztest` would claim too much.

The two-sided p-value is ``erfc(|z| / sqrt 2)`` (exact in the tails, where ``1 - cdf`` loses
digits) and the interval's quantile comes from :class:`statistics.NormalDist`, so this stays a
cheap import; scipy's ``norm`` gives the same numbers (the tests check).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()
#: fewer trials than this in either arm: "not enough data"
MIN_TRIALS = 30
#: and at least this many expected successes and failures per arm (the normal approximation)
MIN_EXPECTED = 5
#: fewer listeners with reactions than this in either arm: "not enough data"
MIN_LISTENERS = 10


@dataclass(frozen=True)
class ZTest:
    """Treatment minus control: the difference, its confidence interval, z and the p-value.

    ``z`` and ``p_value`` use the pooled proportion (the null hypothesis says both arms share
    it); the interval uses each arm's own variance (Wald), as textbooks do.
    """

    control_rate: float
    treatment_rate: float
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    enough_data: bool

    def significant(self, alpha: float = 0.05) -> bool:
        return self.enough_data and self.p_value < alpha


def enough_data(x1: int, n1: int, x2: int, n2: int) -> bool:
    """Both arms have ``MIN_TRIALS`` trials and the pooled rate expects 5+ of each outcome."""
    if min(n1, n2) < MIN_TRIALS:
        return False
    pooled = (x1 + x2) / (n1 + n2)
    return min(pooled, 1 - pooled) * min(n1, n2) >= MIN_EXPECTED


def two_proportion_ztest(
    *, control: tuple[int, int], treatment: tuple[int, int], confidence: float = 0.95
) -> ZTest:
    """Compare ``treatment = (successes, trials)`` with ``control`` (two-sided).

    With no variance at all (every trial of both arms alike) the difference is 0 or the test
    cannot tell: ``z = 0`` and ``p = 1``.
    """
    (x1, n1), (x2, n2) = control, treatment
    if n1 <= 0 or n2 <= 0 or not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        raise ValueError(f"need 0 <= successes <= trials > 0, got {control} and {treatment}")
    p1, p2 = x1 / n1, x2 / n2
    diff = p2 - p1
    pooled = (x1 + x2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = diff / se_pooled if se_pooled > 0 else 0.0
    p_value = math.erfc(abs(z) / math.sqrt(2)) if se_pooled > 0 else 1.0
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    half = _NORMAL.inv_cdf(0.5 + confidence / 2) * se
    return ZTest(
        control_rate=p1,
        treatment_rate=p2,
        difference=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        z=z,
        p_value=min(1.0, p_value),
        enough_data=enough_data(x1, n1, x2, n2),
    )


def _ratio_and_variance(pairs: Sequence[tuple[int, int]]) -> tuple[float, float, int, int]:
    """``R = sum x / sum n`` and its delta-method variance over listeners ``(x_u, n_u)``."""
    xs = [x for x, n in pairs if n > 0]
    ns = [n for x, n in pairs if n > 0]
    total_x, total_n, users = sum(xs), sum(ns), len(ns)
    if total_n == 0:
        raise ValueError("an arm without any reaction cannot be compared")
    rate = total_x / total_n
    if users < 2:
        return rate, math.inf, total_x, total_n
    residuals = sum((x - rate * n) ** 2 for x, n in zip(xs, ns, strict=True))
    return rate, users / (users - 1) * residuals / total_n**2, total_x, total_n


def ratio_ztest(
    *,
    control: Sequence[tuple[int, int]],
    treatment: Sequence[tuple[int, int]],
    confidence: float = 0.95,
) -> ZTest:
    """Compare two arms' ``sum(successes) / sum(reactions)`` with listener-level variance.

    ``control`` and ``treatment`` hold one ``(successes, reactions)`` pair per listener. Enough
    data means ``MIN_LISTENERS`` listeners with reactions in each arm, plus the conditions of
    :func:`enough_data` on the totals.
    """
    p1, v1, x1, n1 = _ratio_and_variance(control)
    p2, v2, x2, n2 = _ratio_and_variance(treatment)
    diff = p2 - p1
    se = math.sqrt(v1 + v2)
    if se > 0 and math.isfinite(se):
        z = diff / se
        p_value = math.erfc(abs(z) / math.sqrt(2))
    else:
        z, p_value = 0.0, 1.0
    half = _NORMAL.inv_cdf(0.5 + confidence / 2) * se if math.isfinite(se) else math.inf
    listeners = min(sum(1 for _, n in control if n > 0), sum(1 for _, n in treatment if n > 0))
    return ZTest(
        control_rate=p1,
        treatment_rate=p2,
        difference=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        z=z,
        p_value=min(1.0, p_value),
        enough_data=listeners >= MIN_LISTENERS and enough_data(x1, n1, x2, n2) and se > 0,
    )

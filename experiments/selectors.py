"""Per-arm outcomes of an experiment, from the feedback its exposed listeners gave.

Counted: a listener's solo feedback (``group`` empty: the experiment changes the solo list) of
kind play, skip, like or dislike, given at or after their first exposure and, once the
experiment stopped, before it stopped. Each such event is a *reaction*, and each rate is a
share of reactions:

* like rate = likes / reactions
* skip rate = skips / reactions
* play-through rate = plays / reactions (a ``play`` event is a track played through)
* positive rate = (likes + plays) / reactions: the online bandit's reward, and the metric a
  winner must improve significantly.

Every treatment arm is compared with the control per rate by :func:`experiments.stats.
ratio_ztest`: the listener is the unit of randomisation, so each rate's variance is taken over
listeners (delta method), not over reactions, and a few very active listeners cannot make a
difference look surer than it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Q, Sum

from experiments.models import Arm, Experiment, Exposure
from experiments.stats import ZTest, ratio_ztest
from recommender.models import FeedbackEvent

Kind = FeedbackEvent.Kind
REACTIONS = (Kind.PLAY, Kind.SKIP, Kind.LIKE, Kind.DISLIKE)
ALPHA = 0.05
PRIMARY = "positive"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kinds: tuple[str, ...]
    higher_is_better: bool


METRICS = (
    Metric("positive", "positive rate", (Kind.LIKE, Kind.PLAY), True),
    Metric("like", "like rate", (Kind.LIKE,), True),
    Metric("skip", "skip rate", (Kind.SKIP,), False),
    Metric("play_through", "play-through rate", (Kind.PLAY,), True),
)


@dataclass(frozen=True)
class ArmOutcome:
    arm: Arm
    users: int
    responses: int
    counts: dict[str, int]
    #: listener id -> their reaction counts by kind (the listener-level test's input)
    per_user: dict[int, dict[str, int]] = field(default_factory=dict)

    def pairs(self, metric: Metric) -> list[tuple[int, int]]:
        """``(successes, reactions)`` per listener with reactions."""
        out = []
        for counts in self.per_user.values():
            reactions = sum(counts.get(k, 0) for k in REACTIONS)
            if reactions:
                out.append((sum(counts.get(k, 0) for k in metric.kinds), reactions))
        return out

    @property
    def reactions(self) -> int:
        return sum(self.counts.get(k, 0) for k in REACTIONS)

    def successes(self, metric: Metric) -> int:
        return sum(self.counts.get(k, 0) for k in metric.kinds)

    def rate(self, metric: Metric) -> float | None:
        return self.successes(metric) / self.reactions if self.reactions else None


@dataclass(frozen=True)
class Comparison:
    """One rate of a treatment arm against the control's."""

    metric: Metric
    test: ZTest | None  # None: an arm without any reaction

    @property
    def verdict(self) -> str:
        if self.test is None or not self.test.enough_data:
            return "not enough data"
        if not self.test.significant(ALPHA):
            return "no significant difference"
        return "higher" if self.test.difference > 0 else "lower"

    @property
    def better(self) -> bool | None:
        """True/False when significantly better/worse for listeners; None otherwise."""
        if self.test is None or not self.test.significant(ALPHA):
            return None
        return (self.test.difference > 0) == self.metric.higher_is_better


@dataclass(frozen=True)
class ExperimentReport:
    experiment: Experiment
    arms: list[ArmOutcome]
    #: treatment arm pk -> its comparisons, in ``METRICS`` order
    comparisons: dict[int, list[Comparison]] = field(default_factory=dict)

    @property
    def control(self) -> ArmOutcome | None:
        return next((a for a in self.arms if a.arm.is_control), None)

    def winner(self) -> Arm | None:
        """The treatment whose positive rate beats the control's most, significantly."""
        best: tuple[float, Arm] | None = None
        for outcome in self.arms:
            primary = next(
                (c for c in self.comparisons.get(outcome.arm.pk, []) if c.metric.key == PRIMARY),
                None,
            )
            if primary is None or primary.better is not True or primary.test is None:
                continue
            if best is None or primary.test.difference > best[0]:
                best = (primary.test.difference, outcome.arm)
        return best[1] if best is not None else None


def _window(experiment: Experiment) -> Q:
    exposure = "user__experiment_exposures"
    window = Q(**{f"{exposure}__experiment": experiment}) & Q(
        created_at__gte=F(f"{exposure}__first_seen_at")
    )
    if experiment.stopped_at is not None:
        window &= Q(created_at__lte=experiment.stopped_at)
    return window


def experiment_outcomes(*, experiment: Experiment) -> list[ArmOutcome]:
    """Users, responses and reaction counts of every arm (control first); two queries."""
    exposed = {
        row["arm"]: row
        for row in Exposure.objects.filter(experiment=experiment)
        .values("arm")
        .annotate(users=Count("id"), responses=Sum("responses"))
    }
    counts: dict[int, dict[str, int]] = {}
    per_user: dict[int, dict[int, dict[str, int]]] = {}
    events = (
        FeedbackEvent.objects.filter(_window(experiment), group__isnull=True, kind__in=REACTIONS)
        .values_list("user__experiment_exposures__arm", "user_id", "kind")
        .annotate(n=Count("id"))
    )
    for arm_id, user_id, kind, n in events:
        arm_counts = counts.setdefault(arm_id, {})
        arm_counts[kind] = arm_counts.get(kind, 0) + n
        per_user.setdefault(arm_id, {}).setdefault(user_id, {})[kind] = n
    arms = sorted(experiment.arms.all(), key=lambda a: (not a.is_control, a.pk))
    return [
        ArmOutcome(
            arm=arm,
            users=int(exposed.get(arm.pk, {}).get("users") or 0),
            responses=int(exposed.get(arm.pk, {}).get("responses") or 0),
            counts=counts.get(arm.pk, {}),
            per_user=per_user.get(arm.pk, {}),
        )
        for arm in arms
    ]


def _compare(control: ArmOutcome, treatment: ArmOutcome) -> list[Comparison]:
    if not control.reactions or not treatment.reactions:
        return [Comparison(metric, None) for metric in METRICS]
    return [
        Comparison(
            metric,
            ratio_ztest(control=control.pairs(metric), treatment=treatment.pairs(metric)),
        )
        for metric in METRICS
    ]


def experiment_report(*, experiment: Experiment) -> ExperimentReport:
    """The outcomes of every arm and each treatment's comparisons with the control."""
    arms = experiment_outcomes(experiment=experiment)
    report = ExperimentReport(experiment=experiment, arms=arms)
    control = report.control
    if control is not None:
        for outcome in arms:
            if outcome is not control:
                report.comparisons[outcome.arm.pk] = _compare(control, outcome)
    return report

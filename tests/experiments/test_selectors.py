"""Per-arm outcomes on factory-built feedback whose answers are counted by hand."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from experiments.models import Arm, Experiment, Exposure
from experiments.selectors import METRICS, experiment_report
from experiments.services import experiment_create
from experiments.stats import ratio_ztest
from recommender.models import FeedbackEvent, Track, User
from tests.experiments.helpers import arms
from tests.factories import FeedbackEventFactory, ListeningGroupFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now()
EXPOSED_AT = NOW - dt.timedelta(days=10)
RATE = {m.key: m for m in METRICS}


def _feedback(
    user: User, track: Track, kind: str, *, at: dt.datetime, n: int = 1, **extra: Any
) -> None:
    rows = [FeedbackEventFactory(user=user, track=track, kind=kind, **extra) for _ in range(n)]
    FeedbackEvent.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=at)


def _expose(experiment: Experiment, arm: Arm, user: User, responses: int = 1) -> None:
    Exposure.objects.create(
        experiment=experiment, arm=arm, user=user, first_seen_at=EXPOSED_AT, responses=responses
    )


@pytest.fixture
def running(fake_store: Path) -> Experiment:
    experiment = experiment_create(name="ab", arms=arms())
    Experiment.objects.filter(pk=experiment.pk).update(
        status=Experiment.Status.RUNNING, started_at=EXPOSED_AT
    )
    experiment.refresh_from_db()
    return experiment


def _arm(experiment: Experiment, name: str) -> Arm:
    return experiment.arms.get(name=name)


def test_counts_only_solo_reactions_after_the_first_exposure(running: Experiment) -> None:
    control, treatment = _arm(running, "control"), _arm(running, "treatment")
    c1, c2, t1, t2, outsider = (UserFactory() for _ in range(5))
    track = TrackFactory()
    after, before = EXPOSED_AT + dt.timedelta(hours=1), EXPOSED_AT - dt.timedelta(hours=1)
    for user, arm, responses in ((c1, control, 3), (c2, control, 1), (t1, treatment, 2)):
        _expose(running, arm, user, responses)
    _expose(running, treatment, t2, 2)
    # t1 is in another experiment too: its exposure there must not double its events here
    other = experiment_create(name="other", arms=arms())
    _expose(other, other.arms.get(name="control"), t1)

    _feedback(c1, track, "like", at=before)  # before the exposure
    _feedback(c1, track, "play", at=after, n=3)
    _feedback(c1, track, "skip", at=after)
    _feedback(c1, track, "like", at=after)
    _feedback(c1, track, "vote", at=after)  # not a reaction
    _feedback(c1, track, "like", at=after, group=ListeningGroupFactory())  # in a room
    _feedback(c2, track, "dislike", at=after)
    _feedback(t1, track, "like", at=after, n=2)
    _feedback(t1, track, "skip", at=after, n=2)
    _feedback(t2, track, "play", at=after)
    _feedback(outsider, track, "like", at=after, n=5)  # never exposed

    report = experiment_report(experiment=running)

    by_name = {a.arm.name: a for a in report.arms}
    assert [a.arm.name for a in report.arms] == ["control", "treatment"]
    c, t = by_name["control"], by_name["treatment"]
    assert (c.users, c.responses, c.reactions) == (2, 4, 6)
    assert (t.users, t.responses, t.reactions) == (2, 4, 5)
    assert c.counts == {"play": 3, "skip": 1, "like": 1, "dislike": 1}
    assert c.rate(RATE["like"]) == pytest.approx(1 / 6)
    assert c.rate(RATE["skip"]) == pytest.approx(1 / 6)
    assert c.rate(RATE["play_through"]) == pytest.approx(3 / 6)
    assert c.rate(RATE["positive"]) == pytest.approx(4 / 6)
    assert t.rate(RATE["like"]) == pytest.approx(2 / 5)
    assert t.rate(RATE["positive"]) == pytest.approx(3 / 5)
    comparisons = report.comparisons[treatment.pk]
    assert [c.metric.key for c in comparisons] == ["positive", "like", "skip", "play_through"]
    assert {c.verdict for c in comparisons} == {"not enough data"}
    assert report.winner() is None


def test_a_stopped_experiment_counts_until_it_stopped(running: Experiment) -> None:
    control = _arm(running, "control")
    user, track = UserFactory(), TrackFactory()
    _expose(running, control, user)
    running.status, running.stopped_at = Experiment.Status.STOPPED, NOW - dt.timedelta(days=1)
    running.save()
    _feedback(user, track, "like", at=NOW - dt.timedelta(days=2))
    _feedback(user, track, "like", at=NOW)  # after the stop

    control_outcome = experiment_report(experiment=running).arms[0]

    assert control_outcome.counts == {"like": 1}


def _crowd(experiment: Experiment, arm: Arm, plays: int, skips: int) -> list[tuple[int, int]]:
    """Ten listeners sharing ``plays`` plays and ``skips`` skips, dealt in a seeded order so
    listeners differ; returns each listener's (plays, reactions)."""
    track = TrackFactory()
    users = [UserFactory() for _ in range(10)]
    kinds = ["play"] * plays + ["skip"] * skips
    random.Random(plays * 100 + skips).shuffle(kinds)
    pairs = []
    for k, user in enumerate(users):
        _expose(experiment, arm, user)
        mine = kinds[k::10]
        for kind in ("play", "skip"):
            if mine.count(kind):
                _feedback(user, track, kind, at=NOW, n=mine.count(kind))
        pairs.append((mine.count("play"), len(mine)))
    return pairs


def test_a_significantly_better_treatment_is_the_winner(running: Experiment) -> None:
    control, treatment = _arm(running, "control"), _arm(running, "treatment")
    control_pairs = _crowd(running, control, plays=10, skips=30)
    treatment_pairs = _crowd(running, treatment, plays=30, skips=10)

    report = experiment_report(experiment=running)

    comparisons = {c.metric.key: c for c in report.comparisons[treatment.pk]}
    expected = ratio_ztest(control=control_pairs, treatment=treatment_pairs)
    assert comparisons["positive"].test == expected
    assert comparisons["positive"].verdict == "higher" and comparisons["positive"].better
    assert comparisons["skip"].verdict == "lower" and comparisons["skip"].better
    assert comparisons["like"].verdict == "not enough data"  # nobody liked anything
    assert report.winner() == treatment


def test_a_worse_treatment_does_not_win(running: Experiment) -> None:
    control, treatment = _arm(running, "control"), _arm(running, "treatment")
    _crowd(running, control, plays=30, skips=10)
    _crowd(running, treatment, plays=10, skips=30)

    report = experiment_report(experiment=running)

    positive = report.comparisons[treatment.pk][0]
    assert positive.verdict == "lower" and positive.better is False
    assert report.winner() is None


def test_an_arm_without_reactions_is_not_enough_data(running: Experiment) -> None:
    _crowd(running, _arm(running, "control"), plays=30, skips=10)

    report = experiment_report(experiment=running)

    treatment = _arm(running, "treatment")
    assert {c.verdict for c in report.comparisons[treatment.pk]} == {"not enough data"}
    assert report.arms[1].rate(RATE["positive"]) is None

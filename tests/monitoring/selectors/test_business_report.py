"""Business metrics on hand-built rows whose answers are worked out in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from groups.models import ListeningGroup, Membership, QueueEntry, SessionPlaylist
from monitoring.selectors.business import DEFINITIONS, business_report
from recommender.models import FeedbackEvent, ListeningEvent
from tests.factories import (
    FeedbackEventFactory,
    ListeningGroupFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 10)  # the window: 8, 9 and 10 March


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def _member(room: ListeningGroup, user: object, day: int) -> None:
    membership = Membership.objects.create(group=room, user=user)
    Membership.objects.filter(pk=membership.pk).update(joined_at=at(day))


def _entry(room: ListeningGroup, by: object, day: int, state: str | None = None) -> None:
    entry = QueueEntry.objects.create(group=room, track=TrackFactory(), added_by=by)
    ended = at(day, 13) if state else None
    QueueEntry.objects.filter(pk=entry.pk).update(
        created_at=at(day), started_at=at(day, 12) if state else None, ended_at=ended,
        state=state or QueueEntry.State.QUEUED,
    )  # fmt: skip


def _feedback(user: object, kind: str, day: int, room: ListeningGroup | None = None) -> None:
    event = FeedbackEventFactory(user=user, kind=kind, group=room)
    FeedbackEvent.objects.filter(pk=event.pk).update(created_at=at(day))


def _playlist(room: ListeningGroup, user: object, day: int) -> None:
    saved = SessionPlaylist.objects.create(group=room, user=user, name="night", tracks=[])
    SessionPlaylist.objects.filter(pk=saved.pk).update(created_at=at(day))


@pytest.fixture
def activity() -> None:
    a, b, c, d, e, f = (UserFactory() for _ in range(6))
    track = TrackFactory()
    # plays: a twice on the 8th, b on the 9th (and b on the 7th: outside the window)
    for day, user, hour in ((8, a, 10), (8, a, 11), (9, b, 10), (7, b, 10)):
        ListeningEvent.objects.create(user=user, track=track, played_at=at(day, hour), source="app")
    # feedback: a likes and c skips on the 9th; a's room play on the 10th
    r1 = ListeningGroupFactory(kind=ListeningGroup.Kind.ROOM)
    r2 = ListeningGroupFactory(kind=ListeningGroup.Kind.ROOM)
    friends = ListeningGroupFactory(kind=ListeningGroup.Kind.FRIENDS)
    _feedback(a, FeedbackEvent.Kind.LIKE, 9)
    _feedback(c, FeedbackEvent.Kind.SKIP, 9)
    _feedback(a, FeedbackEvent.Kind.PLAY, 10, room=r1)
    # room 1: a, b, c since the 1st, e joins on the 10th
    for user, day in ((a, 1), (b, 1), (c, 1), (e, 10)):
        _member(r1, user, day)
    # the 9th in room 1: a and b queue (played), autofill queues one (skipped): a success
    _entry(r1, a, 9, QueueEntry.State.PLAYED)
    _entry(r1, b, 9, QueueEntry.State.PLAYED)
    _entry(r1, None, 9, QueueEntry.State.SKIPPED)
    # room 2: a since the 8th, d and f since the 10th; on the 10th both tracks are skipped
    for user, day in ((a, 8), (d, 10), (f, 10)):
        _member(r2, user, day)
    _entry(r2, d, 10, QueueEntry.State.SKIPPED)
    _entry(r2, a, 10, QueueEntry.State.SKIPPED)
    _entry(r2, d, 1, QueueEntry.State.PLAYED)  # before the window
    _entry(friends, a, 10, QueueEntry.State.PLAYED)  # a friend group is not a room
    _playlist(r1, a, 9)
    _playlist(r2, d, 10)


def test_engagement(activity: None) -> None:
    m = business_report(days=3, today=TODAY)["metrics"]
    # active: 8th {a}, 9th {a, b, c}, 10th {a}
    assert m["active_listeners"]["values"] == [1, 3, 1]
    assert m["active_listeners"]["window"] == pytest.approx(5 / 3, abs=1e-4)
    # plays: 8th 2, 9th 1, 10th 1 (room play feedback)
    assert m["plays_per_listener"]["values"] == pytest.approx([2.0, 1 / 3, 1.0], abs=1e-4)
    assert m["plays_per_listener"]["window"] == pytest.approx(4 / 5)
    assert m["reactions_per_listener"]["values"] == pytest.approx([0.0, 2 / 3, 0.0], abs=1e-4)


def test_group_activity(activity: None) -> None:
    m = business_report(days=3, today=TODAY)["metrics"]
    # sessions: (room 1, 9th), (room 1, 10th: a's feedback), (room 2, 10th)
    assert m["active_rooms"]["values"] == [0, 1, 2]
    assert m["active_rooms"]["window"] == 1.0
    # members: room 1 has 3 on the 9th and 4 on the 10th, room 2 has 3 on the 10th
    assert m["members_per_room"]["values"] == [None, 3.0, 3.5]
    # member queue adds: 2 on the 9th; 0 + 2 over two sessions on the 10th
    assert m["queue_adds_per_room"]["values"] == [None, 2.0, 1.0]


def test_playlist_creation_and_collaboration_success(activity: None) -> None:
    m = business_report(days=3, today=TODAY)["metrics"]
    assert m["playlist_creation_rate"]["values"] == [None, 1.0, 0.5]
    assert m["playlist_creation_rate"]["window"] == pytest.approx(2 / 3, abs=1e-4)
    # only (room 1, 9th) succeeds: two contributors, 2 played vs 1 skipped
    assert m["collaboration_success_rate"]["values"] == [None, 100.0, 0.0]
    assert m["collaboration_success_rate"]["window"] == pytest.approx(100 / 3, abs=1e-2)


def test_every_metric_carries_its_definition_and_the_days() -> None:
    report = business_report(days=2, today=TODAY)
    assert report["days"] == ["2026-03-09", "2026-03-10"]
    assert set(report["metrics"]) == set(DEFINITIONS)
    for metric in report["metrics"].values():
        assert metric["definition"] and metric["label"] and len(metric["values"]) == 2
    assert report["metrics"]["active_rooms"]["values"] == [0.0, 0.0]
    assert report["metrics"]["collaboration_success_rate"]["window"] is None

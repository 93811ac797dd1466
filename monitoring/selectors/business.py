"""The brief's business metrics, per UTC day, from the rows the product writes.

A *room session* is a listening room (``ListeningGroup`` of kind ``room``) on a UTC day on
which something happened in it: a track was queued or started, or a member gave feedback
in the room. Each metric's definition travels with it into the page and the JSON.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from groups.models import ListeningGroup, Membership, QueueEntry, SessionPlaylist
from monitoring.types import BusinessReport, DailyMetric
from recommender.models import FeedbackEvent, ListeningEvent

ROOM = ListeningGroup.Kind.ROOM
DEFINITIONS = {
    "active_listeners": "Distinct listeners with at least one play (listening event) or "
    "feedback event (play, skip, like, dislike, vote) that day.",
    "plays_per_listener": "Plays that day (listening events plus play feedback, e.g. a room "
    "track heard through) divided by that day's active listeners.",
    "reactions_per_listener": "Likes, dislikes, skips and votes that day divided by that "
    "day's active listeners.",
    "active_rooms": "Room sessions: listening rooms in which a track was queued or started, or "
    "a member gave feedback, that day.",
    "members_per_room": "Members (joined by the end of the day and still in the room) per room "
    "session, averaged over that day's sessions.",
    "queue_adds_per_room": "Tracks queued by members (not autofill) per room session.",
    "playlist_creation_rate": "Session playlists saved that day divided by that day's room "
    "sessions.",
    "collaboration_success_rate": "Share of room sessions in which at least two members queued "
    "tracks and, of the tracks that finished that day, more were played through than skipped.",
}
LABELS = {
    "active_listeners": ("Daily active listeners", "listeners"),
    "plays_per_listener": ("Plays per active listener", "plays"),
    "reactions_per_listener": ("Reactions per active listener", "events"),
    "active_rooms": ("Active room sessions", "rooms"),
    "members_per_room": ("Members per active room", "members"),
    "queue_adds_per_room": ("Queue adds per active room", "tracks"),
    "playlist_creation_rate": ("Playlists saved per room session", "playlists"),
    "collaboration_success_rate": ("Collaboration success rate", "%"),
}
Session = tuple[int, date]


def _ratio(top: float, bottom: float, scale: float = 1.0) -> float | None:
    return round(scale * top / bottom, 4) if bottom else None


def _pairs(queryset: QuerySet[Any], field: str, who: str) -> set[tuple[date, int]]:
    rows = queryset.annotate(day=TruncDate(field, tzinfo=UTC)).values_list("day", who)
    return {(day, pk) for day, pk in rows.distinct() if pk is not None}


def _per_day(queryset: QuerySet[Any], field: str) -> dict[date, int]:
    rows = (
        queryset.annotate(day=TruncDate(field, tzinfo=UTC))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return dict(rows)


def _engagement(since: datetime) -> dict[str, dict[date, int]]:
    plays = ListeningEvent.objects.filter(played_at__gte=since)
    feedback = FeedbackEvent.objects.filter(created_at__gte=since)
    active: dict[date, int] = defaultdict(int)
    for day, _ in _pairs(plays, "played_at", "user_id") | _pairs(feedback, "created_at", "user_id"):
        active[day] += 1
    play_kind = FeedbackEvent.Kind.PLAY
    play_count = _per_day(plays, "played_at")
    for day, n in _per_day(feedback.filter(kind=play_kind), "created_at").items():
        play_count[day] = play_count.get(day, 0) + n
    reactions = _per_day(feedback.exclude(kind=play_kind), "created_at")
    return {"active": dict(active), "plays": dict(play_count), "reactions": reactions}


def _sessions(since: datetime) -> set[Session]:
    entries = QueueEntry.objects.filter(group__kind=ROOM)
    found = {
        (g, d) for d, g in _pairs(entries.filter(created_at__gte=since), "created_at", "group_id")
    }
    found |= {
        (g, d) for d, g in _pairs(entries.filter(started_at__gte=since), "started_at", "group_id")
    }
    feedback = FeedbackEvent.objects.filter(created_at__gte=since, group__kind=ROOM)
    found |= {(g, d) for d, g in _pairs(feedback, "created_at", "group_id")}
    return found


def _session_figures(since: datetime, sessions: set[Session]) -> dict[str, dict[Session, int]]:
    """Per session: members, member queue adds, contributors, played and skipped tracks."""
    rooms = {room for room, _ in sessions}
    figures: dict[str, dict[Session, int]] = defaultdict(lambda: defaultdict(int))
    joined = Membership.objects.filter(group_id__in=rooms).values_list("group_id", "joined_at")
    joins: dict[int, list[date]] = defaultdict(list)
    for room, at in joined:
        if at is not None:
            joins[room].append(at.astimezone(UTC).date())
    for room, day in sessions:
        figures["members"][room, day] = sum(1 for d in joins[room] if d <= day)
    adds = QueueEntry.objects.filter(group_id__in=rooms, created_at__gte=since)
    contributors: dict[Session, set[int]] = defaultdict(set)
    for room, user, at in adds.exclude(added_by=None).values_list(
        "group_id", "added_by_id", "created_at"
    ):
        key = (room, at.astimezone(UTC).date())
        figures["adds"][key] += 1
        contributors[key].add(user)
    for key, users in contributors.items():
        figures["contributors"][key] = len(users)
    done = (QueueEntry.State.PLAYED, QueueEntry.State.SKIPPED)
    finished = QueueEntry.objects.filter(group_id__in=rooms, ended_at__gte=since, state__in=done)
    for room, state, ended in finished.values_list("group_id", "state", "ended_at"):
        if ended is not None:
            figures[state][room, ended.astimezone(UTC).date()] += 1
    return figures


def _successful(figures: dict[str, dict[Session, int]], session: Session) -> bool:
    played = figures["played"].get(session, 0)
    skipped = figures["skipped"].get(session, 0)
    return figures["contributors"].get(session, 0) >= 2 and played > skipped


def _metric(key: str, values: list[float | None], window: float | None) -> DailyMetric:
    label, unit = LABELS[key]
    return DailyMetric(
        key=key, label=label, unit=unit, definition=DEFINITIONS[key], values=values, window=window
    )


def business_report(*, days: int, today: date) -> BusinessReport:
    """Daily series for ``days`` UTC days ending ``today``, with each metric's window value."""
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    day_list = [first + timedelta(days=i) for i in range(days)]
    engagement = _engagement(since)
    sessions = {s for s in _sessions(since) if first <= s[1] <= today}
    figures = _session_figures(since, sessions)
    by_day: dict[date, list[Session]] = defaultdict(list)
    for session in sessions:
        by_day[session[1]].append(session)
    saved = _per_day(SessionPlaylist.objects.filter(created_at__gte=since), "created_at")
    active, plays, reactions = engagement["active"], engagement["plays"], engagement["reactions"]

    def daily(top: dict[date, int], bottom: dict[date, int]) -> list[float | None]:
        return [_ratio(top.get(d, 0), bottom.get(d, 0)) for d in day_list]

    rooms = {d: len(by_day[d]) for d in day_list}
    members = {d: sum(figures["members"][s] for s in by_day[d]) for d in day_list}
    adds = {d: sum(figures["adds"].get(s, 0) for s in by_day[d]) for d in day_list}
    wins = {d: sum(_successful(figures, s) for s in by_day[d]) for d in day_list}
    total_active = sum(active.values())
    n_sessions = len(sessions)
    metrics = [
        _metric("active_listeners", [float(active.get(d, 0)) for d in day_list],
                _ratio(total_active, days)),
        _metric("plays_per_listener", daily(plays, active),
                _ratio(sum(plays.values()), total_active)),
        _metric("reactions_per_listener", daily(reactions, active),
                _ratio(sum(reactions.values()), total_active)),
        _metric("active_rooms", [float(rooms[d]) for d in day_list], _ratio(n_sessions, days)),
        _metric("members_per_room", daily(members, rooms),
                _ratio(sum(members.values()), n_sessions)),
        _metric("queue_adds_per_room", daily(adds, rooms), _ratio(sum(adds.values()), n_sessions)),
        _metric("playlist_creation_rate", daily(saved, rooms),
                _ratio(sum(saved.get(d, 0) for d in day_list), n_sessions)),
        _metric("collaboration_success_rate",
                [_ratio(wins[d], rooms[d], 100.0) for d in day_list],
                _ratio(sum(wins.values()), n_sessions, 100.0)),
    ]  # fmt: skip
    return BusinessReport(
        days=[d.isoformat() for d in day_list],
        since=since.isoformat(),
        metrics={m["key"]: m for m in metrics},
    )

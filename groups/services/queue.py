"""A room's upcoming queue: members' adds ordered by votes, then autofill that never runs dry.

Autofill asks the group model for the room's tracks under its policy (members' tastes, the
room's plays, curation rules), then orders them so each flows from the one before it (tempo,
energy and key of the track playing). Without a trained group model it falls back to popular
tracks, and says so.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from audotics.errors import ApplicationError, NotFound, PermissionDenied
from groups.events import room_changed_on_commit, room_event_send_on_commit
from groups.flow import flow_order
from groups.models import ListeningGroup, Membership, QueueEntry, QueueVote
from recommender.models import Track, User
from recommender.selectors_content import ModelNotReady

logger = logging.getLogger(__name__)

#: tracks kept waiting after the one playing
UPCOMING = 6
#: group recommendations asked for per refresh (flow ordering picks among them)
CANDIDATES = 20


class LimitReached(ApplicationError):
    code = "limit_reached"
    http_status = 429


class Muted(PermissionDenied):
    code = "muted"


def member_get(*, group: ListeningGroup, user: User) -> Membership:
    found = Membership.objects.filter(group=group, user=user).first()
    if found is None:
        raise PermissionDenied("only members can do that in this room")
    return found


def _active_member(group: ListeningGroup, user: User) -> Membership:
    membership = member_get(group=group, user=user)
    if membership.muted:
        raise Muted("the host muted you in this room")
    return membership


def queue_order(*, group_id: int) -> list[QueueEntry]:
    """The upcoming entries in play order: members' adds by net votes, then autofill."""
    entries = (
        QueueEntry.objects.filter(group_id=group_id, state=QueueEntry.State.QUEUED)
        .annotate(net=Coalesce(Sum("votes__value"), 0))
        .select_related("track__artist", "added_by")
    )
    return sorted(entries, key=lambda e: (e.added_by_id is None, -e.net, e.pk))  # type: ignore[attr-defined]


def _entry(group: ListeningGroup, entry_id: int) -> QueueEntry:
    found = QueueEntry.objects.filter(group=group, pk=entry_id).first()
    if found is None:
        raise NotFound(f"no entry {entry_id} in this room", extra={"fields": {"entry": []}})
    return found


@transaction.atomic
def room_track_enqueue(*, group: ListeningGroup, user: User, spotify_id: str) -> QueueEntry:
    """A member adds a track: at most ``group.add_cap`` waiting at once, no duplicates."""
    _active_member(group, user)
    track = Track.objects.filter(spotify_id=spotify_id).select_related("artist").first()
    if track is None:
        raise ApplicationError(
            f"no track {spotify_id!r}", extra={"fields": {"track": ["unknown track"]}}
        )
    waiting = QueueEntry.objects.filter(
        group=group, state__in=[QueueEntry.State.QUEUED, QueueEntry.State.PLAYING]
    )
    if waiting.filter(track=track).exists():
        raise ApplicationError(
            f"{track.name} is already in the queue", extra={"fields": {"track": ["queued"]}}
        )
    if waiting.filter(added_by=user, state=QueueEntry.State.QUEUED).count() >= group.add_cap:
        raise LimitReached(f"you have {group.add_cap} tracks waiting; add more once one has played")
    entry = QueueEntry(
        group=group, track=track, added_by=user,
        why={"explanation": f"added by {user.display_name or user.username}", "members": []},
    )  # fmt: skip
    entry.full_clean()
    entry.save()
    room_changed_on_commit(group_id=group.pk, recompute=True)
    return entry


@transaction.atomic
def entry_vote(*, group: ListeningGroup, user: User, entry_id: int, value: int) -> dict[str, Any]:
    """Up (+1), down (-1) or withdraw (0) a vote on an upcoming entry; returns its tally.

    A down-vote majority of the room takes an entry off the queue.
    """
    _active_member(group, user)
    if value not in (-1, 0, 1):
        raise ApplicationError("a vote is -1, 0 or 1", extra={"fields": {"value": ["-1, 0 or 1"]}})
    entry = _entry(group, entry_id)
    if entry.state != QueueEntry.State.QUEUED:
        raise ApplicationError("only upcoming tracks take votes", extra={"fields": {"entry": []}})
    if value:
        QueueVote.objects.update_or_create(entry=entry, user=user, defaults={"value": value})
    else:
        QueueVote.objects.filter(entry=entry, user=user).delete()
    tally = QueueVote.objects.filter(entry=entry).aggregate(
        up=Count("pk", filter=Q(value=1)), down=Count("pk", filter=Q(value=-1))
    )
    members = group.memberships.count()
    removed = tally["down"] - tally["up"] > members // 2
    if removed:
        entry.state = QueueEntry.State.REMOVED
        entry.save(update_fields=["state"])
    frame = {
        "type": "votes", "entry": entry.pk, "up": tally["up"], "down": tally["down"],
        "by": user.pk, "value": value, "removed": removed,
    }  # fmt: skip
    room_event_send_on_commit(group_id=group.pk, event=frame)
    return frame


def vote_feedback_record(*, group: ListeningGroup, user: User, entry_id: int, value: int) -> None:
    """The vote as a learning signal for the voter (after the tally went out)."""
    from recommender.services.listeners import feedback_record

    if not value:
        return
    entry = QueueEntry.objects.filter(group=group, pk=entry_id).select_related("track").first()
    if entry is not None:
        feedback_record(user=user, track=entry.track, kind="vote", value=value, group=group)


@transaction.atomic
def entry_veto(*, group: ListeningGroup, user: User, entry_id: int) -> None:
    """Spend one of the member's vetoes to take an upcoming entry off the queue."""
    from groups.models import MemberLedger

    _active_member(group, user)
    entry = _entry(group, entry_id)
    if entry.state != QueueEntry.State.QUEUED:
        raise ApplicationError(
            "only upcoming tracks can be vetoed", extra={"fields": {"entry": []}}
        )
    ledger, _ = MemberLedger.objects.select_for_update().get_or_create(group=group, user=user)
    if ledger.vetoes_used >= group.veto_budget:
        raise LimitReached(f"you have used your {group.veto_budget} vetoes")
    ledger.vetoes_used += 1
    ledger.save(update_fields=["vetoes_used"])
    entry.state = QueueEntry.State.REMOVED
    entry.save(update_fields=["state"])
    room_changed_on_commit(group_id=group.pk, recompute=True)


@transaction.atomic
def entry_remove(*, group: ListeningGroup, host: User, entry_id: int) -> None:
    from groups.services.rooms import host_check

    host_check(group=group, user=host)
    entry = _entry(group, entry_id)
    if entry.state != QueueEntry.State.QUEUED:
        raise ApplicationError(
            "only upcoming tracks can be removed", extra={"fields": {"entry": []}}
        )
    entry.state = QueueEntry.State.REMOVED
    entry.save(update_fields=["state"])
    room_changed_on_commit(group_id=group.pk, recompute=True)


def queue_refresh_by_id(*, group_id: int) -> None:
    group = ListeningGroup.objects.filter(pk=group_id).first()
    if group is not None:
        queue_refresh(group=group)


@transaction.atomic
def queue_refresh(*, group: ListeningGroup) -> None:
    """Recompute the autofill part of the queue (kept: entries someone voted on) and top it up.

    Also starts the first track (paused) in a room with nothing loaded.
    """
    queued = QueueEntry.objects.filter(group=group, state=QueueEntry.State.QUEUED)
    stale = queued.filter(added_by__isnull=True).exclude(votes__isnull=False)
    stale.delete()
    _top_up(group)
    if group.playing_id is None:
        from groups.services.playback import playback_advance

        if playback_advance(group=group, outcome=None) is not None:
            group.refresh_from_db()
            _top_up(group)


def _top_up(group: ListeningGroup) -> None:
    need = UPCOMING - QueueEntry.objects.filter(group=group, state=QueueEntry.State.QUEUED).count()
    if need > 0:
        _autofill(group, need)


def _autofill(group: ListeningGroup, need: int) -> None:
    used = set(QueueEntry.objects.filter(group=group).values_list("track__spotify_id", flat=True))
    upcoming = queue_order(group_id=group.pk)
    last = upcoming[-1].track_id if upcoming else _playing_or_last_played(group)
    candidates = [c for c in _candidates(group) if c["spotify_id"] not in used]
    tracks = {
        t.spotify_id: t
        for t in Track.objects.filter(spotify_id__in=[c["spotify_id"] for c in candidates])
    }
    candidates = [c for c in candidates if c["spotify_id"] in tracks]
    chosen = flow_order(candidates, start_track_id=last, n=need, tracks=tracks)
    QueueEntry.objects.bulk_create(
        QueueEntry(group=group, track=tracks[c["spotify_id"]], score=c["score"], why=c["why"])
        for c in chosen
    )


def _playing_or_last_played(group: ListeningGroup) -> int | None:
    if group.playing_id is not None:
        return (
            QueueEntry.objects.filter(pk=group.playing_id)
            .values_list("track_id", flat=True)
            .first()
        )
    return (
        QueueEntry.objects.filter(
            group=group, state__in=[QueueEntry.State.PLAYED, QueueEntry.State.SKIPPED]
        )
        .order_by("-ended_at", "-pk")
        .values_list("track_id", flat=True)
        .first()
    )


def _candidates(group: ListeningGroup) -> list[dict[str, Any]]:
    """Group recommendations as ``{spotify_id, score, why}``, or popular tracks without them."""
    from recommender.serving.groups import group_recommendations

    try:
        found = group_recommendations(group_id=group.pk, n=CANDIDATES, policy=group.policy)
    except ModelNotReady as error:
        logger.info("room %s autofills popular tracks: %s", group.pk, error)
        return _popular(group)
    return [
        {
            "spotify_id": r["track"]["spotify_id"],
            "score": r["score"],
            "why": {
                "explanation": r["explanation"],
                "members": [
                    {"id": m["id"], "user": m["user"], "feeling": m["feeling"]}
                    for m in r["members"]
                ],
            },
        }
        for r in found["results"]
    ]


def _popular(group: ListeningGroup) -> list[dict[str, Any]]:
    rows = Track.objects.order_by("-popularity", "pk").values_list("spotify_id", "popularity")
    return [
        {
            "spotify_id": sid,
            "score": float(pop or 0) / 100,
            "why": {
                "explanation": "popular right now (the group model is not trained)",
                "members": [],
            },
        }
        for sid, pop in rows[: CANDIDATES * 3]
    ]

"""The room as every member sees it: one JSON frame, built once per change and broadcast.

Per-member details (your vote, your adds left) are derived by the client from the member
lists and vote maps in the frame, so one frame serves the whole room.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from django.db.models import Prefetch
from django.utils import timezone

from groups.models import ListeningGroup, MemberLedger, Membership, QueueEntry, QueueVote
from groups.services.playback import duration_ms, position_ms, stale_after
from groups.services.queue import queue_order

HISTORY = 12


class TrackFrame(TypedDict):
    spotify_id: str
    name: str
    artist: str
    album: str
    duration_ms: int


class EntryFrame(TypedDict):
    id: int
    track: TrackFrame
    added_by: dict[str, Any] | None
    source: str  # "member" or "autofill"
    state: str
    votes: dict[str, int]  # user id (str) -> +1 / -1
    up: int
    down: int
    skip_votes: list[int]
    reactions: dict[str, int]
    why: dict[str, Any]


class MemberFrame(TypedDict):
    id: int
    name: str
    role: str
    muted: bool
    online: bool
    guest: bool
    harmony: float
    vetoes_used: int
    queued: int


class RoomFrame(TypedDict):
    id: int
    code: str
    name: str
    policy: str
    allow_explicit: bool
    locked: bool
    max_members: int
    add_cap: int
    veto_budget: int
    members: list[MemberFrame]
    harmony: float
    now_playing: EntryFrame | None
    is_playing: bool
    position_ms: int
    server_time_ms: int
    queue: list[EntryFrame]
    history: list[EntryFrame]


def _name(user: Any) -> str:
    return str(user.display_name or user.username)


def entry_frame(entry: QueueEntry) -> EntryFrame:
    votes = {str(v.user_id): v.value for v in entry.votes.all()}
    track = entry.track
    return EntryFrame(
        id=entry.pk,
        track=TrackFrame(
            spotify_id=track.spotify_id,
            name=track.name,
            artist=track.artist.name,
            album=track.album_name,
            duration_ms=duration_ms(entry),
        ),
        added_by=(
            {"id": entry.added_by.pk, "name": _name(entry.added_by)} if entry.added_by else None
        ),
        source="member" if entry.added_by_id else "autofill",
        state=entry.state,
        votes=votes,
        up=sum(1 for v in votes.values() if v > 0),
        down=sum(1 for v in votes.values() if v < 0),
        skip_votes=[s.user_id for s in entry.skip_votes.all()],
        reactions=dict(entry.reactions),
        why=dict(entry.why),
    )


def _entries(ids: list[int]) -> dict[int, QueueEntry]:
    rows = QueueEntry.objects.filter(pk__in=ids).select_related("track__artist", "added_by")
    rows = rows.prefetch_related(
        Prefetch("votes", queryset=QueueVote.objects.only("entry_id", "user_id", "value")),
        "skip_votes",
    )
    return {e.pk: e for e in rows}


def harmony(values: list[float]) -> float:
    """The room's harmony: the mean member's, less half the gap between happiest and least."""
    if not values:
        return 50.0
    return round(max(0.0, sum(values) / len(values) - 0.5 * (max(values) - min(values))), 1)


def room_state(*, group_id: int) -> RoomFrame | None:
    group = ListeningGroup.objects.filter(pk=group_id).first()
    if group is None:
        return None
    upcoming = [e.pk for e in queue_order(group_id=group_id)]
    played = list(
        QueueEntry.objects.filter(
            group_id=group_id, state__in=[QueueEntry.State.PLAYED, QueueEntry.State.SKIPPED]
        )
        .order_by("-ended_at", "-pk")
        .values_list("pk", flat=True)[:HISTORY]
    )
    playing = [group.playing_id] if group.playing_id else []
    entries = _entries(upcoming + played + playing)
    members = _members(group, [entries[pk] for pk in upcoming if pk in entries])
    return RoomFrame(
        id=group.pk, code=group.code, name=group.name, policy=group.policy,
        allow_explicit=group.allow_explicit, locked=group.locked, max_members=group.max_members,
        add_cap=group.add_cap, veto_budget=group.veto_budget, members=members,
        harmony=harmony([m["harmony"] for m in members]),
        now_playing=entry_frame(entries[group.playing_id]) if group.playing_id in entries else None,
        is_playing=group.is_playing, position_ms=position_ms(group),
        server_time_ms=int(time.time() * 1000),
        queue=[entry_frame(entries[pk]) for pk in upcoming if pk in entries],
        history=[entry_frame(entries[pk]) for pk in played if pk in entries],
    )  # fmt: skip


def _members(group: ListeningGroup, upcoming: list[QueueEntry]) -> list[MemberFrame]:
    ledgers = {ledger.user_id: ledger for ledger in MemberLedger.objects.filter(group=group)}
    fresh = timezone.now() - stale_after()
    out = []
    memberships = Membership.objects.filter(group=group).select_related("user__profile")
    for m in memberships.order_by("joined_at", "pk"):
        ledger = ledgers.get(m.user_id)
        profile = getattr(m.user, "profile", None)
        out.append(
            MemberFrame(
                id=m.user_id,
                name=_name(m.user),
                role=m.role,
                muted=m.muted,
                online=m.last_seen is not None and m.last_seen >= fresh,
                guest=profile is not None and profile.source == "guest",
                harmony=round(ledger.harmony, 1) if ledger else 50.0,
                vetoes_used=ledger.vetoes_used if ledger else 0,
                queued=sum(1 for e in upcoming if e.added_by_id == m.user_id),
            )
        )
    return out

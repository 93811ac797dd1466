"""Reads for the listening-room pages: who is in a room, its recap, a listener's rooms."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import QuerySet

from groups.models import ListeningGroup, MemberLedger, Membership, QueueEntry, SessionPlaylist
from groups.room_state import harmony
from groups.services.playback import duration_ms
from recommender.models import User

OUTCOMES = (QueueEntry.State.PLAYED, QueueEntry.State.SKIPPED, QueueEntry.State.PLAYING)


def membership_get(*, group: ListeningGroup, user: User) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(group=group, user=user).first()


def room_was_visited(*, group: ListeningGroup, user: User) -> bool:
    """Whether ``user`` was ever in the room (kept after they leave or are removed)."""
    return user.is_authenticated and MemberLedger.objects.filter(group=group, user=user).exists()


def room_host_name(*, group: ListeningGroup) -> str | None:
    host = (
        Membership.objects.filter(group=group, role=Membership.Role.HOST)
        .select_related("user")
        .first()
    )
    return None if host is None else str(host.user)


def user_room_list(*, user: User) -> QuerySet[ListeningGroup]:
    """The live rooms ``user`` is in, the newest first."""
    return ListeningGroup.objects.filter(
        kind=ListeningGroup.Kind.ROOM, is_active=True, memberships__user=user
    ).order_by("-created_at")


def session_playlist_list(*, user: User) -> QuerySet[SessionPlaylist]:
    return SessionPlaylist.objects.filter(user=user).select_related("group").order_by("-pk")


@dataclass(frozen=True)
class RecapTrack:
    position: int
    name: str
    artist: str
    added_by: str | None
    outcome: str  # played, skipped, playing
    reactions: list[tuple[str, int]]
    minutes: float


@dataclass(frozen=True)
class RecapMember:
    name: str
    harmony: float
    tracks_heard: int
    vetoes_used: int
    here: bool
    host: bool
    removed: bool
    is_you: bool


@dataclass(frozen=True)
class Recap:
    tracks: list[RecapTrack]
    members: list[RecapMember]
    harmony: float
    totals: dict[str, int] = field(default_factory=dict)


def _tracks(group: ListeningGroup) -> list[RecapTrack]:
    entries = (
        QueueEntry.objects.filter(group=group, state__in=OUTCOMES, started_at__isnull=False)
        .select_related("track__artist", "added_by")
        .order_by("started_at", "pk")
    )
    return [
        RecapTrack(
            position=n,
            name=e.track.name,
            artist=e.track.artist.name,
            added_by=None if e.added_by is None else str(e.added_by),
            outcome=e.state,
            reactions=sorted(e.reactions.items(), key=lambda pair: -int(pair[1])),
            minutes=duration_ms(e) / 60_000,
        )
        for n, e in enumerate(entries, start=1)
    ]


def _members(group: ListeningGroup, viewer: User) -> list[RecapMember]:
    roles = dict(Membership.objects.filter(group=group).values_list("user_id", "role"))
    ledgers = MemberLedger.objects.filter(group=group).select_related("user")
    members = [
        RecapMember(
            name=str(ledger.user), harmony=round(ledger.harmony, 1),
            tracks_heard=ledger.tracks_heard, vetoes_used=ledger.vetoes_used,
            here=ledger.user_id in roles, host=roles.get(ledger.user_id) == Membership.Role.HOST,
            removed=ledger.banned, is_you=ledger.user_id == viewer.pk,
        )
        for ledger in ledgers
    ]  # fmt: skip
    return sorted(members, key=lambda m: (-m.harmony, m.name.lower()))


def room_recap(*, group: ListeningGroup, viewer: User) -> Recap:
    """What played (in order), how it suited each member, and the session's totals."""
    tracks = _tracks(group)
    members = _members(group, viewer)
    heard = [t for t in tracks if t.outcome == QueueEntry.State.PLAYED]
    totals = {
        "played": sum(t.outcome == QueueEntry.State.PLAYED for t in tracks),
        "skipped": sum(t.outcome == QueueEntry.State.SKIPPED for t in tracks),
        "member_picks": sum(t.added_by is not None for t in tracks),
        "autofill": sum(t.added_by is None for t in tracks),
        "reactions": sum(n for t in tracks for _, n in t.reactions),
        "minutes": round(sum(t.minutes for t in heard)),
        "people": len(members),
    }
    return Recap(
        tracks=tracks,
        members=members,
        harmony=harmony([m.harmony for m in members]),
        totals=totals,
    )

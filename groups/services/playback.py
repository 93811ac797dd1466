"""What plays now: play, pause, next, vote-to-skip, reactions, and the fairness ledger.

Playback lives in the database in server time (``position_ms`` at ``resumed_at``), so every
member, a late joiner and a server restart agree on where the track is. A track that ends
(clients send ``tick``; the server checks the clock) or is skipped credits each member's ledger
with how well it suited them, which the room's harmony meter shows.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audotics.errors import ApplicationError
from groups.events import room_changed_on_commit, room_event_send_on_commit
from groups.models import ListeningGroup, MemberLedger, Membership, QueueEntry, SkipVote
from recommender.models import FeedbackEvent, User
from recommender.serving.rooms import room_revision_bump_on_commit
from recommender.serving.state import listener_generation_bump_on_commit

DEFAULT_DURATION_MS = 180_000
REACTIONS = ("🔥", "❤️", "🎉", "😂", "👏", "😴")
#: how well a track suited a member, by the group model's feeling and their own votes
SATISFACTION = {"fits": 1.0, "neutral": 0.5, "not for": 0.0}


def duration_ms(entry: QueueEntry) -> int:
    return int(entry.track.duration_ms or DEFAULT_DURATION_MS)


def position_ms(group: ListeningGroup) -> int:
    """Where the playing track is now, in milliseconds."""
    if not group.is_playing or group.resumed_at is None:
        return int(group.position_ms)
    elapsed = (timezone.now() - group.resumed_at).total_seconds() * 1000
    return int(group.position_ms + max(0.0, elapsed))


def _locked(group: ListeningGroup) -> ListeningGroup:
    return ListeningGroup.objects.select_for_update().get(pk=group.pk)


@transaction.atomic
def playback_advance(*, group: ListeningGroup, outcome: str | None) -> QueueEntry | None:
    """Finish the playing entry as ``outcome`` (played/skipped) and load the next one."""
    from groups.services.queue import queue_order, queue_refresh

    group = _locked(group)
    now = timezone.now()
    current = group.playing
    if current is not None and outcome is not None:
        current.state = outcome
        current.ended_at = now
        current.save(update_fields=["state", "ended_at"])
        _credit(group, current)
    upcoming = queue_order(group_id=group.pk)
    following = upcoming[0] if upcoming else None
    if following is not None:
        following.state = QueueEntry.State.PLAYING
        following.started_at = now
        following.save(update_fields=["state", "started_at"])
    group.playing = following
    group.position_ms = 0
    group.resumed_at = now
    group.save(update_fields=["playing", "position_ms", "resumed_at", "updated_at"])
    if outcome is not None:
        queue_refresh(group=group)
        room_changed_on_commit(group_id=group.pk)
    return following


def _credit(group: ListeningGroup, entry: QueueEntry) -> None:
    """Ledger and learning after a track: plays for everyone who heard it through."""
    feelings = {m.get("id"): m["feeling"] for m in entry.why.get("members", [])}
    votes = dict(entry.votes.values_list("user_id", "value"))
    skippers = set(entry.skip_votes.values_list("user_id", flat=True))
    members = list(Membership.objects.filter(group=group).select_related("user"))
    for membership in members:
        user = membership.user
        score = SATISFACTION.get(feelings.get(user.pk, "neutral"), 0.5)
        if votes.get(user.pk) == 1 or entry.added_by_id == user.pk:
            score = 1.0
        if votes.get(user.pk) == -1 or user.pk in skippers:
            score = 0.0
        ledger, _ = MemberLedger.objects.get_or_create(group=group, user=user)
        ledger.satisfaction += score
        ledger.tracks_heard += 1
        ledger.save(update_fields=["satisfaction", "tracks_heard"])
    if entry.state == QueueEntry.State.PLAYED:
        FeedbackEvent.objects.bulk_create(
            FeedbackEvent(user=m.user, track=entry.track, kind=FeedbackEvent.Kind.PLAY, group=group)
            for m in members
        )
        for m in members:  # bulk_create sends no signals: the serving state is told here
            listener_generation_bump_on_commit(user_id=m.user_id)
    room_revision_bump_on_commit(group_id=group.pk)


@transaction.atomic
def playback_play(*, group: ListeningGroup, host: User) -> None:
    from groups.services.rooms import host_check

    host_check(group=group, user=host)
    group = _locked(group)
    if not group.is_playing:
        group.is_playing = True
        group.resumed_at = timezone.now()
        group.save(update_fields=["is_playing", "resumed_at", "updated_at"])
        room_changed_on_commit(group_id=group.pk)


@transaction.atomic
def playback_pause(*, group: ListeningGroup, host: User) -> None:
    from groups.services.rooms import host_check

    host_check(group=group, user=host)
    group = _locked(group)
    if group.is_playing:
        group.position_ms = min(position_ms(group), 2**31 - 1)
        group.is_playing = False
        group.save(update_fields=["is_playing", "position_ms", "updated_at"])
        room_changed_on_commit(group_id=group.pk)


@transaction.atomic
def playback_next(*, group: ListeningGroup, host: User) -> None:
    from groups.services.rooms import host_check

    host_check(group=group, user=host)
    playback_advance(group=group, outcome=QueueEntry.State.SKIPPED)


@transaction.atomic
def playback_tick(*, group: ListeningGroup) -> bool:
    """Advance when the playing track has ended by the server's clock; True if it did."""
    group = _locked(group)
    entry = group.playing
    if entry is None or not group.is_playing:
        return False
    if position_ms(group) < duration_ms(entry) - 500:
        return False
    playback_advance(group=group, outcome=QueueEntry.State.PLAYED)
    return True


@transaction.atomic
def skip_vote(*, group: ListeningGroup, user: User) -> dict[str, int | bool]:
    """Vote to skip the playing track; a majority of the room skips it."""
    from groups.services.queue import _active_member
    from recommender.services.listeners import feedback_record

    _active_member(group, user)
    group = _locked(group)
    entry = group.playing
    if entry is None:
        raise ApplicationError("nothing is playing", extra={"fields": {}})
    _, created = SkipVote.objects.get_or_create(entry=entry, user=user)
    if created:
        feedback_record(user=user, track=entry.track, kind="skip", group=group)
    votes = SkipVote.objects.filter(entry=entry).count()
    needed = group.memberships.count() // 2 + 1
    skipped = votes >= needed
    if skipped:
        playback_advance(group=group, outcome=QueueEntry.State.SKIPPED)
    else:
        room_changed_on_commit(group_id=group.pk)
    return {"votes": votes, "needed": needed, "skipped": skipped}


@transaction.atomic
def room_react(*, group: ListeningGroup, user: User, emoji: str) -> None:
    """A reaction to the playing track, shown to everyone at once and counted on the entry."""
    from groups.services.queue import _active_member

    _active_member(group, user)
    if emoji not in REACTIONS:
        raise ApplicationError(
            "unknown reaction", extra={"fields": {"emoji": [f"one of {' '.join(REACTIONS)}"]}}
        )
    group = _locked(group)
    entry = group.playing
    if entry is None:
        raise ApplicationError("nothing is playing", extra={"fields": {}})
    entry.reactions[emoji] = int(entry.reactions.get(emoji, 0)) + 1
    entry.save(update_fields=["reactions"])
    room_event_send_on_commit(
        group_id=group.pk,
        event={"type": "reaction", "entry": entry.pk, "emoji": emoji, "by": user.pk},
    )


@transaction.atomic
def now_playing_feedback(*, group: ListeningGroup, user: User, kind: str) -> None:
    """Like or dislike the playing track (a learning signal for the member and the room)."""
    from groups.services.queue import _active_member
    from recommender.services.listeners import feedback_record

    _active_member(group, user)
    if kind not in ("like", "dislike"):
        raise ApplicationError("feedback is like or dislike", extra={"fields": {"kind": []}})
    entry = ListeningGroup.objects.get(pk=group.pk).playing
    if entry is None:
        raise ApplicationError("nothing is playing", extra={"fields": {}})
    feedback_record(user=user, track=entry.track, kind=kind, group=group)
    room_changed_on_commit(group_id=group.pk, recompute=True)


def stale_after() -> timedelta:
    return timedelta(seconds=60)

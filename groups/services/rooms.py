"""A listening room's life: create, join (members and guests), leave, and the host's controls.

Every service writes first and broadcasts after commit (``groups.events``); the queue is
recomputed by ``groups.services.queue`` whenever who is in the room or its policy changes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audotics.errors import ApplicationError, PermissionDenied
from groups.events import room_changed_on_commit, room_event_send_on_commit
from groups.models import ListeningGroup, MemberLedger, Membership
from ml.group.policies import LEARNED, POLICIES
from recommender.models import ListenerProfile, User
from recommender.services.listeners import listener_preferences_update

ROOM_POLICIES = (LEARNED, *POLICIES)
#: open sockets per member are counted in the cache for a day at most (a crashed server's
#: count expires; pings keep presence fresh in between)
SOCKETS_TTL = 86_400


class RoomFull(ApplicationError):
    code = "room_full"
    http_status = 409


class RoomLocked(ApplicationError):
    code = "room_locked"
    http_status = 403


class Banned(ApplicationError):
    code = "banned"
    http_status = 403


class NotHost(PermissionDenied):
    code = "not_host"


def policy_check(policy: str) -> str:
    if policy not in ROOM_POLICIES:
        raise ApplicationError(
            f"unknown policy {policy!r}; choose from {', '.join(ROOM_POLICIES)}",
            extra={"fields": {"policy": [f"choose from {', '.join(ROOM_POLICIES)}"]}},
        )
    return policy


@transaction.atomic
def room_create(
    *,
    owner: User,
    name: str,
    policy: str = LEARNED,
    allow_explicit: bool = True,
    max_members: int = 20,
    add_cap: int = 3,
    veto_budget: int = 2,
) -> ListeningGroup:
    """A new live room with ``owner`` as its host; its queue is filled at once."""
    room = ListeningGroup(
        name=name.strip(),
        kind=ListeningGroup.Kind.ROOM,
        owner=owner,
        policy=policy_check(policy),
        allow_explicit=allow_explicit,
        max_members=max_members,
        add_cap=add_cap,
        veto_budget=veto_budget,
    )
    room.full_clean()
    room.save()
    Membership.objects.create(group=room, user=owner, role=Membership.Role.HOST)
    MemberLedger.objects.create(group=room, user=owner)
    from groups.services.queue import queue_refresh

    queue_refresh(group=room)
    return room


@transaction.atomic
def guest_create(
    *, display_name: str, seed_artists: Sequence[str] = (), seed_genres: Sequence[str] = ()
) -> User:
    """A guest listener: a display name and a few seeds (their cold start), no password."""
    name = display_name.strip()
    if not name:
        raise ApplicationError(
            "a guest needs a display name", extra={"fields": {"display_name": ["required"]}}
        )
    user = User(username=f"guest-{secrets.token_hex(5)}", display_name=name[:150])
    user.set_unusable_password()
    user.full_clean()
    user.save()
    ListenerProfile.objects.create(user=user, source=ListenerProfile.Source.GUEST)
    if seed_artists or seed_genres:
        listener_preferences_update(
            user=user, seed_artists=list(seed_artists), seed_genres=list(seed_genres)
        )
    return user


@transaction.atomic
def room_join(*, group: ListeningGroup, user: User) -> Membership:
    """Join ``group`` (idempotent for a member); refused when banned, locked or full."""
    group = ListeningGroup.objects.select_for_update().get(pk=group.pk)
    found = Membership.objects.filter(group=group, user=user).first()
    if found is not None:
        return found
    if not group.is_active:
        raise RoomLocked("this room has ended")
    ledger, _ = MemberLedger.objects.get_or_create(group=group, user=user)
    if ledger.banned:
        raise Banned("the host removed you from this room")
    if group.locked:
        raise RoomLocked("the host locked this room")
    if group.memberships.count() >= group.max_members:
        raise RoomFull(f"this room is full ({group.max_members} members)")
    membership = Membership.objects.create(group=group, user=user)
    room_changed_on_commit(group_id=group.pk, recompute=True)
    return membership


@transaction.atomic
def room_leave(*, group: ListeningGroup, user: User) -> None:
    """Leave; a leaving host hands the room to the longest-standing member."""
    membership = Membership.objects.filter(group=group, user=user).first()
    if membership is None:
        return
    membership.delete()
    if membership.role == Membership.Role.HOST:
        heir = group.memberships.order_by("joined_at", "pk").first()
        if heir is None:
            ListeningGroup.objects.filter(pk=group.pk).update(
                is_playing=False, updated_at=timezone.now()
            )
        else:
            heir.role = Membership.Role.HOST
            heir.save(update_fields=["role"])
            ListeningGroup.objects.filter(pk=group.pk).update(owner=heir.user)
    room_changed_on_commit(group_id=group.pk, recompute=True)


def host_check(*, group: ListeningGroup, user: User) -> None:
    if not Membership.objects.filter(group=group, user=user, role=Membership.Role.HOST).exists():
        raise NotHost("only the host can do that")


def _member(group: ListeningGroup, user_id: int) -> Membership:
    found = Membership.objects.filter(group=group, user_id=user_id).first()
    if found is None:
        raise ApplicationError(
            f"user {user_id} is not in this room", extra={"fields": {"user": ["not a member"]}}
        )
    return found


@transaction.atomic
def member_kick(*, group: ListeningGroup, host: User, user_id: int) -> None:
    """Remove a member and keep them out (their ledger stays for the recap)."""
    host_check(group=group, user=host)
    if user_id == host.pk:
        raise ApplicationError("the host cannot kick themselves", extra={"fields": {"user": []}})
    _member(group, user_id).delete()
    MemberLedger.objects.update_or_create(group=group, user_id=user_id, defaults={"banned": True})
    room_event_send_on_commit(group_id=group.pk, event={"type": "kicked", "user": user_id})
    room_changed_on_commit(group_id=group.pk, recompute=True)


@transaction.atomic
def member_mute(*, group: ListeningGroup, host: User, user_id: int, muted: bool) -> None:
    host_check(group=group, user=host)
    membership = _member(group, user_id)
    membership.muted = muted
    membership.save(update_fields=["muted"])
    room_changed_on_commit(group_id=group.pk)


@transaction.atomic
def room_lock(*, group: ListeningGroup, host: User, locked: bool) -> None:
    host_check(group=group, user=host)
    group.locked = locked
    group.save(update_fields=["locked", "updated_at"])
    room_changed_on_commit(group_id=group.pk)


@transaction.atomic
def room_policy_set(*, group: ListeningGroup, host: User, policy: str) -> None:
    host_check(group=group, user=host)
    group.policy = policy_check(policy)
    group.save(update_fields=["policy", "updated_at"])
    room_changed_on_commit(group_id=group.pk, recompute=True)


def _sockets_key(group_id: int, user_id: int) -> str:
    return f"rooms:sockets:{group_id}:{user_id}"


def member_seen(*, group_id: int, user_id: int) -> None:
    """Presence: a member's socket is open (refreshed by pings)."""
    Membership.objects.filter(group_id=group_id, user_id=user_id).update(last_seen=timezone.now())


def member_socket_opened(*, group_id: int, user_id: int) -> None:
    key = _sockets_key(group_id, user_id)
    cache.add(key, 0, SOCKETS_TTL)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, SOCKETS_TTL)
    member_seen(group_id=group_id, user_id=user_id)


def member_socket_closed(*, group_id: int, user_id: int) -> None:
    """The member goes offline when their last socket (a phone, a TV tab...) closes."""
    key = _sockets_key(group_id, user_id)
    try:
        left = cache.decr(key)
    except ValueError:
        left = 0
    if left <= 0:
        cache.delete(key)
        Membership.objects.filter(group_id=group_id, user_id=user_id).update(
            last_seen=timezone.now() - timedelta(minutes=5)
        )

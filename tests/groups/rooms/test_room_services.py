"""Room services: the queue fills itself, votes order it, skips and host controls work."""

from __future__ import annotations

from typing import Any

import pytest

from audotics.errors import ApplicationError, PermissionDenied
from groups.models import ListeningGroup, MemberLedger, QueueEntry
from groups.room_state import room_state
from groups.services import playback, queue, rooms
from recommender.models import Track, User


def test_a_new_room_has_a_track_loaded_and_a_full_queue(live_room: ListeningGroup) -> None:
    state = room_state(group_id=live_room.pk)

    assert state is not None
    assert state["now_playing"] is not None
    assert len(state["queue"]) == queue.UPCOMING
    assert all(e["source"] == "autofill" for e in state["queue"])
    assert all(e["why"]["explanation"] for e in state["queue"])
    assert [m["role"] for m in state["members"]] == ["host", "member", "member"]


def test_member_adds_come_first_and_votes_order_them(
    live_room: ListeningGroup, listeners: list[User]
) -> None:
    used = set(QueueEntry.objects.filter(group=live_room).values_list("track_id", flat=True))
    a, b = Track.objects.exclude(pk__in=used).order_by("pk")[:2]
    first = queue.room_track_enqueue(group=live_room, user=listeners[1], spotify_id=a.spotify_id)
    second = queue.room_track_enqueue(group=live_room, user=listeners[2], spotify_id=b.spotify_id)

    queue.entry_vote(group=live_room, user=listeners[0], entry_id=second.pk, value=1)
    order = [e.pk for e in queue.queue_order(group_id=live_room.pk)]

    assert order[:2] == [second.pk, first.pk]
    assert len(order) >= queue.UPCOMING


def test_add_cap_duplicates_and_unknown_tracks_are_refused(
    live_room: ListeningGroup, listeners: list[User]
) -> None:
    used = set(QueueEntry.objects.filter(group=live_room).values_list("track_id", flat=True))
    free = list(Track.objects.exclude(pk__in=used).order_by("pk")[: live_room.add_cap + 1])
    for track in free[:-1]:
        queue.room_track_enqueue(group=live_room, user=listeners[1], spotify_id=track.spotify_id)

    with pytest.raises(queue.LimitReached):
        queue.room_track_enqueue(group=live_room, user=listeners[1], spotify_id=free[-1].spotify_id)
    with pytest.raises(ApplicationError, match="already in the queue"):
        queue.room_track_enqueue(group=live_room, user=listeners[2], spotify_id=free[0].spotify_id)
    with pytest.raises(ApplicationError, match="no track"):
        queue.room_track_enqueue(group=live_room, user=listeners[2], spotify_id="nope")


def test_a_majority_skips_and_the_ledger_records_it(
    live_room: ListeningGroup, listeners: list[User]
) -> None:
    playing = ListeningGroup.objects.get(pk=live_room.pk).playing_id

    first = playback.skip_vote(group=live_room, user=listeners[1])
    second = playback.skip_vote(group=live_room, user=listeners[2])

    assert first == {"votes": 1, "needed": 2, "skipped": False}
    assert second["skipped"] is True
    live_room.refresh_from_db()
    assert live_room.playing_id not in (None, playing)
    assert QueueEntry.objects.get(pk=playing).state == QueueEntry.State.SKIPPED
    ledgers = {x.user_id: x for x in MemberLedger.objects.filter(group=live_room)}
    assert ledgers[listeners[1].pk].harmony == 0.0
    assert all(x.tracks_heard == 1 for x in ledgers.values())
    assert len(queue.queue_order(group_id=live_room.pk)) >= queue.UPCOMING


def test_host_controls_are_for_the_host(live_room: ListeningGroup, listeners: list[User]) -> None:
    with pytest.raises(PermissionDenied):
        playback.playback_play(group=live_room, host=listeners[1])

    playback.playback_play(group=live_room, host=listeners[0])
    rooms.member_mute(group=live_room, host=listeners[0], user_id=listeners[2].pk, muted=True)
    with pytest.raises(queue.Muted):
        playback.skip_vote(group=live_room, user=listeners[2])
    rooms.member_kick(group=live_room, host=listeners[0], user_id=listeners[1].pk)
    with pytest.raises(rooms.Banned):
        rooms.room_join(group=live_room, user=listeners[1])
    rooms.room_lock(group=live_room, host=listeners[0], locked=True)

    state = room_state(group_id=live_room.pk)
    assert state is not None and state["is_playing"] and state["locked"]
    assert [m["id"] for m in state["members"]] == [listeners[0].pk, listeners[2].pk]


def test_a_guest_joins_with_seeds(live_room: ListeningGroup) -> None:
    guest = rooms.guest_create(display_name="Dee", seed_artists=[], seed_genres=[])
    rooms.room_join(group=live_room, user=guest)

    state = room_state(group_id=live_room.pk)
    assert state is not None
    assert {"name": "Dee", "guest": True}.items() <= next(
        m for m in state["members"] if m["id"] == guest.pk
    ).items()


def test_a_member_stays_online_until_their_last_socket_closes(
    live_room: ListeningGroup, listeners: list[User]
) -> None:
    def online() -> bool:
        state = room_state(group_id=live_room.pk)
        assert state is not None
        return next(m for m in state["members"] if m["id"] == listeners[1].pk)["online"]

    rooms.member_socket_opened(group_id=live_room.pk, user_id=listeners[1].pk)  # phone
    rooms.member_socket_opened(group_id=live_room.pk, user_id=listeners[1].pk)  # TV tab
    rooms.member_socket_closed(group_id=live_room.pk, user_id=listeners[1].pk)
    assert online()
    rooms.member_socket_closed(group_id=live_room.pk, user_id=listeners[1].pk)
    assert not online()


def test_the_ledger_credits_members_by_id_from_the_group_model_s_feelings(
    live_room: ListeningGroup, listeners: list[User], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # the joins recompute the queue
        queue.queue_refresh(group=live_room)
        playback.playback_play(group=live_room, host=listeners[0])
        playback.playback_advance(group=live_room, outcome=QueueEntry.State.SKIPPED)
    entry = ListeningGroup.objects.get(pk=live_room.pk).playing
    assert entry is not None and entry.added_by_id is None
    feelings = {m["id"]: m["feeling"] for m in entry.why["members"]}
    assert set(feelings) == {p.pk for p in listeners}
    before = {x.user_id: x.satisfaction for x in MemberLedger.objects.filter(group=live_room)}

    playback.playback_advance(group=live_room, outcome=QueueEntry.State.PLAYED)

    gained = {
        x.user_id: x.satisfaction - before[x.user_id]
        for x in MemberLedger.objects.filter(group=live_room)
    }
    assert gained == pytest.approx({pk: playback.SATISFACTION[f] for pk, f in feelings.items()})

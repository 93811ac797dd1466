"""session_playlist_save: what played, in order, for anyone who was in the room."""

from __future__ import annotations

import pytest

from audotics.errors import ApplicationError, PermissionDenied
from groups.models import ListeningGroup, QueueEntry
from groups.services import playback, queue, rooms
from groups.services.recap import session_playlist_save
from recommender.models import Track, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_played_tracks_in_order_with_who_added_them(
    live_room: ListeningGroup, listeners: list[User]
) -> None:
    used = set(QueueEntry.objects.filter(group=live_room).values_list("track_id", flat=True))
    pick = Track.objects.exclude(pk__in=used).order_by("pk").first()
    assert pick is not None
    queue.room_track_enqueue(group=live_room, user=listeners[1], spotify_id=pick.spotify_id)
    playback.playback_advance(group=live_room, outcome=QueueEntry.State.PLAYED)
    rooms.room_leave(group=live_room, user=listeners[1])

    playlist = session_playlist_save(group=live_room, user=listeners[1], name=" Kept ")

    assert playlist.name == "Kept"
    assert [t["spotify_id"] for t in playlist.tracks][1] == pick.spotify_id
    assert playlist.tracks[1]["added_by"] == str(listeners[1])
    assert playlist.tracks[0]["added_by"] is None


def test_strangers_and_blank_names_are_refused(
    live_room: ListeningGroup, listeners: list[User]
) -> None:
    with pytest.raises(PermissionDenied):
        session_playlist_save(group=live_room, user=UserFactory(), name="Mine")
    with pytest.raises(Exception, match="name"):
        session_playlist_save(group=live_room, user=listeners[0], name="  ")


def test_an_empty_session_cannot_be_saved(live_room: ListeningGroup, listeners: list[User]) -> None:
    QueueEntry.objects.filter(group=live_room).update(state=QueueEntry.State.QUEUED)

    with pytest.raises(ApplicationError, match="nothing has played"):
        session_playlist_save(group=live_room, user=listeners[0], name="Empty")

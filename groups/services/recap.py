"""After (or during) a session: save what the room played as one member's playlist."""

from __future__ import annotations

from django.db import transaction

from audotics.errors import ApplicationError, PermissionDenied
from groups.models import ListeningGroup, MemberLedger, QueueEntry, SessionPlaylist
from recommender.models import User

#: what a saved session keeps: tracks heard through, and the one playing now (not the skips)
KEPT = (QueueEntry.State.PLAYED, QueueEntry.State.PLAYING)


def _who(user: User | None) -> str | None:
    if user is None:
        return None
    return str(user.display_name or user.username)


@transaction.atomic
def session_playlist_save(*, group: ListeningGroup, user: User, name: str) -> SessionPlaylist:
    """Everything the room played, in order, as ``user``'s playlist ``name``.

    Anyone who was ever in the room may save it (their ledger outlives their membership).
    """
    if not MemberLedger.objects.filter(group=group, user=user).exists():
        raise PermissionDenied("only people who were in this room can save its session")
    entries = (
        QueueEntry.objects.filter(group=group, state__in=KEPT)
        .select_related("track__artist", "added_by")
        .order_by("started_at", "pk")
    )
    tracks = [
        {
            "spotify_id": entry.track.spotify_id,
            "name": entry.track.name,
            "artist": entry.track.artist.name,
            "added_by": _who(entry.added_by),
        }
        for entry in entries
    ]
    if not tracks:
        raise ApplicationError(
            "nothing has played in this room yet", extra={"fields": {"name": []}}
        )
    playlist = SessionPlaylist(group=group, user=user, name=name.strip(), tracks=tracks)
    playlist.full_clean()
    playlist.save()
    return playlist

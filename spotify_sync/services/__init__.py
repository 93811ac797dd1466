"""Writes of the Spotify integration (STYLE rule 2), by sub-domain.

``connections``: connect (PKCE) and disconnect; ``deletion``: every Spotify-derived row of a
user; ``matching``: Spotify tracks and artists to the catalogue; ``history`` and ``library``:
the ingest; ``sync``: a sync run over all of it; ``exports``: the data-export import;
``playback``: a room's queue on the host's device.
"""

from __future__ import annotations

from spotify_sync.services.connections import (
    PendingAuthorization,
    connection_authorize_start,
    connection_complete,
    connection_disconnect,
)
from spotify_sync.services.deletion import spotify_data_delete
from spotify_sync.services.exports import export_import
from spotify_sync.services.playback import (
    room_playback_next,
    room_playback_pause,
    room_playback_start,
)
from spotify_sync.services.sync import (
    sync_run_execute,
    sync_run_fail,
    sync_run_request,
    sync_run_start,
)

__all__ = [
    "PendingAuthorization",
    "connection_authorize_start",
    "connection_complete",
    "connection_disconnect",
    "export_import",
    "room_playback_next",
    "room_playback_pause",
    "room_playback_start",
    "spotify_data_delete",
    "sync_run_execute",
    "sync_run_fail",
    "sync_run_request",
    "sync_run_start",
]

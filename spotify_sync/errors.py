"""The Spotify integration's errors, in the product's one vocabulary (STYLE rules 4 and 9).

``client.py`` maps every Spotify, OAuth and HTTP failure to ``SpotifySyncError``; ``permanent``
tells a caller whether trying again later can help (a 503, a 429) or not (a revoked grant, a
closed endpoint, a user not on the app's development-mode allowlist).
"""

from __future__ import annotations

from audotics.errors import ApplicationError

NO_ACTIVE_DEVICE = (
    "Spotify has no active device for the host: open Spotify on a phone, computer or speaker, "
    "play anything for a second, then try again."
)


class SpotifySyncError(ApplicationError):
    code = "spotify_error"
    http_status = 502

    def __init__(
        self,
        message: str,
        permanent: bool,
        *,
        status: int | None = None,
        reason: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            extra={
                "permanent": permanent,
                "status": status,
                "reason": reason,
                "retry_after": retry_after,
            },
        )
        self.permanent = permanent
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


class SpotifyNoActiveDevice(SpotifySyncError):
    """Playback was asked for, but the host has no Spotify app open (404 NO_ACTIVE_DEVICE)."""

    code = "spotify_no_active_device"
    http_status = 409

    def __init__(self, message: str = NO_ACTIVE_DEVICE) -> None:
        super().__init__(message, True, status=404, reason="NO_ACTIVE_DEVICE")


class SpotifyNotConnected(ApplicationError):
    code = "spotify_not_connected"
    http_status = 409


class SpotifyNotConfigured(ApplicationError):
    code = "spotify_not_configured"
    http_status = 503


class SpotifyConnectFailed(ApplicationError):
    """The OAuth dance went wrong: bad or replayed state, declined consent, refused code."""

    code = "spotify_connect_failed"

"""The one module that imports spotipy (STYLE rule 9).

* **Where**: the API and accounts base URLs come from settings (``SPOTIFY_API_BASE``,
  ``SPOTIFY_ACCOUNTS_BASE``), so the tests and the demo point the real client at the local fake
  server. spotipy takes neither as an argument: ``prefix`` and the OAuth URLs are set after
  construction.
* **Tokens**: spotipy never touches the disk (no ``.cache`` file). The OAuth manager keeps its
  token in a ``MemoryCacheHandler`` for the length of one exchange or refresh; the API client is
  handed the access token, and a ``TokenStore`` (the database row, encrypted) is told of every
  new token.
* **Errors and retries**: spotipy's urllib3 retries are off (a plain ``requests.Session``), so
  the policy here is the only one and is testable. A 429 waits ``Retry-After``; a 5xx or a
  dropped connection backs off exponentially; both at most ``SPOTIFY_MAX_RETRIES`` times, and
  a ``Retry-After`` beyond ``SPOTIFY_MAX_RETRY_AFTER`` is handed back to the Celery task rather
  than slept. A 401 refreshes the token and retries once. Everything else becomes one
  ``SpotifySyncError(message, permanent)``.
* **Closed endpoints**: nothing here calls audio features, recommendations, related artists or
  the batch ``/tracks?ids=`` look-ups, which Spotify has closed to new apps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, cast

import requests
import spotipy
from django.conf import settings
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyOauthError, SpotifyPKCE

from spotify_sync.errors import SpotifyNoActiveDevice, SpotifyNotConfigured, SpotifySyncError

logger = logging.getLogger(__name__)
# spotipy logs every request's headers, bearer token included, at DEBUG: never let those out.
logging.getLogger("spotipy").setLevel(logging.INFO)

JSON = dict[str, Any]
# spotipy insists on a redirect URI even where the protocol does not use one (token refresh).
UNUSED_REDIRECT_URI = "http://127.0.0.1/unused"
REFRESH_MARGIN_S = 60  # refresh a token this long before Spotify says it expires
PERMANENT_OAUTH_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"}


class TokenInfo(TypedDict, total=False):
    access_token: str
    refresh_token: str
    expires_at: int
    expires_in: int
    scope: str
    token_type: str


class TokenStore(Protocol):
    """Where a connection's tokens live between calls (the services keep them encrypted)."""

    def load(self) -> TokenInfo: ...

    def save(self, token: TokenInfo) -> None: ...


@dataclass(frozen=True)
class SpotifyCredentials:
    client_id: str
    client_secret: str
    api_base: str
    accounts_base: str
    scopes: tuple[str, ...]
    timeout: float

    @property
    def api_prefix(self) -> str:
        return f"{self.api_base}/v1/"

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


def credentials_from_settings() -> SpotifyCredentials:
    """The typed settings, read once per client; one line when Spotify is not configured."""
    if not settings.USE_SPOTIFY or not settings.SPOTIFY_CLIENT_ID:
        raise SpotifyNotConfigured(
            "Spotify is not configured on this server: set SPOTIFY_CLIENT_ID (and register the "
            "redirect URI with the Spotify app)"
        )
    return SpotifyCredentials(
        client_id=settings.SPOTIFY_CLIENT_ID,
        client_secret=settings.SPOTIFY_CLIENT_SECRET,
        api_base=settings.SPOTIFY_API_BASE.rstrip("/"),
        accounts_base=settings.SPOTIFY_ACCOUNTS_BASE.rstrip("/"),
        scopes=tuple(settings.SPOTIFY_SCOPES),
        timeout=float(settings.SPOTIFY_REQUEST_TIMEOUT),
    )


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_s: float = 0.5
    max_wait_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, error: SpotifySyncError, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or ``None`` to give up."""
        if error.permanent or attempt >= self.max_retries:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_wait_s else None
        return float(self.backoff_s * 2**attempt)


def retry_policy_from_settings() -> RetryPolicy:
    scale = float(settings.SPOTIFY_RETRY_SLEEP_SCALE)
    return RetryPolicy(
        max_retries=settings.SPOTIFY_MAX_RETRIES,
        backoff_s=settings.SPOTIFY_RETRY_BACKOFF / 1000,
        max_wait_s=float(settings.SPOTIFY_MAX_RETRY_AFTER),
        sleep=lambda seconds: time.sleep(seconds * scale),
    )


# --- OAuth: Authorization Code with PKCE ----------------------------------------------------------


def _auth_manager(credentials: SpotifyCredentials, redirect_uri: str) -> SpotifyPKCE:
    session = requests.Session()
    if credentials.client_secret:  # a confidential client also authenticates itself
        session.auth = (credentials.client_id, credentials.client_secret)
    auth = SpotifyPKCE(
        client_id=credentials.client_id,
        redirect_uri=redirect_uri,
        scope=credentials.scope,
        cache_handler=MemoryCacheHandler(),
        requests_session=session,
        requests_timeout=credentials.timeout,
        open_browser=False,
    )
    auth.OAUTH_AUTHORIZE_URL = f"{credentials.accounts_base}/authorize"
    auth.OAUTH_TOKEN_URL = f"{credentials.accounts_base}/api/token"
    return auth


def authorize_url_build(
    *, credentials: SpotifyCredentials, redirect_uri: str, state: str
) -> tuple[str, str]:
    """The consent page URL and the PKCE code verifier to keep until the callback."""
    auth = _auth_manager(credentials, redirect_uri)
    auth.get_pkce_handshake_parameters()
    return str(auth.get_authorize_url(state=state)), str(auth.code_verifier)


def authorization_code_exchange(
    *, credentials: SpotifyCredentials, redirect_uri: str, code: str, code_verifier: str
) -> TokenInfo:
    """Trade the callback's ``code`` (and our verifier) for tokens at the token endpoint."""
    auth = _auth_manager(credentials, redirect_uri)
    auth.code_verifier = code_verifier
    auth.code_challenge = auth._get_code_challenge()
    try:
        auth.get_access_token(code=code, check_cache=False)
    except SpotifyOauthError as exc:
        raise _oauth_error(exc, "Spotify refused the sign-in code") from None
    except requests.RequestException as exc:
        raise _connection_error(exc) from None
    return cast(TokenInfo, auth.cache_handler.get_cached_token())


def _token_refresh(credentials: SpotifyCredentials, refresh_token: str) -> TokenInfo:
    auth = _auth_manager(credentials, UNUSED_REDIRECT_URI)
    try:
        return cast(TokenInfo, auth.refresh_access_token(refresh_token))
    except SpotifyOauthError as exc:
        raise _oauth_error(exc, "Spotify refused to refresh the connection") from None
    except requests.RequestException as exc:
        raise _connection_error(exc) from None


def _oauth_error(exc: SpotifyOauthError, what: str) -> SpotifySyncError:
    error = str(getattr(exc, "error", "") or "")
    description = getattr(exc, "error_description", None) or ""
    permanent = error in PERMANENT_OAUTH_ERRORS
    hint = ": connect Spotify again" if permanent else ""
    detail = f"{error}: {description}" if description else error[:200]
    return SpotifySyncError(f"{what} ({detail}){hint}", permanent, reason=error[:64])


def _connection_error(exc: requests.RequestException) -> SpotifySyncError:
    return SpotifySyncError(f"Spotify did not answer ({type(exc).__name__})", False)


# --- The Web API ------------------------------------------------------------------------------


def _api_error(exc: spotipy.SpotifyException) -> SpotifySyncError:
    status = int(exc.http_status)
    reason = str(exc.reason or "")
    message = str(exc.msg).split("\n", 1)[-1].strip() or f"HTTP {status}"
    if status == 404 and reason == "NO_ACTIVE_DEVICE":
        return SpotifyNoActiveDevice()
    if status == 429:
        retry_after = _retry_after((exc.headers or {}).get("Retry-After"))
        return SpotifySyncError(
            f"Spotify rate limit reached: retry in {retry_after:g} s",
            False,
            status=429,
            retry_after=retry_after,
        )
    if status >= 500:
        return SpotifySyncError(f"Spotify is unavailable (HTTP {status})", False, status=status)
    if status == 403:
        message += (
            " (a development-mode Spotify app only serves the users on its allowlist, and "
            "only with Premium)"
        )
    return SpotifySyncError(
        f"Spotify refused the request (HTTP {status}): {message}",
        True,
        status=status,
        reason=reason,
    )


def _retry_after(raw: str | None) -> float:
    try:
        return max(0.0, float(raw)) if raw is not None else 1.0
    except ValueError:
        return 1.0


class SpotifyApi:
    """A user's Spotify, read and driven on their behalf; every method returns Spotify's JSON."""

    def __init__(
        self,
        *,
        tokens: TokenStore,
        credentials: SpotifyCredentials | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._credentials = credentials or credentials_from_settings()
        self._policy = policy or retry_policy_from_settings()
        self._tokens = tokens
        self._token = tokens.load()
        self._sp = spotipy.Spotify(
            requests_session=requests.Session(),  # no urllib3 retries: the policy is ours
            requests_timeout=self._credentials.timeout,
            retries=0,
            status_retries=0,
        )
        self._sp.prefix = self._credentials.api_prefix

    # Reads ---------------------------------------------------------------------------------

    def me(self) -> JSON:
        return self._json(lambda sp: sp.current_user())

    def recently_played(self, *, after_ms: int | None, limit: int = 50) -> JSON:
        return self._json(lambda sp: sp.current_user_recently_played(limit=limit, after=after_ms))

    def top_artists(self, *, time_range: str, limit: int = 50, offset: int = 0) -> JSON:
        return self._json(
            lambda sp: sp.current_user_top_artists(
                limit=limit, offset=offset, time_range=time_range
            )
        )

    def top_tracks(self, *, time_range: str, limit: int = 50, offset: int = 0) -> JSON:
        return self._json(
            lambda sp: sp.current_user_top_tracks(limit=limit, offset=offset, time_range=time_range)
        )

    def saved_tracks(self, *, limit: int = 50, offset: int = 0) -> JSON:
        return self._json(lambda sp: sp.current_user_saved_tracks(limit=limit, offset=offset))

    def playlists(self, *, limit: int = 50, offset: int = 0) -> JSON:
        return self._json(lambda sp: sp.current_user_playlists(limit=limit, offset=offset))

    def playlist_items(self, *, playlist_id: str, limit: int = 50, offset: int = 0) -> JSON:
        return self._json(
            lambda sp: sp.playlist_items(
                playlist_id, limit=limit, offset=offset, additional_types=("track",)
            )
        )

    def next_page(self, page: JSON) -> JSON | None:
        """The page after ``page`` (its ``next`` URL), or ``None`` at the end."""
        url = page.get("next")
        if not url:
            return None
        if not str(url).startswith(self._credentials.api_prefix):
            # The bearer token goes with the request: never follow a link off the API.
            raise SpotifySyncError(f"Spotify sent a next-page link off the API: {url}", True)
        return self._json(lambda sp: sp.next(page))

    # Playback ------------------------------------------------------------------------------

    def devices(self) -> list[JSON]:
        answer = self._call(lambda sp: sp.devices()) or {}
        return list(answer.get("devices") or [])

    def playback_start(self, *, device_id: str | None, uris: list[str]) -> None:
        self._call(lambda sp: sp.start_playback(device_id=device_id, uris=uris))

    def playback_pause(self, *, device_id: str | None) -> None:
        self._call(lambda sp: sp.pause_playback(device_id=device_id))

    def playback_next(self, *, device_id: str | None) -> None:
        self._call(lambda sp: sp.next_track(device_id=device_id))

    # The policy ----------------------------------------------------------------------------

    def _json(self, operation: Callable[[spotipy.Spotify], Any]) -> JSON:
        answer = self._call(operation)
        if not isinstance(answer, dict):
            raise SpotifySyncError("Spotify answered without a JSON object", False)
        return answer

    def _call(self, operation: Callable[[spotipy.Spotify], Any]) -> Any:
        attempt = 0
        refreshed = False
        while True:
            if self._expires_soon():
                self._refresh()
            self._sp.set_auth(self._token["access_token"])
            try:
                return operation(self._sp)
            except spotipy.SpotifyException as exc:
                error = _api_error(exc)
            except requests.RequestException as exc:
                error = _connection_error(exc)
            if error.status == 401:
                if refreshed:
                    raise SpotifySyncError(
                        "Spotify rejects this connection's tokens: connect Spotify again",
                        True,
                        status=401,
                    )
                self._refresh()
                refreshed = True
                continue
            wait = self._policy.wait(error, attempt)
            if wait is None:
                raise error
            logger.info("spotify: %s; retry %d in %.2f s", error.message, attempt + 1, wait)
            self._policy.sleep(wait)
            attempt += 1

    def _expires_soon(self) -> bool:
        expires_at = int(self._token.get("expires_at", 0))
        return expires_at - time.time() < REFRESH_MARGIN_S

    def _refresh(self) -> None:
        refresh_token = self._token.get("refresh_token")
        if not refresh_token:
            raise SpotifySyncError("no refresh token stored: connect Spotify again", True)
        self._token = _token_refresh(self._credentials, refresh_token)
        self._tokens.save(self._token)

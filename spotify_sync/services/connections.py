"""Connecting a user's Spotify account (Authorization Code with PKCE) and disconnecting it."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from spotify_sync.client import (
    SpotifyApi,
    TokenInfo,
    authorization_code_exchange,
    authorize_url_build,
    credentials_from_settings,
)
from spotify_sync.crypto import token_decrypt, token_encrypt
from spotify_sync.errors import SpotifyConnectFailed
from spotify_sync.models import SpotifyConnection, SyncCursor
from spotify_sync.services.deletion import spotify_data_delete

PENDING_MAX_AGE_S = 15 * 60  # the consent page must come back within this


@dataclass(frozen=True)
class PendingAuthorization:
    """What the browser's session keeps between "connect" and Spotify's redirect back."""

    state: str
    code_verifier: str
    redirect_uri: str
    started_at: float

    def as_session(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_session(cls, data: Any) -> PendingAuthorization | None:
        try:
            return cls(**data)
        except TypeError:
            return None


class ConnectionTokens:
    """The database token store: tokens are decrypted on load and encrypted on save."""

    def __init__(self, connection: SpotifyConnection) -> None:
        self._connection = connection

    def load(self) -> TokenInfo:
        token: TokenInfo = token_decrypt(self._connection.tokens)  # type: ignore[assignment]
        return token

    def save(self, token: TokenInfo) -> None:
        fields = _token_fields(token)
        SpotifyConnection.objects.filter(pk=self._connection.pk).update(
            **fields, updated_at=timezone.now()
        )
        for name, value in fields.items():
            setattr(self._connection, name, value)


class MemoryTokens:
    """A token store for the moment between the code exchange and the first database write."""

    def __init__(self, token: TokenInfo) -> None:
        self.token = token

    def load(self) -> TokenInfo:
        return self.token

    def save(self, token: TokenInfo) -> None:
        self.token = token


def _token_fields(token: TokenInfo) -> dict[str, Any]:
    expires_at = int(token.get("expires_at") or time.time() + int(token.get("expires_in", 0)))
    return {
        "tokens": token_encrypt(dict(token)),
        "token_expires_at": dt.datetime.fromtimestamp(expires_at, tz=dt.UTC),
        "scope": str(token.get("scope", "")),
    }


def spotify_api_for_connection(*, connection: SpotifyConnection) -> SpotifyApi:
    return SpotifyApi(tokens=ConnectionTokens(connection))


def connection_authorize_start(*, redirect_uri: str) -> tuple[str, PendingAuthorization]:
    """The Spotify consent URL, and what to keep in the session until the callback."""
    credentials = credentials_from_settings()
    state = secrets.token_urlsafe(32)
    url, verifier = authorize_url_build(
        credentials=credentials, redirect_uri=redirect_uri, state=state
    )
    return url, PendingAuthorization(state, verifier, redirect_uri, time.time())


def _check_callback(
    pending: PendingAuthorization | None, *, state: str, code: str, error: str
) -> PendingAuthorization:
    if pending is None:
        raise SpotifyConnectFailed(
            "This Spotify sign-in has expired or was already used: press Connect again."
        )
    if not secrets.compare_digest(state.encode(), pending.state.encode()):
        raise SpotifyConnectFailed(
            "The answer from Spotify does not match the sign-in started here (state mismatch): "
            "nothing was connected. Press Connect again."
        )
    if time.time() - pending.started_at > PENDING_MAX_AGE_S:
        raise SpotifyConnectFailed("This Spotify sign-in took too long: press Connect again.")
    if error:
        raise SpotifyConnectFailed(
            f"Spotify did not grant access ({error[:64]}): nothing was connected."
        )
    if not code:
        raise SpotifyConnectFailed("Spotify sent no authorization code: press Connect again.")
    return pending


def connection_complete(
    *, user_id: int, pending: PendingAuthorization | None, state: str, code: str, error: str = ""
) -> SpotifyConnection:
    """Check the callback against the session, trade the code for tokens, keep them encrypted.

    The HTTP calls (token exchange, profile) happen before the transaction opens.
    """
    checked = _check_callback(pending, state=state, code=code, error=error)
    credentials = credentials_from_settings()
    token = authorization_code_exchange(
        credentials=credentials,
        redirect_uri=checked.redirect_uri,
        code=code,
        code_verifier=checked.code_verifier,
    )
    tokens = MemoryTokens(token)
    profile = SpotifyApi(tokens=tokens, credentials=credentials).me()
    connection = _connection_store(user_id=user_id, profile=profile, token=tokens.token)
    from spotify_sync.services.sync import sync_run_request  # sync builds on this module

    sync_run_request(user_id=user_id)  # the first sync starts once the connection is saved
    return connection


@transaction.atomic
def _connection_store(
    *, user_id: int, profile: dict[str, Any], token: TokenInfo
) -> SpotifyConnection:
    account = str(profile.get("id") or "")
    if not account:
        raise SpotifyConnectFailed("Spotify did not say which account signed in.")
    taken = SpotifyConnection.objects.filter(spotify_user_id=account).exclude(user_id=user_id)
    if taken.exists():
        raise SpotifyConnectFailed(
            "This Spotify account is already connected to another Audotics user."
        )
    connection = SpotifyConnection.objects.filter(user_id=user_id).first() or SpotifyConnection(
        user_id=user_id
    )
    connection.spotify_user_id = account
    connection.display_name = str(profile.get("display_name") or account)[:255]
    connection.product = str(profile.get("product") or "")[:32]
    for name, value in _token_fields(token).items():
        setattr(connection, name, value)
    connection.full_clean()
    connection.save()
    # Cursors of another account would skip this account's history.
    SyncCursor.objects.filter(user_id=user_id).exclude(spotify_user_id=account).delete()
    return connection


@transaction.atomic
def connection_disconnect(*, user_id: int, delete_data: bool) -> dict[str, int]:
    """Forget the tokens; with ``delete_data``, also every Spotify-derived row of the user.

    Returns the deleted row counts by model label. Spotify keeps no grant we can revoke by API:
    the user removes the app at spotify.com/account/apps (the page says so).
    """
    deleted, _ = SpotifyConnection.objects.filter(user_id=user_id).delete()
    counts = {"spotify_sync.SpotifyConnection": deleted}
    if delete_data:
        counts.update(spotify_data_delete(user_id=user_id))
    return counts

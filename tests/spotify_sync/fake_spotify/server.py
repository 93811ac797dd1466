"""A fake Spotify (accounts service + Web API) on 127.0.0.1, for the tests and the demo.

A real ``ThreadingHTTPServer`` in a thread, so the real spotipy client talks to it over HTTP.
It checks what Spotify checks (client id, registered redirect URI, single-use codes, the PKCE
verifier, bearer tokens and their scopes, Premium for playback, ``limit`` ranges), rotates
refresh tokens as the PKCE flow does, answers the endpoints Spotify has closed to new apps with
403, and injects faults on demand: N x 429 with ``Retry-After``, 5xx, expired tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.spotify_sync.fake_spotify import catalogue as c
from tests.spotify_sync.fake_spotify.catalogue import FakeUser

CLOSED = re.compile(
    r"^/v1/(audio-features|audio-analysis|recommendations|artists/[^/]+/related-artists"
    r"|artists/[^/]+/top-tracks|browse/featured-playlists|browse/categories/[^/]+/playlists)"
)
BATCH_LOOKUPS = {"/v1/tracks", "/v1/artists", "/v1/albums"}  # ?ids=... closed in dev mode


@dataclass
class Fault:
    path: str
    status: int
    times: int = 1
    retry_after: int | None = None
    skip: int = 0  # let this many matching requests through first
    method: str | None = None
    reason: str = ""


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    status: int
    at: float


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    location: str | None = None


def _error(status: int, message: str, reason: str = "") -> Answer:
    error: dict[str, Any] = {"status": status, "message": message}
    if reason:
        error["reason"] = reason
    return Answer(status, {"error": error})


def _oauth_error(error: str, description: str, status: int = 400) -> Answer:
    return Answer(status, {"error": error, "error_description": description})


@dataclass
class _Grant:
    user_id: str
    scope: str
    expires_at: float = 0.0


class FakeSpotify:
    """State and control of the fake; ``start()`` serves it, ``stop()`` ends it."""

    def __init__(
        self,
        *,
        client_id: str = "audotics-test-client",
        client_secret: str = "",
        redirect_uris: set[str] | None = None,
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = redirect_uris  # None accepts any (the demo)
        self.users: dict[str, FakeUser] = {}
        self.signed_in: str | None = None  # who consents at /authorize
        self.deny_consent = False
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self._codes: dict[str, dict[str, str]] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # Control ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeSpotify:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def add_user(self, user: FakeUser, *, sign_in: bool = True) -> FakeUser:
        with self._lock:
            self.users[user.id] = user
            if sign_in:
                self.signed_in = user.id
        return user

    def fail(
        self,
        path: str,
        status: int = 500,
        *,
        times: int = 1,
        retry_after: int | None = None,
        skip: int = 0,
        method: str | None = None,
        reason: str = "",
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path`` with ``status``."""
        with self._lock:
            self.faults.append(Fault(path, status, times, retry_after, skip, method, reason))

    def expire_access_tokens(self) -> None:
        """Every access token issued so far now gets 401 "The access token expired"."""
        with self._lock:
            for grant in self._access.values():
                grant.expires_at = 0.0

    def revoke_refresh_tokens(self) -> None:
        """The user removed the app at spotify.com/account/apps."""
        with self._lock:
            self._refresh.clear()
            self._access.clear()

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(path) and (method is None or r.method == method)
            ]

    def user(self, user_id: str) -> FakeUser:
        return self.users[user_id]

    # Dispatch ------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> Answer:
        if path.startswith("/v1/"):
            path = path.rstrip("/")  # Spotify answers /v1/me/ as /v1/me (spotipy asks for "me/")
        with self._lock:
            answer = self._fault(method, path) or self._route(method, path, query, headers, body)
            self.requests.append(Recorded(method, path, query, answer.status, time.monotonic()))
            return answer

    def _fault(self, method: str, path: str) -> Answer | None:
        """The first due fault for this request; every fault counts its ``skip`` down."""
        due: Fault | None = None
        for fault in self.faults:
            if fault.times <= 0 or not path.startswith(fault.path):
                continue
            if fault.method and fault.method != method:
                continue
            if fault.skip > 0:
                fault.skip -= 1
            elif due is None:
                due = fault
        if due is None:
            return None
        due.times -= 1
        if due.status == 429:
            answer = _error(429, "API rate limit exceeded")
            answer.headers["Retry-After"] = str(due.retry_after or 1)
            return answer
        if due.status == 401:
            return _error(401, "The access token expired")
        return _error(due.status, "Server error" if due.status >= 500 else "Error", due.reason)

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> Answer:
        if path == "/authorize" and method == "GET":
            return self._authorize(query)
        if path == "/api/token" and method == "POST":
            return self._token(headers, dict(parse_qsl(body.decode())))
        if not path.startswith("/v1/"):
            return _error(404, "Service not found")
        grant = self._bearer(headers)
        if isinstance(grant, Answer):
            return grant
        if CLOSED.match(path) or (path in BATCH_LOOKUPS and "ids" in query):
            return _error(403, "This endpoint is not available to this application")
        for route_method, pattern, scope, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                if scope and scope not in grant.scope.split():
                    return _error(403, "Insufficient client scope")
                return handler(self, self.users[grant.user_id], query, body, *match.groups())
        return _error(404, "Service not found")

    # Accounts service ----------------------------------------------------------------------

    def _authorize(self, query: dict[str, str]) -> Answer:
        if query.get("client_id") != self.client_id:
            return Answer(400, "INVALID_CLIENT: Invalid client")
        redirect_uri = query.get("redirect_uri", "")
        if self.redirect_uris is not None and redirect_uri not in self.redirect_uris:
            return Answer(400, "INVALID_CLIENT: Invalid redirect URI")
        if query.get("response_type") != "code":
            return Answer(400, "unsupported_response_type")
        back: dict[str, str] = {}
        if query.get("state"):
            back["state"] = query["state"]
        if self.deny_consent or self.signed_in is None:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = {
                "user_id": self.signed_in,
                "redirect_uri": redirect_uri,
                "challenge": query.get("code_challenge", ""),
                "method": query.get("code_challenge_method", ""),
                "scope": query.get("scope", ""),
            }
            back["code"] = code
        return Answer(302, location=f"{redirect_uri}?{urlencode(back)}")

    def _token(self, headers: Any, form: dict[str, str]) -> Answer:
        client_id = form.get("client_id", "")
        basic = headers.get("Authorization", "")
        if basic.startswith("Basic "):
            given_id, _, given_secret = base64.b64decode(basic[6:]).decode().partition(":")
            if given_id != self.client_id or given_secret != self.client_secret:
                return _oauth_error("invalid_client", "Invalid client secret", 401)
            client_id = client_id or given_id
        if client_id != self.client_id:
            return _oauth_error("invalid_client", "Invalid client")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._token_from_code(form)
        if grant_type == "refresh_token":
            grant = self._refresh.pop(form.get("refresh_token", ""), None)
            if grant is None:
                return _oauth_error("invalid_grant", "Refresh token revoked")
            return self._issue(grant.user_id, grant.scope)
        return _oauth_error("unsupported_grant_type", f"grant_type {grant_type!r}")

    def _token_from_code(self, form: dict[str, str]) -> Answer:
        pending = self._codes.pop(form.get("code", ""), None)  # single use
        if pending is None:
            return _oauth_error("invalid_grant", "Invalid authorization code")
        if form.get("redirect_uri") != pending["redirect_uri"]:
            return _oauth_error("invalid_grant", "Invalid redirect URI")
        if pending["challenge"]:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if pending["method"] != "S256" or digest.decode() != pending["challenge"]:
                return _oauth_error("invalid_grant", "code_verifier was incorrect")
        elif not self.client_secret:
            return _oauth_error("invalid_request", "code_verifier required")
        return self._issue(pending["user_id"], pending["scope"])

    def _issue(self, user_id: str, scope: str) -> Answer:
        access, refresh = "BQ" + secrets.token_urlsafe(32), "AQ" + secrets.token_urlsafe(32)
        self._access[access] = _Grant(user_id, scope, time.time() + 3600)
        self._refresh[refresh] = _Grant(user_id, scope)
        return Answer(
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "scope": scope,
                "expires_in": 3600,
                "refresh_token": refresh,
            },
        )

    def _bearer(self, headers: Any) -> _Grant | Answer:
        auth = headers.get("Authorization", "")
        grant = self._access.get(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None:
            return _error(401, "Invalid access token")
        if grant.expires_at < time.time():
            return _error(401, "The access token expired")
        return grant


# --- Web API endpoints ------------------------------------------------------------------------

Handler = Callable[..., Answer]
_ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = []


def route(method: str, pattern: str, scope: str = "") -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(pattern), scope, handler))
        return handler

    return register


def _limit(query: dict[str, str], default: int = 20) -> int | Answer:
    try:
        limit = int(query.get("limit", default))
    except ValueError:
        return _error(400, "Invalid limit")
    return limit if 1 <= limit <= 50 else _error(400, "Invalid limit")


def _paged(fake: FakeSpotify, path: str, items: list[Any], query: dict[str, str]) -> Answer:
    limit = _limit(query)
    if isinstance(limit, Answer):
        return limit
    offset = int(query.get("offset", 0))
    url = f"{fake.base_url}{path}"
    extra = {k: v for k, v in query.items() if k not in {"limit", "offset"}}

    def link(at: int) -> str:
        return f"{url}?{urlencode({**extra, 'offset': at, 'limit': limit})}"

    return Answer(
        200,
        {
            "href": link(offset),
            "items": items[offset : offset + limit],
            "limit": limit,
            "next": link(offset + limit) if offset + limit < len(items) else None,
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total": len(items),
        },
    )


@route("GET", r"/v1/me")
def _me(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    return Answer(200, c.user_object(fake.base_url, user))


@route("GET", r"/v1/me/player/recently-played", "user-read-recently-played")
def _recently_played(
    fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes
) -> Answer:
    limit = _limit(query)
    if isinstance(limit, Answer):
        return limit
    if "after" in query and "before" in query:
        return _error(400, "Only one of after and before may be given")
    plays = sorted(user.plays, key=lambda p: p[0])
    if "after" in query:  # forwards from the cursor: the oldest plays after it
        newer = [p for p in plays if c.ms(p[0]) > int(query["after"])]
        page, more = newer[:limit], len(newer) > limit
    else:  # backwards: the newest plays (before the cursor)
        before = int(query.get("before", 2**62))
        older = [p for p in plays if c.ms(p[0]) < before]
        page, more = older[-limit:], len(older) > limit
    page = sorted(page, key=lambda p: p[0], reverse=True)  # Spotify lists newest first
    url = f"{fake.base_url}/v1/me/player/recently-played"
    cursors = None
    next_url = None
    if page:
        cursors = {"after": str(c.ms(page[0][0])), "before": str(c.ms(page[-1][0]))}
        if more:
            key = "after" if "after" in query else "before"
            next_url = f"{url}?{urlencode({key: cursors[key], 'limit': limit})}"
    items = [
        {"track": c.track_object(fake.base_url, t), "played_at": c.iso(at), "context": None}
        for at, t in page
    ]
    return Answer(
        200,
        {
            "href": f"{url}?{urlencode(query)}",
            "items": items,
            "limit": limit,
            "next": next_url,
            "cursors": cursors,
        },
    )


@route("GET", r"/v1/me/top/(artists|tracks)", "user-top-read")
def _top(
    fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes, kind: str
) -> Answer:
    if query.get("time_range", "medium_term") not in {"short_term", "medium_term", "long_term"}:
        return _error(400, "Invalid time range")
    if kind == "artists":
        items = [c.artist_object(fake.base_url, a) for a in user.top_artists]
    else:
        items = [c.track_object(fake.base_url, t) for t in user.top_tracks]
    return _paged(fake, f"/v1/me/top/{kind}", items, query)


@route("GET", r"/v1/me/tracks", "user-library-read")
def _saved(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    saved = sorted(user.saved, key=lambda s: s[0], reverse=True)
    items = [
        {"added_at": c.iso(at).replace(".000Z", "Z"), "track": c.track_object(fake.base_url, t)}
        for at, t in saved
    ]
    return _paged(fake, "/v1/me/tracks", items, query)


@route("GET", r"/v1/me/playlists", "playlist-read-private")
def _playlists(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    items = [
        c.playlist_simplified(fake.base_url, p, fake.users.get(p.owner_id)) for p in user.playlists
    ]
    return _paged(fake, "/v1/me/playlists", items, query)


@route("GET", r"/v1/playlists/([0-9A-Za-z]+)/(tracks|items)")
def _playlist_items(
    fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes, pid: str, kind: str
) -> Answer:
    found = [p for u in fake.users.values() for p in u.playlists if p.id == pid]
    if not found:
        return _error(404, "Resource not found")
    items = [
        {
            "added_at": "2024-04-01T12:00:00Z",
            "added_by": {"id": found[0].owner_id, "type": "user"},
            "is_local": False,
            "track": c.track_object(fake.base_url, t),
        }
        for t in found[0].tracks
    ]
    return _paged(fake, f"/v1/playlists/{pid}/{kind}", items, query)


@route("GET", r"/v1/me/player/devices", "user-read-playback-state")
def _devices(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    return Answer(200, {"devices": [c.device_object(d) for d in user.devices]})


@route("GET", r"/v1/me/player", "user-read-playback-state")
def _player(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    active = next((d for d in user.devices if d.is_active), None)
    if active is None:
        return Answer(204)
    return Answer(
        200,
        {
            "device": c.device_object(active),
            "is_playing": user.is_playing,
            "item": None,
            "progress_ms": 0,
            "repeat_state": "off",
            "shuffle_state": False,
            "currently_playing_type": "track",
            "context": None,
            "timestamp": int(time.time() * 1000),
        },
    )


def _target(user: FakeUser, query: dict[str, str]) -> c.FakeDevice | Answer:
    if user.product != "premium":
        return _error(403, "Player command failed: Premium required", "PREMIUM_REQUIRED")
    wanted = query.get("device_id")
    device = next((d for d in user.devices if (d.id == wanted if wanted else d.is_active)), None)
    if device is None:
        return _error(404, "Player command failed: No active device found", "NO_ACTIVE_DEVICE")
    for other in user.devices:
        other.is_active = other is device
    return device


@route("PUT", r"/v1/me/player/play", "user-modify-playback-state")
def _play(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    device = _target(user, query)
    if isinstance(device, Answer):
        return device
    uris = json.loads(body or b"{}").get("uris") or []
    if uris and not all(str(u).startswith("spotify:track:") for u in uris):
        return _error(400, "Invalid track uri")
    user.playing_uri = uris[0] if uris else user.playing_uri
    user.is_playing = True
    return Answer(204)


@route("PUT", r"/v1/me/player/pause", "user-modify-playback-state")
def _pause(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    device = _target(user, query)
    if isinstance(device, Answer):
        return device
    user.is_playing = False
    return Answer(204)


@route("POST", r"/v1/me/player/next", "user-modify-playback-state")
def _next(fake: FakeSpotify, user: FakeUser, query: dict[str, str], body: bytes) -> Answer:
    device = _target(user, query)
    return device if isinstance(device, Answer) else Answer(204)


# --- HTTP -------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeSpotify/1.0"

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake: FakeSpotify = self.server.fake  # type: ignore[attr-defined]
        answer = fake.handle(method, parts.path, dict(parse_qsl(parts.query)), self.headers, body)
        payload = b""
        if isinstance(answer.body, str):
            payload = answer.body.encode()
        elif answer.body is not None:
            payload = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        if answer.location:
            self.send_header("Location", answer.location)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if payload:
            kind = "text/plain" if isinstance(answer.body, str) else "application/json"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        pass

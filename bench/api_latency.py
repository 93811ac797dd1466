"""REST latency and throughput under gunicorn and uvicorn, against a no-op floor in the same run.

    .venv/bin/python bench/api_latency.py [--var-dir DIR] [--duration S] [--quick]

The var dir (default ``$AUDOTICS_VAR_DIR`` or ``var/``) must hold the demo data and trained
models (hybrid, content, group). Its SQLite database is copied (SQLite's backup API) into a
temporary var dir and migrated there; the servers read the models from the original store
(``AUDOTICS_MODEL_STORE``), so the bench's tokens, group and feedback never touch the original.
On the copy the bench creates DRF tokens for a seeded sample of listeners (a ListenerProfile and
Last.fm plays), in disjoint sets: the GET rows' listeners (``--users``, never given feedback, so
every server start sees them alike; 12 ListeningGroups of 5 are made of them), the POST
/feedback rows' as many
again, K per server for "feedback to changed recommendations", and 16 that prime each start:
each likes a track, then their lists are asked for on 4 connections so every worker has loaded
its models (the content model too, for recent tracks); then every measured listener's and
group's list is asked for 10 times, so the rows time the steady state (states built in every
worker; with the cache on, results cached), not a listener's first request to a worker. The
per-user throttle is raised to 100000/minute (``API_THROTTLE_USER``): the throttle still runs
(same cache reads and writes), but 64 listeners at hundreds of requests a second would pass
600/minute.

Servers (each started by the bench, in its own session, always killed at the end): gunicorn
with deploy/gunicorn.conf.py and 2 sync workers (services mode), and uvicorn, 1 process (the
embedded default's server), both with DEBUG off and the cache on Redis when 127.0.0.1:6379
answers (database 13, flushed first; a shared cache is what makes one worker's feedback
invalidate the other's results). Each server is started twice: with the result cache on
(``AUDOTICS_RECS_CACHE_SECONDS`` unset: 300 s; measured warm) and off (``=0``: "uncached").

Every endpoint is measured with 1 and with 32 concurrent HTTP/1.1 keep-alive clients (each
request rotates over the sampled listeners' tokens): p50 and p99 latency and throughput. The
GET endpoints of one server start take turns (``--rounds`` slices of ``--duration``/rounds
each, after one warm-up), so the floor and the endpoints it is compared with share the
machine's background load; POST /feedback rows come last (they write). Gunicorn's sync
workers close the connection after every response, so against gunicorn each request also pays
a loopback connect (what nginx pays in front of it). The client is this script's own asyncio
one, in this process, apart from the servers; its ceiling against a trivial asyncio server is
measured in the same run and reported. The floor is ``GET /api/v1/ping`` (same authentication
and throttling as the real endpoints, no work). ``--profile PATH`` instead runs cProfile over 50
uncached GETs of PATH in this process (Django's test client, no server), to see what a request
spends its time on.

"Feedback to changed recommendations": for K listeners, GET their list, POST a like of a track
not in it (even listeners) or a skip of its top track (odd ones), GET again; the time from
sending the POST to the second list's last byte, and whether the list changed.

Writes bench/results/api_latency.json and .md and prints the table. Exits 1 when a target is
missed or a request failed. Not a test: pytest never collects bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from _provenance import git_commit  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
CLIENTS = (1, 32)
GROUP_SIZE = 5
PRIME_USERS = 16
PRIME_PASSES = 10  # a listener missing from one of 2 workers after 10 random passes: 0.1 %
SLICE_WARMUP = 0.3  # seconds before each measured slice
USER_RECS = "/api/v1/recommendations/user?n=10"
REDIS_AUTO = "redis://127.0.0.1:6379/13"
REQUEST_TIMEOUT = 120.0  # a worker's first recommendation loads the models
REQUIRED_MODELS = ("hybrid", "content", "group")
FLOOR = "/api/v1/ping"
FLOOR_FALLBACK = "/api/v1/me"  # until /api/v1/ping exists


# --- the HTTP/1.1 client -----------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes


class Connection:
    """One HTTP/1.1 keep-alive connection; opens a new one whenever the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.connects += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> Reply:
        fresh = self.writer is None
        if fresh:
            await self._open()
        try:
            return await self._exchange(raw)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.close()
            if fresh:
                raise
        await self._open()  # the server dropped an idle keep-alive connection: once more
        return await self._exchange(raw)

    async def _exchange(self, raw: bytes) -> Reply:
        assert self.reader is not None and self.writer is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length: int | None = None
        chunked = False
        close = lines[0].startswith(b"HTTP/1.0")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        if chunked:
            body = await self._chunked()
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            body, close = await self.reader.read(), True
        if close:
            self.close()
        return Reply(status, body)

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers from our servers
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def http_get(path: str, port: int, token: str | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Token {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def http_post(path: str, port: int, token: str, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Accept: application/json",
        f"Authorization: Token {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


MakeRequest = Callable[[int, int], bytes]  # (client, its request number) -> raw request


@dataclass
class Load:
    latencies_ns: list[int] = field(default_factory=list)
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0
    connects: int = 0


async def _load(conns: list[Connection], make: MakeRequest, seconds: float) -> Load:
    load = Load()
    connects = sum(c.connects for c in conns)
    stop_at = time.perf_counter() + seconds

    async def client(w: int) -> None:
        conn, i = conns[w], 0
        while time.perf_counter() < stop_at:
            raw = make(w, i)
            i += 1
            start = time.perf_counter_ns()
            try:
                reply = await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                conn.close()
                load.failures += 1
                await asyncio.sleep(0.05)
                continue
            load.latencies_ns.append(time.perf_counter_ns() - start)
            load.statuses[reply.status] += 1

    began = time.perf_counter()
    await asyncio.gather(*(client(w) for w in range(len(conns))))
    load.seconds = time.perf_counter() - began
    load.connects = sum(c.connects for c in conns) - connects
    return load


def measure(port: int, make: MakeRequest, clients: int, warmup: float, seconds: float) -> Load:
    """Warm up, then measure, ``clients`` connections kept across both phases."""

    async def run() -> Load:
        conns = [Connection(port) for _ in range(clients)]
        try:
            if warmup > 0:
                await _load(conns, make, warmup)
            return await _load(conns, make, seconds)
        finally:
            for conn in conns:
                conn.close()

    return asyncio.run(run())


def summary(load: Load, expect: int) -> dict[str, Any]:
    ms = np.asarray(load.latencies_ns, dtype=np.float64) / 1e6
    n = len(ms)
    bad = sum(c for s, c in load.statuses.items() if s != expect) + load.failures
    return {
        "n": n,
        "p50_ms": float(np.percentile(ms, 50)) if n else None,
        "p99_ms": float(np.percentile(ms, 99)) if n else None,
        "mean_ms": float(ms.mean()) if n else None,
        "rps": n / load.seconds if load.seconds else 0.0,
        "seconds": load.seconds,
        "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
        "failures": load.failures,
        "errors": bad,
        "connects_per_request": load.connects / n if n else None,
    }


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


@contextmanager
def process(
    argv: list[str], env: dict[str, str], log: Path, ready: Callable[[], bool], timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess in its own session; its whole process group is killed on the way out."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{argv[0]} did not start:\n{tail}")
            time.sleep(0.2)
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _healthy(port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as reply:
                return bool(reply.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    return check


def server_argv(kind: str, port: int) -> tuple[list[str], dict[str, str]]:
    if kind == "gunicorn":
        argv = [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
        return argv, {"GUNICORN_BIND": f"{HOST}:{port}", "WEB_CONCURRENCY": "2"}
    argv = [str(BIN / "uvicorn"), "audotics.asgi:application", "--host", HOST, "--port", str(port)]
    return [*argv, "--lifespan", "off", "--no-access-log"], {}


def _serve_trivial(port: int, close: bool) -> None:
    """A do-nothing HTTP server (the client's ceiling): 200 "ok" to every request."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    reply += (b"Connection: close\r\n" if close else b"") + b"\r\nok"

    class Trivial(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport, self.buffer = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:
                self.buffer = self.buffer.split(b"\r\n\r\n", 1)[1]
                self.transport.write(reply)
                if close:
                    self.transport.close()
                    return

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Trivial, HOST, port, backlog=4096)
        await server.serve_forever()

    asyncio.run(serve())


# --- the database copy and the bench's listeners ---------------------------------------------


@dataclass
class Fixture:
    tokens: list[str]  # the listeners the GET rows rotate over (never given feedback)
    feedback_tokens: list[str]  # the POST /feedback rows' listeners
    change_tokens: list[str]  # feedback-to-change listeners, K per server
    prime_tokens: list[str]  # given a like, then used to load every worker's models
    groups: list[tuple[int, list[str]]]  # (group id, its members' tokens), from ``tokens``
    tracks: list[str]  # spotify ids to like
    listeners: int


def copy_database(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def prepare(env: dict[str, str], n_load: int, n_change: int, n_groups: int, seed: int) -> Fixture:
    """Tokens, one group and a track sample on the copy (this process's Django, then closed)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from groups.models import ListeningGroup, Membership
    from recommender.models import ArtistPlayCount, Track, User

    with_plays = ArtistPlayCount.objects.values("user_id")
    ids = list(
        User.objects.filter(profile__isnull=False, pk__in=with_plays)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rng = random.Random(seed)
    wanted = 2 * n_load + n_change + PRIME_USERS
    if len(ids) < wanted or n_load < n_groups * GROUP_SIZE:
        raise SystemExit(f"{len(ids)} listeners with plays: need {wanted}, groups from --users")
    picked = rng.sample(ids, wanted)
    users = {u.pk: u for u in User.objects.filter(pk__in=picked)}
    tokens = [Token.objects.get_or_create(user=users[pk])[0].key for pk in picked]
    groups = []
    for g in range(n_groups):
        members = picked[g * GROUP_SIZE : (g + 1) * GROUP_SIZE]
        group = ListeningGroup.objects.create(
            name=f"api_latency bench {g + 1}",
            kind=ListeningGroup.Kind.FRIENDS,
            owner=users[members[0]],
        )
        for i, pk in enumerate(members):
            role = Membership.Role.HOST if i == 0 else Membership.Role.MEMBER
            Membership.objects.create(group=group, user=users[pk], role=role)
        groups.append((group.pk, tokens[g * GROUP_SIZE : (g + 1) * GROUP_SIZE]))
    track_ids = list(Track.objects.order_by("pk").values_list("spotify_id", flat=True))
    tracks = rng.sample(track_ids, min(2000, len(track_ids)))
    connections.close_all()
    return Fixture(
        tokens=tokens[:n_load],
        feedback_tokens=tokens[n_load : 2 * n_load],
        change_tokens=tokens[2 * n_load : 2 * n_load + n_change],
        prime_tokens=tokens[2 * n_load + n_change :],
        groups=groups,
        tracks=tracks,
        listeners=len(ids),
    )


# --- the measurements ------------------------------------------------------------------------


def track_ids(body: bytes) -> list[str]:
    data = json.loads(body)
    items = data.get("results", []) if isinstance(data, dict) else data
    out = []
    for item in items:
        track = item.get("track") if isinstance(item, dict) else None
        if isinstance(track, dict):
            out.append(str(track.get("spotify_id")))
        elif isinstance(item, dict) and "spotify_id" in item:
            out.append(str(item["spotify_id"]))
    return out


@dataclass
class Endpoint:
    name: str
    expect: int
    make: Callable[[int], MakeRequest]  # the number of clients -> their request maker


def endpoints(port: int, fx: Fixture, seed: int, floor: str = FLOOR) -> dict[str, Endpoint]:
    def rotating(path: str, tokens: list[str]) -> Callable[[int], MakeRequest]:
        raws = [http_get(path, port, t) for t in tokens]
        return lambda clients: lambda w, i: raws[(w + i * clients) % len(raws)]

    def feedback(clients: int) -> MakeRequest:
        rng = random.Random(seed)

        def make(w: int, i: int) -> bytes:
            token = fx.feedback_tokens[(w + i * clients) % len(fx.feedback_tokens)]
            kind = "like" if i % 2 == 0 else "skip"
            payload = {"track": rng.choice(fx.tracks), "kind": kind}
            return http_post("/api/v1/feedback", port, token, payload)

        return make

    # Member m of every group, then member m + 1 of every group: no listener twice in a row.
    group = [
        http_get(group_path(gid), port, members[m])
        for m in range(GROUP_SIZE)
        for gid, members in fx.groups
    ]
    return {
        "floor": Endpoint("floor", 200, rotating(floor, fx.tokens)),
        "healthz": Endpoint("healthz", 200, rotating("/healthz", [""])),
        "user": Endpoint("user", 200, rotating(USER_RECS, fx.tokens)),
        "group": Endpoint("group", 200, lambda c: lambda w, i: group[(w + i * c) % len(group)]),
        "feedback": Endpoint("feedback", 201, feedback),
    }


def prime(port: int, fx: Fixture, group: bool, seconds: float) -> None:
    """Make every worker load its models and know every listener before anything is timed.

    The prime listeners like a track each (so the content model's neighbours are needed too),
    then their lists are asked for on 4 connections (2 per gunicorn worker) for ``seconds``.
    Then every measured listener's list and every group's is asked for ``PRIME_PASSES`` times,
    so each worker has built their states (and, with the cache on, their results are cached):
    the rows measure the steady state, not a listener's first request to a worker.
    """
    rng = random.Random(1)
    for token in fx.prime_tokens:
        payload = {"track": rng.choice(fx.tracks), "kind": "like"}
        probe(port, http_post("/api/v1/feedback", port, token, payload))
    raws = [http_get(USER_RECS, port, t) for t in fx.prime_tokens]
    measure(port, lambda w, i: raws[(w + 4 * i) % len(raws)], 4, 0, seconds)
    known = [http_get(USER_RECS, port, t) for t in fx.tokens]
    if group:
        known += [http_get(group_path(g), port, m) for g, members in fx.groups for m in members]
    send_all(port, known * PRIME_PASSES, 4)


def send_all(port: int, raws: list[bytes], clients: int) -> None:
    """Each request once, on ``clients`` connections."""
    queue = list(reversed(raws))

    async def run() -> None:
        conns = [Connection(port) for _ in range(clients)]

        async def client(conn: Connection) -> None:
            while queue:
                raw = queue.pop()
                try:
                    await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    conn.close()

        try:
            await asyncio.gather(*(client(c) for c in conns))
        finally:
            for conn in conns:
                conn.close()

    asyncio.run(run())


def group_path(group_id: int) -> str:
    return f"/api/v1/recommendations/group?group={group_id}&n=10"


def probe(port: int, raw: bytes) -> Reply:
    async def run() -> Reply:
        conn = Connection(port)
        try:
            return await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT)
        finally:
            conn.close()

    return asyncio.run(run())


def feedback_change(port: int, tokens: list[str], tracks: list[str], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    path = USER_RECS

    async def run() -> list[dict[str, Any]]:
        conn, rows = Connection(port), []
        try:
            for i, token in enumerate(tokens):
                first = await conn.request(http_get(path, port, token))
                before = track_ids(first.body) if first.status == 200 else []
                if i % 2 == 0 or not before:
                    kind = "like"
                    track = rng.choice([t for t in tracks if t not in before])
                else:
                    kind, track = "skip", before[0]
                payload = {"track": track, "kind": kind}
                start = time.perf_counter_ns()
                posted = await conn.request(http_post("/api/v1/feedback", port, token, payload))
                second = await conn.request(http_get(path, port, token))
                ms = (time.perf_counter_ns() - start) / 1e6
                after = track_ids(second.body) if second.status == 200 else []
                statuses = [first.status, posted.status, second.status]
                rows.append(
                    {"kind": kind, "ms": ms, "changed": after != before, "statuses": statuses}
                )
        finally:
            conn.close()
        return rows

    rows = asyncio.run(run())
    out: dict[str, Any] = {"listeners": len(rows), "rows": rows}
    for kind in ("like", "skip", "all"):
        picked = [r for r in rows if kind in ("all", r["kind"])]
        if picked:
            ms = np.array([r["ms"] for r in picked])
            out[kind] = {
                "n": len(picked),
                "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": float(np.percentile(ms, 99)),
                "changed": sum(r["changed"] for r in picked),
                "errors": sum(r["statuses"] != [200, 201, 200] for r in picked),
            }
    return out


def client_ceiling(env: dict[str, str], work: Path, warmup: float, seconds: float) -> list[Any]:
    rows = []
    for close in (False, True):
        port = free_port()
        argv = [sys.executable, __file__, "--serve-trivial", str(port)]
        if close:
            argv.append("--close")
        raw = http_get("/", port)

        def same(w: int, i: int, raw: bytes = raw) -> bytes:
            return raw

        with process(argv, env, work / "trivial.log", partial(_answers, port), 30):
            for clients in CLIENTS:
                load = measure(port, same, clients, warmup, seconds)
                s = summary(load, 200)
                mode = "close" if close else "keep-alive"
                rows.append({"server": "trivial", "mode": mode, "clients": clients, **s})
                print(
                    f"  client ceiling ({mode}, {clients} clients): {s['rps']:.0f} req/s, "
                    f"p50 {s['p50_ms']:.3f} ms",
                    flush=True,
                )
    return rows


def interleaved(
    port: int, eps: dict[str, Endpoint], names: list[str], clients: int, args: argparse.Namespace
) -> dict[str, Load]:
    """The endpoints in turns (``--rounds`` slices each), so a change in the machine's
    background load falls on all of them alike; each slice starts with a short warm-up."""
    loads = {name: Load() for name in names}
    for name in names:
        measure(port, eps[name].make(clients), clients, args.warmup, 0)
    for _ in range(args.rounds):
        for name in names:
            part = measure(
                port, eps[name].make(clients), clients, SLICE_WARMUP, args.duration / args.rounds
            )
            total = loads[name]
            total.latencies_ns += part.latencies_ns
            total.seconds += part.seconds
            total.statuses.update(part.statuses)
            total.failures += part.failures
            total.connects += part.connects
    return loads


def _report_row(
    server: str, cache: str, name: str, clients: int, load: Load, expect: int
) -> dict[str, Any]:
    s = summary(load, expect)
    print(
        f"  {server:8} {cache:8} {name:8} {clients:2} clients: p50 {_ms(s['p50_ms'])}, "
        f"p99 {_ms(s['p99_ms'])}, {s['rps']:.0f} req/s, errors {s['errors']} {s['statuses']}",
        flush=True,
    )
    return {"server": server, "cache": cache, "endpoint": name, "clients": clients, **s}


def run_server(
    kind: str,
    cached: bool,
    env: dict[str, str],
    work: Path,
    fx: Fixture,
    args: argparse.Namespace,
    change_tokens: list[str],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, str]]:
    port = free_port()
    argv, extra = server_argv(kind, port)
    server_env = {**env, **extra}
    if not cached:
        server_env["AUDOTICS_RECS_CACHE_SECONDS"] = "0"
    cache = "cached" if cached else "uncached"
    log = work / f"{kind}-{cache}.log"
    rows: list[dict[str, Any]] = []
    notes: dict[str, str] = {}
    change = None
    with process(argv, server_env, log, _healthy(port), 180):
        eps = endpoints(port, fx, args.seed)
        names = (
            ["floor", "healthz", "user", "group", "feedback"]
            if cached
            else ["floor", "user", "group"]
        )
        available = []
        for name in names:
            reply = probe(port, eps[name].make(1)(0, 0))
            if name == "floor" and reply.status == 404:
                eps = endpoints(port, fx, args.seed, floor=FLOOR_FALLBACK)
                notes["floor"] = f"{FLOOR_FALLBACK} ({FLOOR} answered 404)"
                reply = probe(port, eps[name].make(1)(0, 0))
            if reply.status == 404:
                notes[name] = "missing (404): not measured"
                print(f"  {kind} {cache}: {name} answered 404, skipped", flush=True)
                continue
            available.append(name)
        if "user" in available:
            prime(port, fx, "group" in available, args.prime)
        reads = [n for n in available if n != "feedback"]
        for clients in CLIENTS:
            for name, load in interleaved(port, eps, reads, clients, args).items():
                rows.append(_report_row(kind, cache, name, clients, load, eps[name].expect))
        if "feedback" in available:
            if change_tokens and "user" in available:
                change = feedback_change(port, change_tokens, fx.tracks, args.seed)
                print(f"  {kind}: feedback -> changed list {change.get('all')}", flush=True)
            for clients in CLIENTS:
                make = eps["feedback"].make(clients)
                load = measure(port, make, clients, args.warmup, args.duration)
                rows.append(_report_row(kind, cache, "feedback", clients, load, 201))
    return rows, change, notes


def profile(fx: Fixture, path: str, requests: int, cached: bool) -> str:
    """cProfile of ``requests`` GETs of ``path`` in this process (after ``prepare``)."""
    import cProfile
    import io
    import pstats

    from django.conf import settings
    from django.test import Client

    settings.RECOMMENDATIONS_CACHE_SECONDS = 300 if cached else 0
    client = Client()
    tokens = fx.groups[0][1] if "/group" in path else fx.tokens
    headers = [{"HTTP_AUTHORIZATION": f"Token {t}"} for t in tokens]
    for h in headers:  # load the models, build the catalogue and every listener's state
        client.get(path, **h)  # type: ignore[arg-type]
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for i in range(requests):
        status = client.get(path, **headers[i % len(headers)]).status_code  # type: ignore[arg-type]
    profiler.disable()
    ms = (time.perf_counter() - start) * 1000 / requests
    out = io.StringIO()
    out.write(f"{path}: {ms:.2f} ms per request in-process (last status {status})\n")
    rows = int(os.environ.get("PROFILE_ROWS", "35"))
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(rows)
    return out.getvalue()


# --- the report ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def _row(rows: list[dict[str, Any]], server: str, cache: str, endpoint: str, clients: int) -> Any:
    for r in rows:
        if (r["server"], r["cache"], r["endpoint"], r["clients"]) == (
            server,
            cache,
            endpoint,
            clients,
        ):
            return r
    return None


def ratios(rows: list[dict[str, Any]], servers: list[str]) -> list[dict[str, Any]]:
    """Each figure against the floor measured on the same server start."""
    checks: list[tuple[str, str, str, int, str, str, float | None]] = [
        # label, cache, endpoint, clients, metric, op, target
        ("uncached user p50 / floor p50, 1 client", "uncached", "user", 1, "p50", "<=", 2.0),
        ("uncached user req/s / floor req/s, 32 clients", "uncached", "user", 32, "rps", ">=", 0.6),
        ("uncached user p99 ms, 32 clients", "uncached", "user", 32, "p99", "<=", 100.0),
        ("cached user req/s / floor req/s, 32 clients", "cached", "user", 32, "rps", ">=", 0.9),
        ("cached user p50 / floor p50, 1 client", "cached", "user", 1, "p50", "", None),
        ("uncached group p50 / floor p50, 1 client", "uncached", "group", 1, "p50", "<=", 3.0),
        ("cached group p50 / floor p50, 1 client", "cached", "group", 1, "p50", "", None),
        (
            "uncached group req/s / floor req/s, 32 clients",
            "uncached",
            "group",
            32,
            "rps",
            "",
            None,
        ),
    ]
    out = []
    for server in servers:
        for label, cache, endpoint, clients, metric, op, target in checks:
            row = _row(rows, server, cache, endpoint, clients)
            floor = _row(rows, server, cache, "floor", clients)
            if row is None or floor is None or row["n"] == 0:
                continue
            if label.endswith(" ms, 32 clients"):
                value = row["p99_ms"]
            elif metric == "p50":
                value = row["p50_ms"] / floor["p50_ms"]
            else:
                value = row["rps"] / floor["rps"]
            ok = None
            if target is not None:
                ok = value <= target if op == "<=" else value >= target
            out.append(
                {
                    "server": server,
                    "ratio": label,
                    "value": value,
                    "target": target,
                    "op": op,
                    "ok": ok,
                }
            )
    return out


def markdown(report: dict[str, Any]) -> str:
    def f(x: Any, digits: int = 2) -> str:
        return "-" if x is None else f"{x:,.{digits}f}"

    lines = [
        f"# api_latency ({report['date']})",
        "",
        f"{report['machine']}; commit {report['commit']}. {report['setup']}",
        "",
        "| server | cache | endpoint | clients | p50 ms | p99 ms | req/s | requests | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['server']} | {r['cache']} | {r['endpoint']} | {r['clients']} | "
            f"{f(r['p50_ms'])} | {f(r['p99_ms'])} | {f(r['rps'], 0)} | {r['n']} | {r['errors']} |"
        )
    lines += [
        "",
        "| server | ratio (same server start) | value | target | met |",
        "|---|---|---:|---:|:---:|",
    ]
    for r in report["ratios"]:
        target = f"{r['op']} {r['target']:g}" if r["target"] is not None else ""
        met = "" if r["ok"] is None else ("yes" if r["ok"] else "**no**")
        lines.append(f"| {r['server']} | {r['ratio']} | {r['value']:.2f} | {target} | {met} |")
    lines += [
        "",
        "Feedback to changed recommendations (cached server; POST sent -> second list received):",
        "",
        "| server | feedback | listeners | p50 ms | p99 ms | list changed | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for server, change in report["feedback_change"].items():
        for kind in ("like", "skip", "all"):
            c = change.get(kind)
            if c:
                lines.append(
                    f"| {server} | {kind} | {c['n']} | {f(c['p50_ms'])} | {f(c['p99_ms'])} | "
                    f"{c['changed']}/{c['n']} | {c['errors']} |"
                )
    lines += [
        "",
        "Client ceiling (this script's client against a do-nothing asyncio server, same run):",
        "",
    ]
    for r in report["client_ceiling"]:
        lines.append(
            f"- {r['mode']}, {r['clients']} client(s): {r['rps']:,.0f} req/s, "
            f"p50 {r['p50_ms']:.3f} ms"
        )
    if report["notes"]:
        lines += ["", "Notes:", ""] + [f"- {k}: {v}" for k, v in report["notes"].items()]
    return "\n".join(lines) + "\n"


def _redis(url: str) -> str:
    if url == "none":
        return ""
    if url == "auto":
        if not _answers(6379):
            return ""
        url = REDIS_AUTO
    import redis

    redis.Redis.from_url(url).flushdb()
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_var = os.environ.get("AUDOTICS_VAR_DIR") or str(ROOT / "var")
    parser.add_argument("--var-dir", default=default_var)
    parser.add_argument("--model-store", help="default: VAR_DIR/models")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each row")
    parser.add_argument("--prime", type=float, default=3.0, help="model-loading warm-up, s")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved slices per row")
    parser.add_argument(
        "--quick", action="store_true", help="2 s rows, 1 s warm-up, K = 6, 2 rounds"
    )
    parser.add_argument("--servers", nargs="+", default=["gunicorn", "uvicorn"])
    parser.add_argument("--users", type=int, default=64, help="listeners the GETs rotate over")
    parser.add_argument("--groups", type=int, default=12, help=f"of {GROUP_SIZE} of those")
    parser.add_argument("--feedback-users", type=int, default=20, help="K, per server")
    parser.add_argument("--redis-url", default="auto", help="auto (db 13 if it answers) | none")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, DB copy)")
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="only cProfile 50 uncached GETs of PATH in this process (GROUP: the first group's id)",
    )
    parser.add_argument("--profile-cached", action="store_true", help="with the cache on")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "api_latency.json"))
    parser.add_argument("--serve-trivial", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--close", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_trivial:
        _serve_trivial(args.serve_trivial, args.close)
        return 0
    if args.quick:
        args.duration, args.warmup, args.feedback_users, args.rounds = 2.0, 1.0, 6, 2

    source = Path(args.var_dir).resolve()
    store = Path(args.model_store).resolve() if args.model_store else source / "models"
    missing = [m for m in REQUIRED_MODELS if not (store / m / "ACTIVE").exists()]
    if missing:
        print(f"warning: no active {', '.join(missing)} model in {store}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="api_latency."))
    try:
        code = run(args, source, store, work)
    except BaseException:
        print(f"failed: server logs and the database copy are in {work}", file=sys.stderr)
        raise
    if args.keep:
        print(f"server logs and the database copy: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return code


def run(args: argparse.Namespace, source: Path, store: Path, work: Path) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()
    copy_database(source / "audotics.sqlite3", work / "audotics.sqlite3")
    redis_url = _redis(args.redis_url)
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "AUDOTICS_RECS_CACHE_SECONDS")
    }
    env.update(
        AUDOTICS_VAR_DIR=str(work),
        AUDOTICS_MODEL_STORE=str(store),
        DJANGO_SETTINGS_MODULE="audotics.settings.base",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        LOG_LEVEL="WARNING",
        API_THROTTLE_USER="100000/minute",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONPATH=str(ROOT),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, cwd=ROOT, check=True)
    k = args.feedback_users
    fx = prepare(env, args.users, k * len(args.servers), args.groups, args.seed)
    print(
        f"work dir {work}; {fx.listeners} listeners with plays; groups "
        f"{fx.groups[0][0]}-{fx.groups[-1][0]}; "
        f"cache {'Redis ' + redis_url if redis_url else 'per process'}",
        flush=True,
    )

    if args.profile:
        path = args.profile.replace("GROUP", str(fx.groups[0][0]))
        print(profile(fx, path, 50, args.profile_cached))
        return 0
    print("client ceiling:", flush=True)
    ceiling = client_ceiling(env, work, args.warmup, min(args.duration, 4.0))
    rows: list[dict[str, Any]] = []
    changes: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for s, kind in enumerate(args.servers):
        for cached in (True, False):
            tokens = fx.change_tokens[s * k : (s + 1) * k] if cached else []
            got, change, more = run_server(kind, cached, env, work, fx, args, tokens)
            rows += got
            notes.update({f"{kind} {key}": v for key, v in more.items()})
            if change is not None:
                changes[kind] = change

    top = max((r["rps"] for r in rows if r["clients"] == 32), default=0.0)
    ceiling_32 = min(r["rps"] for r in ceiling if r["clients"] == 32)
    if top > 0.5 * ceiling_32:
        notes["client"] = (
            f"the fastest row ({top:.0f} req/s) is over half the client's "
            f"ceiling ({ceiling_32:.0f} req/s): the client may limit it"
        )
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, 1-minute load average {load_before[0]:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end",
        "commit": git_commit(ROOT),
        "setup": (
            f"Database: a copy of {source / 'audotics.sqlite3'} (SQLite), models from {store}; "
            f"cache: {'Redis (' + redis_url + ')' if redis_url else 'local memory per process'}; "
            f"DEBUG off. gunicorn: deploy/gunicorn.conf.py, 2 sync workers; uvicorn: 1 process. "
            f"Rows: {args.warmup:g} s warm-up, then {args.duration:g} s measured in "
            f"{args.rounds} interleaved slices; "
            f"GET rows rotate over {args.users} listeners ({args.groups} groups of "
            f"{GROUP_SIZE} of them), "
            f"POST /feedback rows over {args.users} others; "
            f"floor {notes.get('gunicorn floor', FLOOR).split(' ')[0]}."
        ),
        "args": {k: v for k, v in vars(args).items() if k not in ("serve_trivial", "close")},
        "client_ceiling": ceiling,
        "results": rows,
        "ratios": ratios(rows, args.servers),
        "feedback_change": changes,
        "notes": notes,
        "wall_seconds": time.perf_counter() - started,
    }
    table = markdown(report)
    print("\n" + table)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1))
    output.with_suffix(".md").write_text(table)
    failed = [r for r in report["ratios"] if r["ok"] is False]
    errors = sum(r["errors"] for r in rows)
    return 1 if failed or errors else 0


if __name__ == "__main__":
    raise SystemExit(main())

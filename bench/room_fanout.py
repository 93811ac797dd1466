"""Room fan-out: a vote reaching every member of a 50-member room, against a bare echo room.

    .venv/bin/python bench/room_fanout.py [--quick] [--layers pubsub memory] [--rounds N]
        [--trace] [--server-env NAME=VALUE ...] [--keep]

Issue 7's acceptance benchmark: "With 50 simulated members in one room (WebSocket clients on
loopback), a vote reaches all of them with p99 <= 1.5x a bare Channels echo room measured in
the same run, and a burst of 200 votes loses no message."

Set-up (this process, then its database connections are closed): a temporary var dir with a
fresh SQLite database (``AUDOTICS_VAR_DIR``; WAL, as the embedded default), migrated; the
fixture catalogue ``tests/fixtures/catalogue_small.csv``; 50 guests (``guest_create``), one room
(``room_create`` by the first, ``max_members`` 50, ``room_join`` by the others: no group model
is trained, so the queue autofills popular tracks), one up-vote by the host on each of the 6
upcoming entries (an autofill entry nobody voted on is replaced at the next recomputation, so
votes would race it), and a Django session per guest (the sockets sign in with ``sessionid``).

Server: ONE uvicorn process (1 worker, ``--lifespan off``, DEBUG off) serving
``bench/room_asgi.py``: the production room socket ``/ws/rooms/<code>/`` and a bare echo room
``/ws/echo/<name>/`` (the floor: the same middleware stack; a consumer that ``group_send``s each
frame to its group unchanged), both on the channel layer under test. Layers (``--layers``):
``pubsub`` (``REDIS_URL`` = redis://127.0.0.1:6379/14, flushed first, a unique channel prefix:
``RedisPubSubChannelLayer``, services mode) and ``memory`` (no ``REDIS_URL``:
``InMemoryChannelLayer``, the embedded default). Each layer gets a fresh server on the same
database.

Clients: 50 members x 2 sockets (room and echo) from this process (``websockets``, asyncio),
with the allowed ``Origin``, the session cookie and permessage-deflate offered (as browsers do).
The client's garbage collector is off while it times. Rounds (``--rounds``, 150 after
``--warmup`` 10; floor and room alternating, 20-60 ms apart): the floor round sends
``{"type": "echo", "seq": k}`` from one member to the echo room and times its arrival at each
of the 50; the room round sends ``{"type": "vote", "entry", "value"}`` from one member (members
in turn, entries in turn, each vote changing a tally) and times the ``votes`` frame's arrival
at each of the 50 (matched on ``by``, ``entry`` and ``value``); it ends once every member also
has the recomputed ``state`` that follows, so each vote is measured in a quiet room. Latency is
per delivery (send -> that member's socket has the frame; one clock, this process).

Bursts: 200 echo frames, then 200 votes, sent back to back from all 50 members (4 to 6 each:
inside the room socket's burst allowance of 20; every vote a distinct member and entry, so each is
matched exactly); every member must receive all 200 (lost = 200 x 50 - received, after waiting
up to ``--burst-wait`` seconds without progress).

Targets (each layer): room p99 / floor p99 <= 1.5; room burst lost = 0. Writes
bench/results/room_fanout.json and .md; exits 1 when a target is missed. Not a test.

Diagnosis: ``--trace`` has the server write one line per step of a round (``BENCH_TRACE``, see
``bench/room_asgi.py``) and reports, per step, its p50/p90 time after the client sent, the
slowest rounds, and the p99 ratio over the rounds during which the server ran no full garbage
collection. ``--server-env NAME=VALUE`` passes switches to the server (``bench/room_asgi.py``),
for a diagnosis. ``--render JSON`` rewrites the .md of a saved run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from _provenance import git_commit  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/14"
CATALOGUE = ROOT / "tests" / "fixtures" / "catalogue_small.csv"
RATIO_TARGET = 1.5
BURST = 200
DOWN_CAP = 20  # down-votes per entry kept below the removal majority (> members // 2 net)
ROUND_TIMEOUT = 5.0
CONNECT_BATCH = 10


# --- the database ---------------------------------------------------------------------------


@dataclass
class Fixture:
    code: str
    users: list[int]
    sessions: list[str]
    setup_seconds: float


def prepare(env: dict[str, str], members: int) -> Fixture:
    """Migrate, import, and make the guests, room and sessions (this process's Django)."""
    started = time.perf_counter()
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connections

    from groups.services.queue import entry_vote, queue_order
    from groups.services.rooms import guest_create, room_create, room_join
    from recommender.services.imports.tracks import tracks_import

    call_command("migrate", interactive=False, verbosity=0)
    tracks_import(path=CATALOGUE)
    guests = [guest_create(display_name=f"Member {i + 1}") for i in range(members)]
    room = room_create(owner=guests[0], name="fan-out bench", max_members=max(members, 2))
    for guest in guests[1:]:
        room_join(group=room, user=guest)
    for entry in queue_order(group_id=room.pk):
        entry_vote(group=room, user=guests[0], entry_id=entry.pk, value=1)
    sessions = []
    for guest in guests:
        store = SessionStore()
        store[SESSION_KEY] = str(guest.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = guest.get_session_auth_hash()
        store.create()
        assert store.session_key is not None
        sessions.append(store.session_key)
    connections.close_all()
    return Fixture(
        code=room.code,
        users=[g.pk for g in guests],
        sessions=sessions,
        setup_seconds=time.perf_counter() - started,
    )


# --- the server -----------------------------------------------------------------------------


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
def server(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """uvicorn (1 process) in its own session; its process group is killed on the way out."""
    argv = [
        str(BIN / "uvicorn"),
        "room_asgi:application",
        "--app-dir",
        str(ROOT / "bench"),
        "--host",
        HOST,
        "--port",
        str(port),
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"uvicorn did not start:\n{tail}")
            time.sleep(0.1)
        yield proc
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the clients ----------------------------------------------------------------------------


@dataclass
class Message:
    """One broadcast being timed: when it was sent and when each member's socket had it."""

    members: int
    t0: float = 0.0
    times: list[float] = field(default_factory=list)
    got: int = 0
    state_after: int = 0  # members that also had a ``state`` frame after it (room rounds)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.times = [math.nan] * self.members
        self.seen_state = [False] * self.members

    def mark(self, member: int, at: float) -> None:
        if math.isnan(self.times[member]):
            self.times[member] = at - self.t0
            self.got += 1
            if self.got == self.members:
                self.done.set()

    def mark_state(self, member: int) -> None:
        if not math.isnan(self.times[member]) and not self.seen_state[member]:
            self.seen_state[member] = True
            self.state_after += 1
            if self.state_after == self.members:
                self.settled.set()


class Ballots:
    """Who votes what next: entries in turn, members in turn, each vote changing a tally."""

    def __init__(self, state: dict[str, Any], users: list[int]) -> None:
        self.users = users
        self.entries = [int(e["id"]) for e in state["queue"]]
        self.votes = {
            int(e["id"]): {int(u): int(v) for u, v in e["votes"].items()} for e in state["queue"]
        }
        self.turn = 0
        self.cap = math.ceil(BURST / len(users)) + 2  # votes per member in a burst

    def pick(
        self, used: set[tuple[int, int]] | None = None, per_member: Counter[int] | None = None
    ) -> tuple[int, int, int]:
        """(member index, entry id, value) for the next vote."""
        for _ in range(len(self.entries) * len(self.users)):
            i = self.turn
            self.turn += 1
            entry = self.entries[i % len(self.entries)]
            votes = self.votes[entry]
            down = sum(1 for v in votes.values() if v < 0)
            value = -1 if down < DOWN_CAP else 1
            for k in range(len(self.users)):
                m = (i + k) % len(self.users)
                user = self.users[m]
                if votes.get(user) == value:
                    continue
                if used is not None and (user, entry) in used:
                    continue
                if per_member is not None and per_member[m] >= self.cap:
                    continue
                votes[user] = value
                if used is not None:
                    used.add((user, entry))
                if per_member is not None:
                    per_member[m] += 1
                return m, entry, value
        raise RuntimeError("no member left who can change a tally")


class Clients:
    """50 members, each with a room socket and an echo socket, read by one task per socket."""

    def __init__(self, port: int, fx: Fixture, compression: bool) -> None:
        self.port, self.fx, self.compression = port, fx, compression
        self.n = len(fx.users)
        self.room: list[Any] = []
        self.echo: list[Any] = []
        self.pending: dict[tuple[Any, ...], Message] = {}
        self.current: Message | None = None  # the room round waiting for its state frames
        self.frames: Counter[str] = Counter()
        self.bytes = 0
        self.errors: Counter[str] = Counter()
        self.unmatched = 0
        self.last_frame = time.perf_counter()
        self.last_state: str | None = None
        self.readers: list[asyncio.Task[None]] = []

    async def _connect(self, path: str, session: str) -> Any:
        from websockets.asyncio.client import connect

        return await connect(
            f"ws://{HOST}:{self.port}{path}",
            origin=f"http://{HOST}:{self.port}",  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={session}"},
            compression="deflate" if self.compression else None,
            max_size=2**23,
            max_queue=None,
            ping_interval=None,
            open_timeout=30,
        )

    async def open(self) -> None:
        for kind, sockets, path in (
            ("echo", self.echo, "/ws/echo/bench/"),
            ("room", self.room, f"/ws/rooms/{self.fx.code}/"),
        ):
            for start in range(0, self.n, CONNECT_BATCH):
                batch = range(start, min(self.n, start + CONNECT_BATCH))
                opened = await asyncio.gather(
                    *(self._connect(path, self.fx.sessions[m]) for m in batch)
                )
                for m, ws in zip(batch, opened, strict=True):
                    sockets.append(ws)
                    self.readers.append(asyncio.create_task(self._read(m, ws, kind)))

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.room + self.echo), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)

    async def _read(self, m: int, ws: Any, kind: str) -> None:
        from websockets.exceptions import ConnectionClosed

        with suppress(ConnectionClosed):
            async for raw in ws:
                at = time.perf_counter()
                self.last_frame = at
                self.bytes += len(raw)
                if not isinstance(raw, str):
                    self.frames["binary"] += 1
                    continue
                if raw.startswith('{"type":"state"'):  # big: never parsed while timing
                    self.frames["state"] += 1
                    if m == 0:
                        self.last_state = raw
                    if self.current is not None:
                        self.current.mark_state(m)
                    continue
                msg = json.loads(raw)
                kind_of = str(msg.get("type"))
                self.frames[kind_of] += 1
                if kind_of == "votes":
                    key: tuple[Any, ...] = ("vote", msg["by"], msg["entry"], msg["value"])
                elif kind_of == "echo":
                    key = ("echo", msg["seq"])
                else:
                    if kind_of == "error":
                        self.errors[str(msg.get("code"))] += 1
                    continue
                found = self.pending.get(key)
                if found is None:
                    self.unmatched += 1
                else:
                    found.mark(m, at)

    async def settle(self, quiet: float = 0.5, limit: float = 60.0) -> None:
        """Wait until no frame has arrived for ``quiet`` seconds."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            idle = time.perf_counter() - self.last_frame
            if idle >= quiet:
                return
            await asyncio.sleep(quiet - idle)

    def state(self) -> dict[str, Any]:
        if self.last_state is None:
            raise RuntimeError("member 0 never received the room's state")
        found: dict[str, Any] = json.loads(self.last_state)["room"]
        return found

    async def echo_round(self, seq: int, sender: int) -> Message:
        msg = Message(self.n)
        self.pending[("echo", seq)] = msg
        payload = json.dumps({"type": "echo", "seq": seq}, separators=(",", ":"))
        msg.t0 = time.perf_counter()
        await self.echo[sender].send(payload)
        with suppress(TimeoutError):
            await asyncio.wait_for(msg.done.wait(), ROUND_TIMEOUT)
        del self.pending[("echo", seq)]
        return msg

    async def vote_round(self, ballots: Ballots) -> Message:
        m, entry, value = ballots.pick()
        msg = Message(self.n)
        key = ("vote", self.fx.users[m], entry, value)
        self.pending[key] = msg
        self.current = msg
        payload = json.dumps({"type": "vote", "entry": entry, "value": value})
        msg.t0 = time.perf_counter()
        await self.room[m].send(payload)
        with suppress(TimeoutError):
            await asyncio.wait_for(msg.done.wait(), ROUND_TIMEOUT)
            await asyncio.wait_for(msg.settled.wait(), ROUND_TIMEOUT)
        self.current = None
        del self.pending[key]
        return msg

    async def burst(self, kind: str, ballots: Ballots | None, wait: float) -> dict[str, Any]:
        """``BURST`` frames back to back from all members; then count what arrived."""
        plan: list[tuple[int, str, tuple[Any, ...]]] = []
        used: set[tuple[int, int]] = set()
        per_member: Counter[int] = Counter()
        for i in range(BURST):
            if ballots is None:
                seq = 1_000_000 + i
                payload = json.dumps({"type": "echo", "seq": seq}, separators=(",", ":"))
                plan.append((i % self.n, payload, ("echo", seq)))
            else:
                m, entry, value = ballots.pick(used, per_member)
                payload = json.dumps({"type": "vote", "entry": entry, "value": value})
                plan.append((m, payload, ("vote", self.fx.users[m], entry, value)))
        sockets = self.echo if ballots is None else self.room
        msgs = [Message(self.n) for _ in plan]
        errors_before = sum(self.errors.values())
        for (_, _, key), msg in zip(plan, msgs, strict=True):
            self.pending[key] = msg
        began = time.perf_counter()
        for (m, payload, _), msg in zip(plan, msgs, strict=True):
            msg.t0 = time.perf_counter()
            await sockets[m].send(payload)
        sent = time.perf_counter() - began
        expected = BURST * self.n
        received, progress_at = 0, time.perf_counter()
        while received < expected:
            await asyncio.sleep(0.05)
            now_received = sum(msg.got for msg in msgs)
            if now_received > received:
                received, progress_at = now_received, time.perf_counter()
            elif time.perf_counter() - progress_at > wait:
                break
        for key in [key for _, _, key in plan]:
            self.pending.pop(key, None)
        times = [t for msg in msgs for t in msg.times if not math.isnan(t)]
        last = (
            max(
                (msg.t0 + max(t for t in msg.times if not math.isnan(t))) for msg in msgs if msg.got
            )
            if received
            else began
        )
        seconds = last - began
        return {
            "kind": kind,
            "frames": BURST,
            "senders": len({m for m, _, _ in plan}),
            "expected": expected,
            "received": received,
            "lost": expected - received,
            "send_seconds": sent,
            "seconds": seconds,
            "deliveries_per_s": received / seconds if seconds > 0 else 0.0,
            "errors": sum(self.errors.values()) - errors_before,
            **latency(times),
        }


def latency(seconds: list[float]) -> dict[str, Any]:
    ms = np.asarray(seconds, dtype=np.float64) * 1000
    if not len(ms):
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {
        "n": len(ms),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(ms.mean()),
    }


def rounds_summary(msgs: list[Message]) -> dict[str, Any]:
    times = [t for msg in msgs for t in msg.times if not math.isnan(t)]
    last = [max(msg.times) for msg in msgs if msg.got == msg.members]
    out = latency(times)
    out["messages"] = len(msgs)
    out["lost"] = sum(msg.members - msg.got for msg in msgs)
    out["last_member_p50_ms"] = float(np.percentile(last, 50) * 1000) if last else None
    out["last_member_p99_ms"] = float(np.percentile(last, 99) * 1000) if last else None
    out["rounds_last_member_ms"] = [round(float(np.nanmax(m.times)) * 1000, 2) for m in msgs]
    out["rounds_first_member_ms"] = [round(float(np.nanmin(m.times)) * 1000, 2) for m in msgs]
    return out


async def measure(port: int, fx: Fixture, args: argparse.Namespace) -> dict[str, Any]:
    clients = Clients(port, fx, compression=not args.no_compression)
    began = time.perf_counter()
    try:
        await clients.open()
        await clients.settle()
        connect_seconds = time.perf_counter() - began
        ballots = Ballots(clients.state(), fx.users)
        # The client is the instrument: no garbage-collector pauses while it times deliveries.
        gc.collect()
        gc.freeze()
        gc.disable()
        rng = random.Random(args.seed)
        floor: list[Message] = []
        room: list[Message] = []
        for r in range(args.warmup + args.rounds):
            order = ["echo", "vote"] if r % 2 == 0 else ["vote", "echo"]
            for kind in order:
                if kind == "echo":
                    msg = await clients.echo_round(r, r % clients.n)
                    (floor if r >= args.warmup else []).append(msg)
                else:
                    msg = await clients.vote_round(ballots)
                    (room if r >= args.warmup else []).append(msg)
                await asyncio.sleep(rng.uniform(0.02, 0.06))
        await clients.settle()
        bursts = [await clients.burst("echo", None, args.burst_wait)]
        await clients.settle()
        bursts.append(await clients.burst("room", ballots, args.burst_wait))
        await clients.settle(quiet=1.0)
        gc.enable()
        windows = [("echo", m.t0, m.t0 + np.nanmax(m.times), m.times) for m in floor if m.got]
        windows += [("vote", m.t0, m.t0 + np.nanmax(m.times), m.times) for m in room if m.got]
        return {
            "windows": windows,
            "connect_seconds": connect_seconds,
            "floor": rounds_summary(floor),
            "room": rounds_summary(room),
            "bursts": bursts,
            "frames": dict(clients.frames),
            "megabytes_received": clients.bytes / 1e6,
            "errors": dict(clients.errors),
            "unmatched": clients.unmatched,
        }
    finally:
        gc.enable()
        await clients.close()


@dataclass(frozen=True)
class Config:
    """One server start: a channel layer, and for a diagnosis a proposed fix patched in."""

    name: str
    layer: str  # pubsub | memory
    env: dict[str, str] = field(default_factory=dict)
    about: str = ""
    diagnosis: bool = False  # never decides the exit code


# Fixes A-D that --diagnose once patched in here are in the product since: room events skip
# Channels' per-message database hop (groups/consumers.py), a vote's learning signal waits for
# the room's recomputation (groups/room_actions.py), gc.freeze() after start-up
# (audotics/asgi.py), and the in-memory layer keeps 1,000 messages per socket.


def run_layer(
    config: Config, base_env: dict[str, str], work: Path, fx: Fixture, args: argparse.Namespace
) -> dict[str, Any]:
    layer = config.layer
    env = dict(base_env)
    env.update(config.env)
    env.update(item.split("=", 1) for item in args.server_env)
    if layer == "pubsub":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        env["REDIS_URL"] = REDIS_URL
        env["BENCH_CHANNEL_PREFIX"] = f"fanout-{secrets.token_hex(4)}"
    port = free_port()
    slug = "".join(c if c.isalnum() else "-" for c in config.name)
    log = work / f"server-{slug}.log"
    wall = time.perf_counter()
    trace = work / f"trace-{slug}.txt"
    if args.trace:
        env["BENCH_TRACE"] = str(trace)
    with server(env, port, log) as proc:
        cpu, own = cpu_seconds(proc.pid), sum(os.times()[:2])
        loop_began = time.perf_counter()
        result = asyncio.run(measure(port, fx, args))
        result["server_cpu_seconds"] = cpu_seconds(proc.pid) - cpu
        result["client_cpu_seconds"] = sum(os.times()[:2]) - own
        result["measured_seconds"] = time.perf_counter() - loop_began
    windows = result.pop("windows")
    if args.trace:
        result["trace"] = trace_breakdown(trace, windows)
        result["without_full_gc"] = without_full_gc(trace, windows)
    text = log.read_text(errors="replace")
    result["server_tracebacks"] = text.count("Traceback")
    result["layer"] = config.name
    result["about"] = config.about
    result["diagnosis"] = config.diagnosis
    result["server_env"] = {**config.env, **dict(x.split("=", 1) for x in args.server_env)}
    result["backend"] = (
        "channels_redis.pubsub.RedisPubSubChannelLayer"
        if layer == "pubsub"
        else "channels.layers.InMemoryChannelLayer"
    )
    result["wall_seconds"] = time.perf_counter() - wall
    room_p99, floor_p99 = result["room"]["p99_ms"], result["floor"]["p99_ms"]
    result["ratio_p99"] = room_p99 / floor_p99 if room_p99 and floor_p99 else None
    result["ratio_p50"] = (
        result["room"]["p50_ms"] / result["floor"]["p50_ms"] if result["floor"]["p50_ms"] else None
    )
    room_burst = next(b for b in result["bursts"] if b["kind"] == "room")
    result["checks"] = {
        "room p99 / floor p99 <= 1.5": result["ratio_p99"] is not None
        and result["ratio_p99"] <= RATIO_TARGET,
        "burst of 200 votes: 0 lost": room_burst["lost"] == 0,
        "no vote lost between bursts": result["room"]["lost"] == 0,
    }
    print_layer(result)
    return result


Window = tuple[str, float, float, list[float]]  # kind, sent, last delivery, delivery times


def without_full_gc(path: Path, windows: list[Window]) -> dict[str, Any]:
    """Latency of the rounds during which the server ran no full (generation 2) collection.

    Both rooms share one process, so a full collection (60-100 ms over the start-up heap)
    lands in whichever round is in flight, and one or two of them decide a p99 of 150 rounds.
    """
    starts = sorted(
        float(line.split()[0]) for line in path.read_text().splitlines() if line.endswith(" gc.2")
    )
    out: dict[str, Any] = {}
    for kind, name in (("echo", "floor"), ("vote", "room")):
        kept = [
            times
            for k, t0, end, times in windows
            if k == kind and not any(t0 <= at <= end for at in starts)
        ]
        out[name] = latency([t for times in kept for t in times if not math.isnan(t)])
        out[name]["rounds"] = len(kept)
    if out["room"]["p99_ms"] and out["floor"]["p99_ms"]:
        out["ratio_p99"] = out["room"]["p99_ms"] / out["floor"]["p99_ms"]
    out["full_collections"] = len(starts)
    return out


def trace_breakdown(path: Path, windows: list[Window]) -> dict[str, Any]:
    """Per step of a round, ms after the client sent the frame (p50, p90 over the rounds).

    The server's trace and the client's clock are both CLOCK_MONOTONIC (``perf_counter``).
    ``first X`` / ``last X``: the first and the last time step X happened in the round (``out``
    steps happen once per member socket: the last one is the server's whole fan-out).
    """
    import bisect

    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    times = [float(t) for t, _ in rows]
    steps: dict[str, dict[str, list[float]]] = {"echo": {}, "vote": {}}
    slow: list[tuple[float, str, dict[str, float]]] = []
    for kind, t0, end, _ in windows:
        lo, hi = bisect.bisect_left(times, t0), bisect.bisect_right(times, end + 0.001)
        first: dict[str, float] = {}
        last: dict[str, float] = {}
        for i in range(lo, hi):
            first.setdefault(rows[i][1], times[i])
            last[rows[i][1]] = times[i]
        found = {f"first {step}": at for step, at in first.items()}
        found |= {f"last {step}": at for step, at in last.items() if step.split(".")[1] == "out"}
        found["client: last member has it"] = end
        for name, at in found.items():
            steps[kind].setdefault(name, []).append((at - t0) * 1000)
        slow.append((end - t0, kind, {n: round((at - t0) * 1000, 2) for n, at in found.items()}))
    out: dict[str, Any] = {
        "slowest": [
            {"kind": kind, "steps": dict(sorted(found.items(), key=lambda kv: kv[1]))}
            for _, kind, found in sorted(slow, key=lambda x: x[0], reverse=True)[:4]
        ]
    }
    for kind, named in steps.items():
        rows_out = [
            {
                "step": name,
                "rounds": len(v),
                "p50_ms": float(np.median(v)),
                "p90_ms": float(np.percentile(v, 90)),
            }
            for name, v in named.items()
        ]
        out[kind] = sorted(rows_out, key=lambda r: r["p50_ms"])
    return out


# --- the report ------------------------------------------------------------------------------


def _f(x: Any, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def print_layer(r: dict[str, Any]) -> None:
    print(
        f"  {r['layer']}: floor p50 {_f(r['floor']['p50_ms'])} / p99 {_f(r['floor']['p99_ms'])} "
        f"ms; room p50 {_f(r['room']['p50_ms'])} / p99 {_f(r['room']['p99_ms'])} ms; "
        f"ratio p99 {_f(r['ratio_p99'], 2)}",
        flush=True,
    )
    for b in r["bursts"]:
        print(
            f"  {r['layer']} burst {b['kind']}: {b['received']}/{b['expected']} in "
            f"{b['seconds']:.2f} s ({b['deliveries_per_s']:,.0f}/s), lost {b['lost']}, "
            f"p99 {_f(b['p99_ms'])} ms, errors {b['errors']}",
            flush=True,
        )


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# room_fanout ({report['date']})",
        "",
        f"{report['machine']}; commit {report['commit']}. {report['setup']}",
        "",
        "Latency per delivery (send -> that member's socket has the frame), "
        f"{report['args']['rounds']} rounds each after {report['args']['warmup']} warm-up:",
        "",
        "| layer | room | messages | deliveries | p50 ms | p99 ms | max ms | last member p99 ms "
        "| lost |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["layers"]:
        for name, label in (("floor", "echo (floor)"), ("room", "vote -> votes")):
            s = r[name]
            lines.append(
                f"| {r['layer']} | {label} | {s['messages']} | {s['n']} | {_f(s['p50_ms'])} | "
                f"{_f(s['p99_ms'])} | {_f(s['max_ms'])} | {_f(s['last_member_p99_ms'])} | "
                f"{s['lost']} |"
            )
    lines += [
        "",
        f"Bursts: {BURST} frames back to back from all members, each to all {report['members']}:",
        "",
        "| layer | burst | delivered | lost | seconds | deliveries/s | p50 ms | p99 ms | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["layers"]:
        for b in r["bursts"]:
            lines.append(
                f"| {r['layer']} | {b['kind']} | {b['received']:,}/{b['expected']:,} | "
                f"{b['lost']} | {b['seconds']:.2f} | {b['deliveries_per_s']:,.0f} | "
                f"{_f(b['p50_ms'])} | {_f(b['p99_ms'])} | {b['errors']} |"
            )
    lines += ["", "| layer | target | value | met |", "|---|---|---:|:---:|"]
    for r in report["layers"]:
        room_burst = next(b for b in r["bursts"] if b["kind"] == "room")
        values = {
            "room p99 / floor p99 <= 1.5": _f(r["ratio_p99"], 3),
            "burst of 200 votes: 0 lost": str(room_burst["lost"]),
            "no vote lost between bursts": str(r["room"]["lost"]),
        }
        lines.append(
            f"| {r['layer']} | room p50 / floor p50 (no target) | {_f(r['ratio_p50'], 2)} | |"
        )
        if "without_full_gc" in r:
            w = r["without_full_gc"]
            lines.append(
                f"| {r['layer']} | room p99 / floor p99 in the rounds without a full garbage "
                f"collection ({w['floor']['rounds']} floor, {w['room']['rounds']} room rounds; "
                f"no target) | {_f(w.get('ratio_p99'), 2)} | |"
            )
        for check, ok in r["checks"].items():
            lines.append(
                f"| {r['layer']} | {check} | {values[check]} | {'yes' if ok else '**no**'} |"
            )
    for r in report["layers"]:
        if "trace" not in r:
            continue
        lines += [
            "",
            f"Where the time goes ({r['layer']}, server trace; ms after the client sent):",
            "",
            "Steps: `*.in` the frame reached the consumer; `room.perform` the action started on "
            "asgiref's one sync thread; `room.entry_vote` the vote service; "
            "`room.publish.votes` / `published.votes` the votes frame's group_send (from that "
            "thread, through async_to_sync) began / returned; `room.feedback` "
            "vote_feedback_record; `*.out` a member socket's consumer sent the frame (first and "
            "last of 50); `gc.N` a garbage collection of generation N that took over 1 ms "
            "(in only some rounds: see the rounds column).",
            "",
            "| round | step | rounds with it | p50 ms | p90 ms |",
            "|---|---|---:|---:|---:|",
        ]
        for kind, rows in r["trace"].items():
            if kind == "slowest":
                continue
            for row in rows:
                lines.append(
                    f"| {kind} | {row['step']} | {row.get('rounds', '-')} | {row['p50_ms']:.2f} | "
                    f"{row['p90_ms']:.2f} |"
                )
    for r in report["layers"]:
        tails = [
            f"{name} p99 is {r[name]['p99_ms'] / r[name]['p50_ms']:.1f}x its p50"
            for name in ("floor", "room")
            if r[name]["p50_ms"] and r[name]["p99_ms"] / r[name]["p50_ms"] > 3
        ]
        if tails:
            lines += [
                "",
                f"Note ({r['layer']}): {', '.join(tails)}: that tail is one or two stalled rounds "
                f"(a full garbage collection in the server, or the machine's other load; see "
                f"the slowest rounds in the JSON with --trace), so this p99 ratio changes from "
                f"run to run; the p50 ratio is {r['ratio_p50']:.2f}.",
            ]
    lines += ["", "Per layer:", ""]
    for r in report["layers"]:
        about = "; " + r["about"] if r["about"] else ""
        lines.append(
            f"- {r['layer']} ({r['backend']}{about}): server CPU "
            f"{r['server_cpu_seconds']:.1f} s over "
            f"{r['measured_seconds']:.1f} s measured "
            f"({r['server_cpu_seconds'] / r['measured_seconds']:.0%} of a core), client CPU "
            f"{r['client_cpu_seconds']:.1f} s; frames received {r['frames']}, "
            f"{r['megabytes_received']:.1f} MB; "
            f"error frames {r['errors'] or 'none'}; unmatched {r['unmatched']}; "
            f"server tracebacks {r['server_tracebacks']}; 100 sockets open in "
            f"{r['connect_seconds']:.1f} s."
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--layers", nargs="+", default=["pubsub", "memory"], choices=["pubsub", "memory"]
    )
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=150, help="measured rounds per room")
    parser.add_argument("--warmup", type=int, default=10, help="rounds before measuring")
    parser.add_argument(
        "--burst-wait",
        type=float,
        default=10.0,
        help="seconds without a new delivery before a burst's count is final",
    )
    parser.add_argument("--quick", action="store_true", help="30 rounds, pubsub only")
    parser.add_argument(
        "--no-compression", action="store_true", help="clients do not offer permessage-deflate"
    )
    parser.add_argument(
        "--server-env",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="extra server environment (diagnosis, e.g. BENCH_TRACE=/tmp/trace.txt)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="time each server step of the rounds (adds a little overhead)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, database)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "room_fanout.json"))
    parser.add_argument("--render", metavar="JSON", help="only write the .md of a saved JSON")
    args = parser.parse_args()
    if args.render:
        saved = Path(args.render)
        saved.with_suffix(".md").write_text(markdown(json.loads(saved.read_text())))
        return 0
    if args.quick:
        args.rounds, args.layers = 30, ["pubsub"]
    if "pubsub" in args.layers and not _redis_answers():
        print("Redis does not answer on 127.0.0.1:6379: the pubsub layer is skipped", flush=True)
        args.layers = [x for x in args.layers if x != "pubsub"]
    if not args.layers:
        return 1
    work = Path(tempfile.mkdtemp(prefix="room_fanout."))
    try:
        code = run(args, work)
    except BaseException:
        print(f"failed: server logs and the database are in {work}", file=sys.stderr)
        raise
    if args.keep:
        print(f"server logs and the database: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return code


def _redis_answers() -> bool:
    try:
        socket.create_connection((HOST, 6379), timeout=1).close()
        return True
    except OSError:
        return False


def run(args: argparse.Namespace, work: Path) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "BENCH_CHANNEL_PREFIX")
    }
    env.update(
        AUDOTICS_VAR_DIR=str(work),
        DJANGO_SETTINGS_MODULE="audotics.settings.base",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        LOG_LEVEL="WARNING",
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONPATH=str(ROOT),
    )
    fx = prepare(env, args.members)
    print(
        f"work dir {work}; room {fx.code} with {len(fx.users)} members; set-up "
        f"{fx.setup_seconds:.1f} s",
        flush=True,
    )
    configs = [Config(layer, layer) for layer in args.layers]
    layers = [run_layer(config, env, work, fx, args) for config in configs]
    load_after = os.getloadavg()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, 1-minute load average {load_before[0]:.1f} at the "
        f"start, {load_after[0]:.1f} at the end",
        "commit": git_commit(ROOT),
        "members": len(fx.users),
        "setup": (
            f"One uvicorn process (1 worker, DEBUG off) serving bench/room_asgi.py on a fresh "
            f"SQLite database (WAL); {len(fx.users)} members in one room, each with a room "
            f"socket and an echo socket from one asyncio client process "
            f"({'no compression' if args.no_compression else 'permessage-deflate offered'}); "
            f"clients and server share the machine's cores. Set-up (migrate, catalogue, "
            f"guests, room, sessions) {fx.setup_seconds:.1f} s."
        ),
        "args": vars(args),
        "layers": layers,
        "wall_seconds": time.perf_counter() - started,
    }
    table = markdown(report)
    print("\n" + table)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1))
    output.with_suffix(".md").write_text(table)
    failed = [c for r in layers if not r["diagnosis"] for c, ok in r["checks"].items() if not ok]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

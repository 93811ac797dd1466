"""Benchmark: the full demo data import on a fresh SQLite and a fresh PostgreSQL database.

Run from the repository root (never collected by pytest; STYLE rule 23)::

    .venv/bin/python bench/import_speed.py              # both backends
    .venv/bin/python bench/import_speed.py --backend sqlite

For each backend, in subprocesses with a clean environment: ``manage.py migrate`` on a fresh
database, then ``manage.py load_demo_data --no-progress`` twice (first import, then an idempotent
re-import), with the table row counts taken after each run and compared.

The peer measured in the same run is the raw parse time: the ``ml.data`` readers over the same
files with no database at all, so ``import / parse`` says how much the database writes cost on
top of reading and validating the rows. Target (issue): first import under 120 s on each backend
on the 2-core development machine. Results go to ``bench/results/import_speed.json``; the exit
status is 1 when a measured backend misses the target or the re-import changes a row count.
PostgreSQL (127.0.0.1:5432, user postgres, trust auth) is skipped with the reason when it does
not answer; its database ``audotics_bench`` is dropped and re-created, and dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
RESULTS = ROOT / "bench" / "results" / "import_speed.json"
TARGET_S = 120.0
PG_HOST, PG_PORT, PG_USER, PG_DB = "127.0.0.1", 5432, "postgres", "audotics_bench"
# Tables that grow on every run by design (one audit row per import); not part of the check.
GROWING = {"recommender.ImportRun"}
# Unset in the subprocesses so that only the database under test changes.
SERVICE_VARS = {"DATABASE_URL", "DB", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}

COUNTS_SNIPPET = """
import dataclasses, json
from django.apps import apps
from recommender.models import ImportRun
from recommender.selectors import catalogue_counts
runs = [
    [r.kind, round((r.finished_at - r.started_at).total_seconds(), 2)]
    for r in ImportRun.objects.order_by("started_at")
]
tables = {
    m._meta.label: m._default_manager.count()
    for label in ("recommender", "groups", "spotify_sync")
    for m in apps.get_app_config(label).get_models()
}
print(json.dumps({
    "tables": tables, "catalogue": dataclasses.asdict(catalogue_counts()), "runs": runs,
}))
"""


# --------------------------------------------------------------------------- the peer: parsing


def _parse_once() -> dict[str, tuple[float, int]]:
    """Seconds and rows per file for the readers the importers use (no Django, no database)."""
    sys.path.insert(0, str(ROOT))
    from ml.data import catalogue, hetrec

    lastfm = DATA / "lastfm-hetrec2011-2k"
    readers: dict[str, Callable[[], Any]] = {
        "spotify_songs.csv.gz": lambda: catalogue.read_songs(
            DATA / "spotify-songs-tidytuesday-2020" / "spotify_songs.csv.gz"
        ),
        "data_moods.csv": lambda: catalogue.read_moods(
            DATA / "spotify-moods-686" / "data_moods.csv"
        ),
        "artists.dat": lambda: hetrec.read_artists(lastfm),
        "tags.dat": lambda: hetrec.read_tags(lastfm),
        "user_artists.dat": lambda: hetrec.read_user_artists(lastfm),
        "user_taggedartists.dat": lambda: hetrec.read_tag_assignments(lastfm),
        "user_friends.dat": lambda: hetrec.read_friends(lastfm),
    }
    timings: dict[str, tuple[float, int]] = {}
    for name, read in readers.items():
        start = time.perf_counter()
        result = read()
        timings[name] = (time.perf_counter() - start, len(result.rows))
    return timings


def measure_parse(repeats: int) -> dict[str, Any]:
    runs = [_parse_once() for _ in range(repeats)]
    totals = [sum(s for s, _ in run.values()) for run in runs]
    files = {
        name: {
            "median_s": round(statistics.median(run[name][0] for run in runs), 3),
            "rows": runs[0][name][1],
        }
        for name in runs[0]
    }
    return {
        "repeats": repeats,
        "median_s": round(statistics.median(totals), 3),
        "min_s": round(min(totals), 3),
        "files": files,
    }


# --------------------------------------------------------------------------- subprocess helpers


def clean_env(var_dir: Path, database_url: str | None) -> dict[str, str]:
    """The embedded defaults, plus only the database under test."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env["DJANGO_SETTINGS_MODULE"] = "audotics.settings.base"
    env["AUDOTICS_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def manage(env: dict[str, str], *args: str) -> tuple[float, str]:
    """Run ``manage.py args`` and return (wall seconds, stdout); exit on failure."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(f"manage.py {' '.join(args)} failed ({proc.returncode}):\n")
        sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
        raise SystemExit(1)
    return elapsed, proc.stdout


def counts(env: dict[str, str]) -> dict[str, Any]:
    _, out = manage(env, "shell", "-c", COUNTS_SNIPPET)
    return json.loads(out.strip().splitlines()[-1])


def differences(first: dict[str, Any], second: dict[str, Any]) -> dict[str, list[int]]:
    diff: dict[str, list[int]] = {}
    for group in ("tables", "catalogue"):
        for key, before in first[group].items():
            after = second[group].get(key)
            if key not in GROWING and before != after:
                diff[f"{group}.{key}"] = [before, after]
    return diff


def run_backend(name: str, env: dict[str, str], parse_s: float) -> dict[str, Any]:
    print(f"[{name}] migrate ...", flush=True)
    migrate_s, _ = manage(env, "migrate", "--no-input", "-v", "0")
    startup_s, _ = manage(env, "shell", "-c", "pass")  # the fixed cost inside each timing
    print(f"[{name}] first import ...", flush=True)
    first_s, first_out = manage(env, "load_demo_data", "--no-progress")
    first = counts(env)
    print(f"[{name}] re-import ...", flush=True)
    again_s, again_out = manage(env, "load_demo_data", "--no-progress")
    again = counts(env)
    diff = differences(first, again)
    rows = sum(n for label, n in first["tables"].items() if label not in GROWING)
    return {
        "status": "measured",
        "migrate_s": round(migrate_s, 2),
        "django_startup_s": round(startup_s, 2),
        "first_import_s": round(first_s, 2),
        "reimport_s": round(again_s, 2),
        "ratio_first_vs_parse": round(first_s / parse_s, 1),
        "ratio_reimport_vs_parse": round(again_s / parse_s, 1),
        "rows": rows,
        "counts_equal_after_reimport": not diff,
        "count_differences": diff,
        # Seconds inside each importer's transaction (ImportRun audit rows), both runs in order.
        "importer_s": again["runs"],
        "meets_target": first_s < TARGET_S and again_s < TARGET_S,
        "tables": first["tables"],
        "catalogue": first["catalogue"],
        "output_first": first_out.strip().splitlines(),
        "output_reimport": again_out.strip().splitlines(),
    }


# --------------------------------------------------------------------------- backends


def bench_sqlite(parse_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="audotics-bench-") as tmp:
        return run_backend("sqlite", clean_env(Path(tmp), None), parse_s)


def postgres_unreachable() -> str | None:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return None
    except OSError as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} does not answer ({exc})"


def _pg_admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def bench_postgres(parse_s: float) -> dict[str, Any]:
    reason = postgres_unreachable()
    if reason:
        print(f"[postgres] skipped: {reason}")
        return {"status": "skipped", "reason": reason}
    _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    _pg_admin(f"CREATE DATABASE {PG_DB}")
    url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"
    try:
        with tempfile.TemporaryDirectory(prefix="audotics-bench-") as tmp:
            result = run_backend("postgres", clean_env(Path(tmp), url), parse_s)
        result["server_version"] = _pg_server_version()
        return result
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def _pg_server_version() -> str:
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW server_version")
            return str(cur.fetchone()[0])
    finally:
        conn.close()


BACKENDS: dict[str, Callable[[float], dict[str, Any]]] = {
    "sqlite": bench_sqlite,
    "postgres": bench_postgres,
}


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        # Other work on a shared machine shows up here and in the timings.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the working tree had uncommitted changes."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit or "unknown", "uncommitted_changes": bool(changed)}


def print_table(parse: dict[str, Any], backends: dict[str, dict[str, Any]]) -> None:
    print()
    repeats = parse["repeats"]
    print(f"parse only (peer, no database): {parse['median_s']:.2f} s (median of {repeats})")
    header = f"{'backend':<10} {'first import s':>15} {'re-import s':>12} {'ratio vs parse':>15} "
    print(header + f"{'rows':>9}  counts equal  < {TARGET_S:.0f} s")
    for name, r in backends.items():
        if r["status"] != "measured":
            print(f"{name:<10} skipped: {r['reason']}")
            continue
        ratio = f"{r['ratio_first_vs_parse']}x / {r['ratio_reimport_vs_parse']}x"
        print(
            f"{name:<10} {r['first_import_s']:>15.2f} {r['reimport_s']:>12.2f} {ratio:>15} "
            f"{r['rows']:>9,}  {'yes' if r['counts_equal_after_reimport'] else 'NO':<12}  "
            f"{'yes' if r['meets_target'] else 'NO'}"
        )
        if r["count_differences"]:
            print(f"{'':<10} differences (first, re-import): {r['count_differences']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", choices=sorted(BACKENDS))
    parser.add_argument("--parse-repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    host = machine()  # before the run, so that the load average is other work, not ours
    print("parsing the demo files (no database) ...", flush=True)
    parse = measure_parse(args.parse_repeats)
    backends = {name: BACKENDS[name](parse["median_s"]) for name in args.backend or BACKENDS}
    print_table(parse, backends)

    report = {
        "benchmark": "import_speed",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": host,
        "code": code_version(),
        "target_s": TARGET_S,
        "command": "manage.py load_demo_data --no-progress (wall time of the subprocess)",
        "parse": parse,
        "backends": backends,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    measured = [r for r in backends.values() if r["status"] == "measured"]
    ok = all(r["meets_target"] and r["counts_equal_after_reimport"] for r in measured)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

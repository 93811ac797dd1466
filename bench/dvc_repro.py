"""Benchmark: ``dvc repro`` on a clean clone rebuilds every model from the bundled data.

Run from the repository root (never collected by pytest; STYLE rule 23)::

    .venv/bin/python bench/dvc_repro.py --tiny      # tiny models + the peer, about 30 minutes
    .venv/bin/python bench/dvc_repro.py             # the served models, about 50 minutes

It clones the repository's ``HEAD`` (``git clone -q``; ``--source`` names another checkout, whose
committed ``HEAD`` is what runs) into a temp folder, links this checkout's ``.venv`` into it, and
in the clone, with ``DVC_NO_ANALYTICS=1`` and the service URLs unset:

1. ``dvc repro``, timing each stage from its "Running stage" line to the next (the command plus
   DVC's hashing, caching and lock writing) next to the seconds the stage's own commands took
   (``var/dvc/metrics/<stage>.json``, written by ``scripts/dvc_stage.py``);
2. ``dvc status`` (must be up to date) and a second ``dvc repro`` (must run nothing);
3. ``dvc push`` to the local remote (``var/dvc-remote`` of the clone) and ``dvc metrics show``.

**Peer** (same run, ``--peer``; on by default with ``--tiny``): the product's own path without
DVC, the commands ``scripts/run`` uses, on one database in a fresh var dir of the clone:
``migrate``, ``load_demo_data``, ``train`` user_preference, content, group and hybrid, then the
same ``evaluate``. ``dvc repro / direct`` is the cost of the pipeline (DVC itself, the database
copies, one ``migrate`` and Django start per stage). Full-size, the peer would double a
50-minute run, so it is off unless asked for; DVC's own share is then read from the stage
timings alone.

Writes ``bench/results/dvc_repro.json`` and ``.md`` (``--tiny`` runs: ``dvc_repro_tiny.*``). The
exit status is 1 when a command fails, ``dvc status`` is not clean after the run, or the second
``dvc repro`` runs a stage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _provenance import git_commit  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from dvc_stage import SERVICE_VARS, STAGES, THREAD_VARS, read_params  # noqa: E402

RESULTS = ROOT / "bench" / "results"
STAGE_LINE = re.compile(r"^Running stage '([\w-]+)'")
TRAIN_MODELS = ("user_preference", "content", "group", "hybrid")


def _dvc_env(threads: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(DVC_NO_ANALYTICS="1", PYTHONHASHSEED="0")
    env.update(dict.fromkeys(THREAD_VARS, str(threads)))
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, str]:
    """Run ``command``; its output goes to ``log`` and is returned; raises when it fails."""
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seconds = time.perf_counter() - started
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(command)}  ({seconds:.1f} s, status {done.returncode})\n")
        fh.write(done.stdout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (status {done.returncode}); log: {log}")
    return seconds, done.stdout


def _repro(clone: Path, env: dict[str, str], log: Path) -> tuple[float, dict[str, float]]:
    """``dvc repro`` streamed line by line: its wall seconds and each stage's."""
    starts: list[tuple[str, float]] = []
    started = time.perf_counter()
    with log.open("a") as fh:
        fh.write("$ dvc repro\n")
        proc = subprocess.Popen(
            [str(clone / ".venv" / "bin" / "dvc"), "repro"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            fh.flush()
            match = STAGE_LINE.match(line)
            if match:
                starts.append((match.group(1), time.perf_counter()))
                print(
                    f"  {time.perf_counter() - started:7.1f} s  stage {match.group(1)}", flush=True
                )
        status = proc.wait()
    ended = time.perf_counter()
    if status != 0:
        raise RuntimeError(f"dvc repro failed (status {status}); log: {log}")
    bounds = [t for _, t in starts[1:]] + [ended]
    stages = {name: end - begin for (name, begin), end in zip(starts, bounds, strict=True)}
    return ended - started, stages


def _set_tiny(params: Path) -> None:
    text = params.read_text()
    new, count = re.subn(r"(?m)^(\s+tiny:\s*)false\b", r"\1true", text)
    if count != 1:
        raise RuntimeError(f"{params}: expected one 'tiny: false' line to switch")
    params.write_text(new)


def _direct(clone: Path, params: dict[str, Any], log: Path) -> dict[str, float]:
    """The peer: the product's commands on one database, no DVC (as ``scripts/run`` does)."""
    var = clone / "var" / "direct"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    train, evaluate = params["train"], params["evaluate"]
    env = _dvc_env(train["threads"])
    env.update(
        DJANGO_SETTINGS_MODULE="audotics.settings.base",
        AUDOTICS_VAR_DIR=str(var),
        AUDOTICS_MODEL_STORE=str(var / "models"),
        AUDOTICS_DATA_DIR=str(clone / "data"),
    )
    tiny = ["--tiny"] if train["tiny"] else []
    python = [str(clone / ".venv" / "bin" / "python"), "manage.py"]
    steps: list[tuple[str, list[str]]] = [
        ("migrate", ["migrate", "--no-input", "-v", "0"]),
        ("load_demo_data", ["load_demo_data", "--if-empty", "--no-progress"]),
        *[(f"train {m}", ["train", m, "--no-progress", *tiny]) for m in TRAIN_MODELS],
        (
            "evaluate",
            [
                "evaluate",
                "--protocol",
                evaluate["protocol"],
                "--k",
                str(evaluate["k"]),
                "--seed",
                str(evaluate["seed"]),
                "--json",
                str(var / "evaluate.json"),
                *tiny,
                "--model",
                *evaluate["peers"],
            ],
        ),
    ]
    times: dict[str, float] = {}
    for name, args in steps:
        times[name], _ = _run(python + args, clone, env, log)
        print(f"  direct {name}: {times[name]:.1f} s", flush=True)
    return times


def _du(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    load_before = os.getloadavg()
    clone = work / "clone"
    log = work / "log.txt"
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(args.source), str(clone)], check=True)
    clone_seconds = time.perf_counter() - started
    if not (clone / "dvc.yaml").is_file():
        raise RuntimeError(f"{args.source}: HEAD has no dvc.yaml (commit the DVC files first)")
    commit = git_commit(clone).split()[0]
    (clone / ".venv").symlink_to(ROOT / ".venv")
    if args.tiny:
        _set_tiny(clone / "params.yaml")
    params = read_params(clone / "params.yaml")
    env = _dvc_env(params["train"]["threads"])
    dvc = str(clone / ".venv" / "bin" / "dvc")
    print(f"clone of {commit} in {clone} ({'tiny' if args.tiny else 'full'}); dvc repro:")

    repro_seconds, stage_walls = _repro(clone, env, log)
    metrics = {
        stage: json.loads((clone / "var" / "dvc" / "metrics" / f"{stage}.json").read_text())
        for stage in STAGES
    }
    _, status_out = _run([dvc, "status"], clone, env, log)
    rerun_seconds, rerun_out = _run([dvc, "repro"], clone, env, log)
    push_seconds, push_out = _run([dvc, "push"], clone, env, log)
    remote_files, remote_bytes = _du(clone / "var" / "dvc-remote")
    _run([dvc, "metrics", "show"], clone, env, log)  # the table, in the log
    _, metrics_json = _run([dvc, "metrics", "show", "--json"], clone, env, log)
    up_to_date = "up to date" in status_out
    rerun_ran = any(STAGE_LINE.match(line) for line in rerun_out.splitlines())
    direct: dict[str, float] | None = None
    if args.peer if args.peer is not None else args.tiny:
        print("peer: the same commands on one database, without DVC:")
        direct = _direct(clone, params, log)

    stages = [
        {
            "stage": stage,
            "dvc_seconds": round(stage_walls.get(stage, 0.0), 1),
            "command_seconds": metrics[stage]["seconds"],
            "setup_seconds": metrics[stage].get("setup_seconds"),
        }
        for stage in STAGES
    ]
    command_total = sum(float(s["command_seconds"]) for s in stages)
    evaluation = metrics["evaluate"]
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, 1-minute load average {load_before[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end",
        "commit": commit,
        "dvc": "DVC "
        + subprocess.run(
            [dvc, "--version"], env=env, capture_output=True, text=True
        ).stdout.strip(),
        "mode": "tiny" if args.tiny else "full",
        "params": params,
        "nice": os.nice(0),
        "clone_seconds": round(clone_seconds, 1),
        "repro_seconds": round(repro_seconds, 1),
        "stages": stages,
        "command_seconds": round(command_total, 1),
        "dvc_own_seconds": round(repro_seconds - command_total, 1),
        "status_up_to_date": up_to_date,
        "rerun_seconds": round(rerun_seconds, 1),
        "rerun_ran_a_stage": rerun_ran,
        "push_seconds": round(push_seconds, 1),
        "push_output": push_out.strip().splitlines()[-1:] if push_out.strip() else [],
        "remote_files": remote_files,
        "remote_mb": round(remote_bytes / 2**20, 1),
        "metrics_show": _metrics_lines(json.loads(metrics_json)),
        "models": {m: metrics[s] for s, m in zip(STAGES[1:5], TRAIN_MODELS, strict=True)},
        "evaluate": evaluation,
        "direct": direct,
        "direct_seconds": round(sum(direct.values()), 1) if direct else None,
        "ratio_vs_direct": round(repro_seconds / sum(direct.values()), 3) if direct else None,
    }


def _flat(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            pairs += _flat(value, f"{prefix}{key}.")
        else:
            pairs.append((f"{prefix}{key}", value))
    return pairs


def _metrics_lines(shown: dict[str, Any]) -> list[str]:
    """``dvc metrics show --json`` as one line per metrics file (the table is too wide)."""
    lines = []
    for workspace in shown.values():
        files = workspace.get("data") or {}
        order = {f"var/dvc/metrics/{stage}.json": i for i, stage in enumerate(STAGES)}
        for path, entry in sorted(files.items(), key=lambda item: order.get(item[0], 99)):
            values = ", ".join(
                f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                for key, value in _flat(entry.get("data") or {})
            )
            lines.append(f"{path}: {values}")
    return lines


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# dvc_repro, {r['mode']} ({r['date']})",
        "",
        f"{r['machine']}; commit {r['commit']}; {r['dvc']}; niceness {r['nice']}; params "
        f"`train.tiny: {str(r['params']['train']['tiny']).lower()}`, "
        f"`train.threads: {r['params']['train']['threads']}`. `dvc repro` on a fresh `git clone` "
        f"(clone {r['clone_seconds']} s), `DVC_NO_ANALYTICS=1`, local remote `var/dvc-remote`.",
        "",
        "| stage | dvc repro s | its commands s | of which private copy + migrate s "
        "| DVC's own s |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in r["stages"]:
        own = s["dvc_seconds"] - s["command_seconds"]
        setup = "" if s.get("setup_seconds") is None else f"{s['setup_seconds']:.1f}"
        lines.append(
            f"| {s['stage']} | {s['dvc_seconds']:.1f} | {s['command_seconds']:.1f} | {setup} "
            f"| {own:.1f} |"
        )
    setups = [s["setup_seconds"] for s in r["stages"] if s.get("setup_seconds") is not None]
    lines += [
        f"| **total** | **{r['repro_seconds']:.1f}** ({r['repro_seconds'] / 60:.1f} min) | "
        f"{r['command_seconds']:.1f} | {f'{sum(setups):.1f}' if setups else ''} | "
        f"{r['dvc_own_seconds']:.1f} |",
        "",
        f"dvc repro / its stages' commands = **{r['repro_seconds'] / r['command_seconds']:.3f}** "
        "(DVC's hashing, caching and lock writing on top of the same commands, same run).",
        "",
        f"- `dvc status` after the run: {'up to date' if r['status_up_to_date'] else 'NOT clean'}; "
        f"a second `dvc repro`: {r['rerun_seconds']} s, "
        f"{'ran a stage (unexpected)' if r['rerun_ran_a_stage'] else 'nothing to run'}.",
        f"- `dvc push` to the local remote: {r['push_seconds']} s, "
        f"{' '.join(r['push_output'])} ({r['remote_files']} files, {r['remote_mb']} MB).",
    ]
    if r["direct"]:
        lines += [
            "",
            "Peer, same run: the same commands on one database without DVC (as `scripts/run`):",
            "",
            "| step | seconds |",
            "|---|---:|",
            *[f"| {name} | {sec:.1f} |" for name, sec in r["direct"].items()],
            f"| **total** | **{r['direct_seconds']:.1f}** |",
            "",
            f"**dvc repro / direct = {r['ratio_vs_direct']:.3f}**.",
        ]
    else:
        lines += [
            "",
            "Peer (the same commands on one database without DVC) not run: at full size it "
            "would double the run (`--peer` runs it; `--tiny` runs it by default). DVC's own "
            "share is read from the stage timings above, measured in the same run.",
        ]
    ev = r["evaluate"]
    versus = ev.get("user_preference_vs_peers") or {}
    lines += [
        "",
        f"Models (validation metrics recorded at training; `evaluate` peers: {ev['protocol']}, "
        f"k={ev['k']}, seed={ev['seed']}):",
        "",
        "| model | ndcg | seconds |",
        "|---|---:|---:|",
        *[
            f"| {name} | {m['metrics'].get('ndcg', float('nan')):.4f} | {m['seconds']:.1f} |"
            for name, m in r["models"].items()
        ],
        *[
            f"| peer {name} | {m.get('ndcg', float('nan')):.4f} | |"
            for name, m in ev["peers"].items()
        ],
    ]
    if versus.get("ratio") is not None:
        lines += [
            "",
            f"user_preference / best peer ({versus['best_peer']}) NDCG@10 on the same split: "
            f"**{versus['ratio']:.3f}**.",
        ]
    shown = r["metrics_show"]
    if isinstance(shown, str):
        shown = shown.splitlines()
    lines += ["", "`dvc metrics show` (one line per file):", "", "```", *shown, "```", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="train.tiny: true in the clone")
    parser.add_argument(
        "--source", type=Path, default=ROOT, help="the checkout to clone (its HEAD)"
    )
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument("--peer", dest="peer", action="store_true", default=None)
    peer.add_argument("--no-peer", dest="peer", action="store_false")
    parser.add_argument("--keep", action="store_true", help="keep the clone (log, cache, remote)")
    parser.add_argument("--output", type=Path, help="default bench/results/dvc_repro[_tiny].json")
    parser.add_argument("--render", metavar="JSON", help="only write the .md of a saved JSON")
    args = parser.parse_args()
    if args.render:
        saved = Path(args.render)
        saved.with_suffix(".md").write_text(markdown(json.loads(saved.read_text())))
        return 0
    output = args.output or RESULTS / ("dvc_repro_tiny.json" if args.tiny else "dvc_repro.json")
    work = Path(tempfile.mkdtemp(prefix="dvc_repro."))
    try:
        report = run(args, work)
    except BaseException:
        print(f"failed: the clone and its log are in {work}", file=sys.stderr)
        raise
    text = markdown(report)
    print("\n" + text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1) + "\n")
    output.with_suffix(".md").write_text(text)
    if args.keep:
        print(f"the clone and its log: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    ok = report["status_up_to_date"] and not report["rerun_ran_a_stage"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

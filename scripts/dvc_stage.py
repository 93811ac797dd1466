"""One stage of the DVC pipeline (``dvc.yaml``): ``.venv/bin/python scripts/dvc_stage.py STAGE``.

``dvc repro`` runs the stages in this order; each one is the product's own management commands
(README "Machine learning") run in a subprocess on the embedded default (SQLite, eager tasks),
with the service URLs unset so that nothing outside the working tree is touched:

``prepare``
    ``migrate`` + ``load_demo_data`` into a fresh database, saved as ``var/dvc/prepared.sqlite3``.
``train_user``, ``train_content``, ``train_group``, ``train_hybrid``
    ``manage.py train <model>`` on a *private copy* of the prepared database with a private model
    store, then the model's store folder (its version ``0001``, manifest and ``ACTIVE`` pointer)
    moves to ``var/dvc/models/<model>``. Training writes rows (``ModelVersion``, the content
    model's per-track predictions), and DVC lets one path be the output of one stage only, so
    no stage writes a shared database: each output is the stage's own, and a stage gives the
    same result whichever stages ran before it. The group model's taste texts read the content
    model's predicted moods (``groups.selectors.taste_vocabulary_attach``), so ``train_group``
    first activates the ``train_content`` version in its copy (``manage.py rollback content
    --to 0001``, the product's activate command, writes every track's predictions).
``evaluate``
    ``manage.py evaluate`` fits the peers on the prepared data under ``params.yaml``'s protocol;
    with ``weak``, seed 7 and k 10 that is the split ``manage.py train`` measured the user model
    on, so its recorded validation NDCG (manifest) is set against the best peer's.

Every stage writes ``var/dvc/metrics/<stage>.json`` (``dvc metrics show``), with the seconds its
commands took (``setup_seconds``: the private copy, its ``migrate`` and any activation), so
``bench/dvc_repro.py`` can tell DVC's own time and the copies' from the training's. A failed
stage leaves its scratch folder ``var/dvc/work/<stage>/`` (database, store) for a look.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "params.yaml"
WORK = ROOT / "var" / "dvc"
PREPARED = WORK / "prepared.sqlite3"
MODELS = WORK / "models"
METRICS = WORK / "metrics"
SCRATCH = WORK / "work"
DB_FILE = "audotics.sqlite3"  # the SQLite file's name under AUDOTICS_VAR_DIR (settings/base.py)
ACTIVE_FILE = "ACTIVE"  # ml.artifacts.ACTIVE_FILE (not imported: this script stays Django-free)
MANIFEST_FILE = "manifest.json"

#: stage -> the model it trains (its ``manage.py train`` name and store folder).
TRAIN = {
    "train_user": "user_preference",
    "train_content": "content",
    "train_group": "group",
    "train_hybrid": "hybrid",
}
#: stage -> models of earlier stages activated in its private database before it trains.
NEEDS = {"train_group": ("content",)}
STAGES = ("prepare", *TRAIN, "evaluate")
#: The peers' figures kept in evaluate.json (the trained models' are in their own stage's file).
PEER_METRICS = ("ndcg", "recall", "coverage", "pop_bias")
#: Unset in the commands' environment: the pipeline runs on the embedded default only.
SERVICE_VARS = ("DATABASE_URL", "DB", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
#: One thread count for every numeric library (torch reads OMP_NUM_THREADS at import).
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)

COUNTS_SNIPPET = (
    "import dataclasses, json; from recommender.selectors import catalogue_counts; "
    "print(json.dumps(dataclasses.asdict(catalogue_counts())))"
)


class StageError(Exception):
    """A stage cannot finish; ``main`` prints it as one line and exits 1."""


def read_params(path: Path = PARAMS) -> dict[str, Any]:
    """``params.yaml`` with its two sections checked (``train`` and ``evaluate``)."""
    params = yaml.safe_load(path.read_text()) or {}
    train, evaluate = params.get("train") or {}, params.get("evaluate") or {}
    if not isinstance(train.get("tiny"), bool):
        raise StageError(f"{path.name}: train.tiny must be true or false")
    if not isinstance(train.get("threads"), int) or train["threads"] < 1:
        raise StageError(f"{path.name}: train.threads must be a positive integer")
    if evaluate.get("protocol") not in ("weak", "fold-in"):
        raise StageError(f"{path.name}: evaluate.protocol must be weak or fold-in")
    for key in ("k", "seed"):
        if not isinstance(evaluate.get(key), int):
            raise StageError(f"{path.name}: evaluate.{key} must be an integer")
    peers = evaluate.get("peers")
    if not isinstance(peers, list) or not peers or not all(isinstance(p, str) for p in peers):
        raise StageError(f"{path.name}: evaluate.peers must be a list of model names")
    return {"train": train, "evaluate": evaluate}


# --------------------------------------------------------------------------- helpers


def _scratch(stage: str) -> Path:
    folder = SCRATCH / stage
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "models").mkdir(parents=True)
    return folder


def _env(var_dir: Path, train: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        DJANGO_SETTINGS_MODULE="audotics.settings.base",
        AUDOTICS_VAR_DIR=str(var_dir),
        AUDOTICS_MODEL_STORE=str(var_dir / "models"),
        AUDOTICS_DATA_DIR=str(ROOT / "data"),
        PYTHONHASHSEED="0",
    )
    env.update(dict.fromkeys(THREAD_VARS, str(train["threads"])))
    return env


def _manage(env: dict[str, str], *args: str, check: bool = True) -> tuple[int, str]:
    """Run ``manage.py ARGS``, echoing its output: its exit status and its stdout + stderr."""
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    print("$ manage.py " + " ".join(args), flush=True)
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sys.stdout.write(done.stdout)
    sys.stdout.flush()
    if check and done.returncode != 0:
        raise StageError(f"manage.py {' '.join(args)} exited with status {done.returncode}")
    return done.returncode, done.stdout


def _copy_db(source: Path, target: Path) -> None:
    """A consistent single-file copy (SQLite's backup API folds in any write-ahead log)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _require_prepared() -> None:
    if not PREPARED.is_file():
        raise StageError(f"{PREPARED.relative_to(ROOT)} is missing: run the prepare stage first")


def _private_db(stage: str, train: dict[str, Any]) -> tuple[Path, dict[str, str]]:
    """A scratch folder holding a migrated copy of the prepared database, and its environment."""
    _require_prepared()
    folder = _scratch(stage)
    _copy_db(PREPARED, folder / DB_FILE)
    env = _env(folder, train)
    _manage(env, "migrate", "--no-input", "-v", "0")  # a no-op unless the schema moved on
    return folder, env


def active_version(model_dir: Path) -> str | None:
    try:
        return (model_dir / ACTIVE_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None


def active_manifest(name: str, models: Path = MODELS) -> dict[str, Any]:
    version = active_version(models / name)
    if version is None:
        raise StageError(f"{models / name} has no active version: run train stage for {name}")
    manifest: dict[str, Any] = json.loads((models / name / version / MANIFEST_FILE).read_text())
    return manifest


def _write_metrics(stage: str, payload: dict[str, Any]) -> Path:
    METRICS.mkdir(parents=True, exist_ok=True)
    path = METRICS / f"{stage}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return path


# --------------------------------------------------------------------------- stages


def prepare(params: dict[str, Any]) -> dict[str, Any]:
    folder = _scratch("prepare")
    env = _env(folder, params["train"])
    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "load_demo_data", "--if-empty", "--no-progress")
    _, said = _manage(env, "shell", "-c", COUNTS_SNIPPET)
    counts = json.loads(said.strip().splitlines()[-1])
    _copy_db(folder / DB_FILE, PREPARED)
    shutil.rmtree(folder)
    return {"rows": counts, "database_mb": round(PREPARED.stat().st_size / 2**20, 1)}


def train(stage: str, params: dict[str, Any]) -> dict[str, Any]:
    name, tiny = TRAIN[stage], bool(params["train"]["tiny"])
    started = time.perf_counter()
    folder, env = _private_db(stage, params["train"])
    for needed in NEEDS.get(stage, ()):
        version = active_manifest(needed)["version"]
        shutil.copytree(MODELS / needed, folder / "models" / needed)
        _manage(env, "rollback", needed, "--to", version)
    setup = time.perf_counter() - started
    tiny_flag = ["--tiny"] if tiny else []
    status, said = _manage(env, "train", name, "--no-progress", *tiny_flag, check=False)
    built = folder / "models" / name
    version, held = active_version(built), None
    if version is None:
        # The promotion gate held the new version as a candidate ("nothing serves: ... held",
        # exit status 1). A served model must pass the gate; a tiny one is a smoke run of the
        # pipeline: it is activated anyway and the gate's verdict noted in the metrics.
        held = said.strip().splitlines()[-1] if said.strip() else f"exit status {status}"
        published = sorted(p.name for p in built.iterdir() if p.name.isdigit())
        if not tiny or not published:
            raise StageError(f"{name}: no version was activated: {held}")
        version = published[-1]
        _manage(env, "rollback", name, "--to", version)
    elif status != 0:
        raise StageError(f"manage.py train {name} exited with status {status}")
    target = MODELS / name
    shutil.rmtree(target, ignore_errors=True)  # DVC removed it already; a manual run may not
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(built, target)
    shutil.rmtree(folder)
    payload: dict[str, Any] = {
        "setup_seconds": round(setup, 2),
        "version": version,
        "tiny": tiny,
        "metrics": active_manifest(name).get("metrics") or {},
    }
    if held is not None:
        payload["gate_held"] = held
    return payload


def evaluate(params: dict[str, Any]) -> dict[str, Any]:
    options, tiny = params["evaluate"], bool(params["train"]["tiny"])
    started = time.perf_counter()
    folder, env = _private_db("evaluate", params["train"])
    setup = time.perf_counter() - started
    out = folder / "peers.json"
    _manage(
        env,
        "evaluate",
        "--protocol",
        options["protocol"],
        "--k",
        str(options["k"]),
        "--seed",
        str(options["seed"]),
        "--json",
        str(out),
        *(["--tiny"] if tiny else []),
        "--model",
        *options["peers"],
    )
    run = json.loads(out.read_text())
    shutil.rmtree(folder)
    peers = {
        name: {k: v for k, v in result["metrics"].items() if k in PEER_METRICS}
        for name, result in run["results"].items()
    }
    return {
        "protocol": options["protocol"],
        "k": options["k"],
        "seed": options["seed"],
        "tiny": tiny,
        "setup_seconds": round(setup, 2),
        "peers": peers,
        "user_preference_vs_peers": _versus_peers(
            active_manifest("user_preference"), peers, options
        ),
    }


def _versus_peers(
    manifest: dict[str, Any], peers: dict[str, dict[str, float]], options: dict[str, Any]
) -> dict[str, Any]:
    """The user model's recorded validation NDCG over the best peer's, when on the same split.

    ``manage.py train`` measures the user model on ``split_items_per_user`` (20 %, its seed) at
    its k, which is the ``weak`` protocol's split; the ratio is given only when ``params.yaml``
    asks for that same protocol, seed and k.
    """
    validation = (manifest.get("extra") or {}).get("validation") or {}
    same = (
        options["protocol"] == "weak"
        and validation.get("split") == "split_items_per_user"
        and validation.get("seed") == options["seed"]
        and validation.get("k") == options["k"]
    )
    ndcg = (manifest.get("metrics") or {}).get("ndcg")
    scored = {name: m["ndcg"] for name, m in peers.items() if m.get("ndcg") is not None}
    if not same or ndcg is None or not scored:
        return {"same_split": same}
    best = max(scored, key=lambda name: scored[name])
    return {
        "same_split": True,
        "ndcg": ndcg,
        "best_peer": best,
        "best_peer_ndcg": scored[best],
        "ratio": round(ndcg / scored[best], 4) if scored[best] else None,
    }


def run_stage(stage: str) -> Path:
    """Run ``stage`` and write its metrics file; returns the file's path."""
    params = read_params()
    started = time.perf_counter()
    if stage == "prepare":
        payload = prepare(params)
    elif stage == "evaluate":
        payload = evaluate(params)
    else:
        payload = train(stage, params)
    payload["seconds"] = round(time.perf_counter() - started, 2)
    payload["threads"] = params["train"]["threads"]
    return _write_metrics(stage, payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("stage", choices=STAGES)
    args = parser.parse_args(argv)
    try:
        path = run_stage(args.stage)
    except (StageError, OSError, yaml.YAMLError) as exc:
        print(f"dvc_stage {args.stage}: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.stage}: wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

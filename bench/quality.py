"""NCF against its peers on the project's Last.fm data, in one run (issue 3's benchmark).

    .venv/bin/python bench/quality.py [--data data/lastfm-hetrec2011-2k] [--models ncf ...]

Protocols (ml.evaluation): ``weak`` (each user's artists split 80/20) and ``fold-in`` (a seeded
20 % of the users held out as unseen users; 80 % of their history given at inference time).
It also times training and recommendation latency (p50/p99 for one user and a batch of 256).
Writes bench/results/quality.json. Not a test: pytest never collects bench/.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.data.interactions import load, split_users  # noqa: E402
from ml.evaluation import TEST_FRACTION, evaluate_fold_in, evaluate_weak  # noqa: E402
from ml.models import build  # noqa: E402

DEFAULT_MODELS = ("ncf", "popularity", "itemknn", "ease", "als")


def latency(model: object, user_ids: np.ndarray, repeats: int) -> dict[str, float]:
    one, batch = [], []
    rng = np.random.default_rng(0)
    for _ in range(repeats):
        user = rng.choice(user_ids, 1)
        start = time.perf_counter()
        model.recommend(user, n=10)  # type: ignore[attr-defined]
        one.append(time.perf_counter() - start)
    for _ in range(max(3, repeats // 10)):
        users = rng.choice(user_ids, min(256, len(user_ids)), replace=False)
        start = time.perf_counter()
        model.recommend(users, n=10)  # type: ignore[attr-defined]
        batch.append(time.perf_counter() - start)
    return {
        "one_user_p50_ms": 1000 * float(np.percentile(one, 50)),
        "one_user_p99_ms": 1000 * float(np.percentile(one, 99)),
        "batch256_p50_ms": 1000 * float(np.percentile(batch, 50)),
        "batch256_p99_ms": 1000 * float(np.percentile(batch, 99)),
    }


def table(results: dict[str, dict[str, object]], title: str) -> str:
    rows = [
        f"\n{title}",
        f"{'model':<11} {'NDCG@10':>8} {'MAP@10':>7} {'Recall@10':>9} "
        f"{'HR@10':>6} {'cover':>6} {'train s':>8}",
    ]
    for name, r in results.items():
        m = r["metrics"]
        assert isinstance(m, dict)
        rows.append(
            f"{name:<11} {m['ndcg']:>8.4f} {m['map']:>7.4f} {m['recall']:>9.4f} {m['hr']:>6.3f} "
            f"{m['coverage']:>6.3f} {r['train_seconds']:>8.1f}"
        )
    return "\n".join(rows)


def verdict(results: dict[str, dict[str, object]]) -> dict[str, object]:
    ndcg = {name: r["metrics"]["ndcg"] for name, r in results.items()}  # type: ignore[index]
    peers = {k: v for k, v in ndcg.items() if k != "ncf"}
    if "ncf" not in ndcg or not peers:
        return {}
    best = max(peers, key=lambda k: peers[k])
    return {
        "ncf": ndcg["ncf"],
        "als": peers.get("als"),
        "best_peer": best,
        "best_peer_ndcg": peers[best],
        "ncf_vs_best": ndcg["ncf"] / peers[best],
        "ncf_at_least_als": "als" in peers and ndcg["ncf"] >= peers["als"],
        "ncf_within_5pct_of_best": ndcg["ncf"] >= 0.95 * peers[best],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "lastfm-hetrec2011-2k"))
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "quality.json"))
    args = parser.parse_args()

    data = load(args.data)
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "data": {"path": args.data, "users": data.n_users, "items": data.n_items},
        "seed": args.seed,
    }
    weak = evaluate_weak({m: build(m) for m in args.models}, data, k=10, seed=args.seed)
    report["weak"] = {k: v.to_dict() for k, v in weak.items()}
    print(table(report["weak"], "weak (80/20 per user)"), flush=True)  # type: ignore[arg-type]

    train, test = split_users(data, test_fraction=TEST_FRACTION, seed=args.seed)
    fold = evaluate_fold_in({m: build(m) for m in args.models}, train, test, k=10, seed=args.seed)
    report["fold_in"] = {k: v.to_dict() for k, v in fold.items()}
    title = f"fold-in ({test.n_users} unseen users)"
    print(table(report["fold_in"], title), flush=True)  # type: ignore[arg-type]

    report["verdict"] = {
        "weak": verdict(report["weak"]),  # type: ignore[arg-type]
        "fold_in": verdict(report["fold_in"]),  # type: ignore[arg-type]
    }
    lat = {}
    for name in args.models:
        model = build(name)
        start = time.perf_counter()
        model.fit(data)
        fit_seconds = time.perf_counter() - start
        lat[name] = {
            "train_seconds_full_data": fit_seconds,
            **latency(model, data.user_ids, args.repeats),
        }
    report["latency"] = lat
    print("\nlatency (full data, ms)")
    for name, row in lat.items():
        print(
            f"{name:<11} train {row['train_seconds_full_data']:>6.1f}s  one user p50 "
            f"{row['one_user_p50_ms']:.2f} p99 {row['one_user_p99_ms']:.2f}  batch256 p50 "
            f"{row['batch256_p50_ms']:.1f} p99 {row['batch256_p99_ms']:.1f}"
        )
    print("\nverdict:", json.dumps(report["verdict"], indent=1))
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

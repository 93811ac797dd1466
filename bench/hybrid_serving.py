"""What two-stage serving costs in quality and buys in time: full hybrid vs retrieval + re-rank.

    .venv/bin/python bench/hybrid_serving.py [--data data/lastfm-hetrec2011-2k] [--seed 7]

Fold-in protocol (unseen users, 80 % of their history given, 20 % scored), one fitted
:class:`~ml.hybrid.estimator.HybridRecommender`. For every test user: the full hybrid (every
member over the whole catalogue, as ``bench/hybrid.py`` measures it) against
:class:`~ml.hybrid.serving.HybridServer` (ALS retrieval in faiss + popular, members re-ranking
only those candidates, as the API serves) at several retrieval depths, NDCG@10 and the time per
user (one user at a time, 1 thread). Writes bench/results/hybrid_serving.{json,md}.
Not a test: pytest never collects bench/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.data.interactions import load, split_items_per_user, split_users  # noqa: E402
from ml.evaluation import TEST_FRACTION, accuracy_at_k  # noqa: E402
from ml.hybrid.estimator import HybridRecommender  # noqa: E402
from ml.hybrid.serving import HybridServer  # noqa: E402

K = 10
DEPTHS = (50, 100, 200, 400)


def _full(model: HybridRecommender, given: sp.csr_matrix) -> tuple[np.ndarray, list[float]]:
    cols = np.full((given.shape[0], K), -1, dtype=np.int64)
    times = []
    for u in range(given.shape[0]):
        start = time.perf_counter()
        rows = model.recommend_with_details(given[u], n=K)[0]
        times.append(time.perf_counter() - start)
        cols[u, : len(rows)] = model.item_columns([r["item"] for r in rows])
    return cols, times


def _served(server: HybridServer, given: sp.csr_matrix) -> tuple[np.ndarray, list[float]]:
    cols = np.full((given.shape[0], K), -1, dtype=np.int64)
    times = []
    for u in range(given.shape[0]):
        start = time.perf_counter()
        rows = server.recommend(given[u], n=K)
        times.append(time.perf_counter() - start)
        cols[u, : len(rows)] = server.model.item_columns([r["item"] for r in rows])
    return cols, times


def _summary(cols: np.ndarray, held: sp.csr_matrix, times: list[float]) -> dict[str, float]:
    ms = np.asarray(times) * 1000
    return {
        "ndcg": accuracy_at_k(cols, held, K)["ndcg"],
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "lastfm-hetrec2011-2k"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    data = load(args.data)
    train, test = split_users(data, test_fraction=TEST_FRACTION, seed=args.seed)
    started = time.perf_counter()
    with threadpool_limits(1):
        model = HybridRecommender(seed=args.seed).fit(train)
        fit_s = time.perf_counter() - started
        aligned = test.aligned_to(train.item_ids)
        given, held = split_items_per_user(aligned, test_fraction=TEST_FRACTION, seed=args.seed)
        keep = np.flatnonzero(
            (np.diff(given.matrix.indptr) > 0) & (np.diff(held.matrix.indptr) > 0)
        )
        g, h = given.matrix[keep], held.matrix[keep]
        full_cols, full_times = _full(model, g)
        results: dict[str, Any] = {"full hybrid": _summary(full_cols, h, full_times)}
        for depth in DEPTHS:
            server = HybridServer(model, retrieve=depth)
            cols, times = _served(server, g)
            results[f"served, retrieve {depth} + 50 popular"] = _summary(cols, h, times)
    best = results["full hybrid"]["ndcg"]
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, 1 thread",
        "data": args.data,
        "users": len(keep),
        "fit_seconds": round(fit_s, 1),
        "results": results,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "hybrid_serving.json").write_text(json.dumps(payload, indent=2))
    lines = [
        "# Two-stage serving vs the full hybrid (fold-in, NDCG@10, one user at a time)",
        "",
        f"{len(keep)} unseen users; hybrid fitted in {fit_s:.0f} s. {payload['machine']}.",
        "",
        "| ranking | NDCG@10 | vs full | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['ndcg']:.4f} | {r['ndcg'] / best:.3f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
        )
    (out / "hybrid_serving.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

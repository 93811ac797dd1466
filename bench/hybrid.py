"""The hybrid against each of its members and the best peer, ``weak`` and ``fold-in``, one run.

    .venv/bin/python bench/hybrid.py [--data data/lastfm-hetrec2011-2k] [--seed 7]

Each protocol fits one :class:`~ml.hybrid.estimator.HybridRecommender` (its weights and
calibrator are learned on an internal split of the protocol's training data only) and measures
the hybrid and every fitted member on the protocol's test items, so each member (NCF included)
is trained once per protocol. The peers are the members EASE, ALS and item-kNN with their
default (peer) configurations. Also: the hybrid with equal weights (ablation), the learned
weights per bucket, train times, and a reliability table (confidence bins of the top-10 items
against their observed hit rate on the test items). Writes bench/results/hybrid.json and .md.
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

from ml.data.interactions import Interactions, load, split_items_per_user, split_users  # noqa: E402
from ml.evaluation import TEST_FRACTION, ranking_metrics_at_k  # noqa: E402
from ml.hybrid.calibration import reliability_table  # noqa: E402
from ml.hybrid.estimator import HybridRecommender  # noqa: E402

PEERS = ("ease", "als", "itemknn")
K = 10
DETAIL_BATCH = 128


def deciles(confidence: np.ndarray, hit: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """The reliability table over equal-count confidence bins (every row has enough items)."""
    order = np.argsort(confidence, kind="stable")
    return [
        {
            "low": float(confidence[g].min()),
            "high": float(confidence[g].max()),
            "count": float(len(g)),
            "mean_confidence": float(confidence[g].mean()),
            "hit_rate": float(hit[g].mean()),
        }
        for g in np.array_split(order, bins)
        if len(g)
    ]


def reliability(
    model: HybridRecommender, users: Any, test: sp.csr_matrix
) -> tuple[list[dict[str, float]], list[dict[str, float]], float]:
    """Confidence of every top-10 item vs whether it is a test item; and the fallback share."""
    conf, hit, fallbacks, rows = [], [], 0, 0
    for start in range(0, test.shape[0], DETAIL_BATCH):
        block = users[start : start + DETAIL_BATCH]
        details = model.recommend_with_details(block, n=K)
        for offset, items in enumerate(details):
            relevant = set(test[start + offset].indices.tolist())
            fallbacks += int(items[0]["fallback"]) if items else 0
            rows += 1
            for d in items:
                conf.append(d["confidence"])
                hit.append(model.item_index_[d["item"]] in relevant)
    c, h = np.array(conf), np.array(hit, dtype=float)
    return reliability_table(c, h), deciles(c, h), fallbacks / max(rows, 1)


def measure(
    model: HybridRecommender, train: Interactions, test: Interactions, given: sp.csr_matrix | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in model.members_.items():
        out[name] = ranking_metrics_at_k(member, train, test, K, history=given)
    start = time.perf_counter()
    out["hybrid"] = ranking_metrics_at_k(model, train, test, K, history=given)
    out["hybrid"]["eval_seconds"] = time.perf_counter() - start
    learned = model.bucket_weights_.copy()
    model.bucket_weights_[:] = 1.0 / learned.shape[1]
    out["hybrid_equal_weights"] = ranking_metrics_at_k(model, train, test, K, history=given)
    model.bucket_weights_[:] = learned
    return out


def run_protocol(
    name: str, train: Interactions, test: Interactions, given: Any, tiny: bool
) -> dict[str, Any]:
    model = HybridRecommender.tiny() if tiny else HybridRecommender()
    start = time.perf_counter()
    with threadpool_limits(1, "blas"):
        model.fit(train)
        fit_seconds = time.perf_counter() - start
        metrics = measure(model, train, test, given)
        rows = np.flatnonzero(np.diff(test.matrix.indptr) > 0)
        users = test.user_ids[rows] if given is None else sp.csr_matrix(given)[rows]
        table, by_decile, fallback_share = reliability(model, users, test.matrix[rows])
    peers = {p: metrics[p]["ndcg"] for p in PEERS if p in metrics}
    best = max(peers, key=lambda p: peers[p])
    result = {
        "metrics": metrics,
        "best_peer": best,
        "best_peer_ndcg": peers[best],
        "hybrid_ndcg": metrics["hybrid"]["ndcg"],
        "ratio_vs_best_peer": metrics["hybrid"]["ndcg"] / peers[best],
        "meets_1_05": metrics["hybrid"]["ndcg"] >= 1.05 * peers[best],
        "weights": model.weights_by_bucket(),
        "validation_ndcg": dict(
            zip([*model.bucket_labels, "all"], model.validation_ndcg_.tolist(), strict=True)
        ),
        "shrinkage_toward_start": dict(
            zip([*model.bucket_labels, "all"], model.shrinkage_.tolist(), strict=True)
        ),
        "hybrid_fit_seconds": fit_seconds,
        "member_final_fit_seconds": model.member_fit_seconds_,
        "reliability": table,
        "reliability_deciles": by_decile,
        "fallback_share": fallback_share,
    }
    print(f"\n{name}: {markdown_rows(result)}", flush=True)
    return result


def markdown_rows(result: dict[str, Any]) -> str:
    lines = [
        "| model | NDCG@10 | MAP@10 | Recall@10 | HR@10 | coverage |",
        "|---|---|---|---|---|---|",
    ]
    for model, m in result["metrics"].items():
        lines.append(
            f"| {model} | {m['ndcg']:.4f} | {m['map']:.4f} | {m['recall']:.4f} | {m['hr']:.3f} "
            f"| {m['coverage']:.3f} |"
        )
    lines.append(
        f"\nhybrid / best peer ({result['best_peer']}): **{result['ratio_vs_best_peer']:.3f}**; "
        f"hybrid fit {result['hybrid_fit_seconds']:.0f} s (members refit: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in result["member_final_fit_seconds"].items())
        + ")"
    )
    lines += ["\n| confidence | items | mean confidence | hit rate |", "|---|---|---|---|"]
    for row in result["reliability"]:
        lines.append(
            f"| {row['low']:.1f}-{row['high']:.1f} | {int(row['count'])} | "
            f"{row['mean_confidence']:.3f} | {row['hit_rate']:.3f} |"
        )
    lines += ["\n| confidence decile | items | mean confidence | hit rate |", "|---|---|---|---|"]
    for row in result["reliability_deciles"]:
        lines.append(
            f"| {row['low']:.3f}-{row['high']:.3f} | {int(row['count'])} | "
            f"{row['mean_confidence']:.3f} | {row['hit_rate']:.3f} |"
        )
    lines.append(f"\nfallback share: {result['fallback_share']:.3f}")
    lines += ["\n| bucket | " + " | ".join(next(iter(result["weights"].values()))) + " |"]
    lines.append("|---" * (1 + len(next(iter(result["weights"].values())))) + "|")
    for bucket, w in result["weights"].items():
        lines.append(f"| {bucket} | " + " | ".join(f"{v:.2f}" for v in w.values()) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "lastfm-hetrec2011-2k"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tiny", action="store_true", help="tiny members (a smoke run)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "hybrid.json"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    data = load(args.data)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}, {os.cpu_count()} cpus",
        "data": {"path": args.data, "users": data.n_users, "items": data.n_items},
        "seed": args.seed,
        "k": K,
    }
    train, test = split_items_per_user(data, test_fraction=TEST_FRACTION, seed=args.seed)
    report["weak"] = run_protocol("weak", train, test, None, args.tiny)
    train, test_users = split_users(data, test_fraction=TEST_FRACTION, seed=args.seed)
    aligned = test_users.aligned_to(train.item_ids)
    given, held = split_items_per_user(aligned, test_fraction=TEST_FRACTION, seed=args.seed)
    report["fold_in"] = run_protocol("fold-in", train, held, given.matrix, args.tiny)
    report["wall_seconds"] = time.perf_counter() - started
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1, default=float))
    md = [
        "# Hybrid vs members and best peer (Last.fm HetRec 2k, NDCG@10 etc., K=10)",
        f"\n{report['date']}, {report['machine']}, seed {args.seed}, "
        f"wall {report['wall_seconds']:.0f} s",
    ]
    for key, title in (("weak", "weak (80/20 per user)"), ("fold_in", "fold-in (unseen users)")):
        md += [f"\n## {title}\n", markdown_rows(report[key])]
    output.with_suffix(".md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The group model against aggregation policies over its peers, on real friend groups (issue 5).

    .venv/bin/python bench/groups.py [--data data/lastfm-hetrec2011-2k] [--peers als ease ...]

Protocol ``groups`` (ml.group.evaluation): the friend graph's groups (cliques of 2-8, triangles,
friends-of-friend sets) are split 80/20 into training and ephemeral test groups, every
listener's artists 80/20 as in ``weak``. Every model fits on the same 80 %; each peer is scored
under every aggregation policy over its members' scores, the group model under its learned
policy (and the same fixed policies over its members' NCF scores, for reference).

Verdict (the issue's acceptance): the group model's group NDCG@10 must beat ``average`` over the
best individual peer (the peer whose ``average`` list scores best in this run), and its minimum
member NDCG@10 must be at least that peer's. Writes bench/results/groups.json and groups.md.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.data.interactions import load  # noqa: E402
from ml.evaluation import ModelResult  # noqa: E402
from ml.group.estimator import GroupRecommender  # noqa: E402
from ml.group.evaluation import HARMONY, evaluate_groups, format_harmony, make_task  # noqa: E402
from ml.group.policies import POLICIES  # noqa: E402
from ml.group.text import attach_names  # noqa: E402
from ml.models import build  # noqa: E402

DEFAULT_PEERS = ("als", "ease", "itemknn", "popularity")
COLUMNS = ("ndcg", *HARMONY)


def verdict(results: dict[str, ModelResult], peers: list[str]) -> dict[str, Any]:
    """The acceptance check against ``average`` over the best peer of this run."""
    averages = {p: results[f"{p}/average"].metrics for p in peers if f"{p}/average" in results}
    best = max(averages, key=lambda p: averages[p]["ndcg"])
    group = results["group"].metrics
    fixed = {
        k: r.metrics["ndcg"] for k, r in results.items() if "/" in k and k.split("/")[0] in peers
    }
    strongest = max(fixed, key=lambda k: fixed[k])
    return {
        "best_peer": best,
        "best_peer_average_ndcg": averages[best]["ndcg"],
        "best_peer_average_member_min": averages[best]["member_ndcg_min"],
        "group_ndcg": group["ndcg"],
        "group_member_min": group["member_ndcg_min"],
        "group_vs_best_peer_average": group["ndcg"] / averages[best]["ndcg"],
        "beats_average_of_best_peer": group["ndcg"] > averages[best]["ndcg"],
        "member_min_at_least_best_peer": group["member_ndcg_min"]
        >= averages[best]["member_ndcg_min"],
        "strongest_fixed_policy": strongest,
        "strongest_fixed_policy_ndcg": fixed[strongest],
    }


def markdown(report: dict[str, Any]) -> str:
    rows = [
        "| model / policy | group NDCG@10 | member mean | member min | spread | dominance "
        "| train s | rec ms/group |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        m = r["metrics"]
        cells = " | ".join(f"{m[c]:.4f}" for c in COLUMNS)
        ms = 1000 * r["recommend_seconds_per_user"]
        rows.append(f"| {name} | {cells} | {r['train_seconds']:.1f} | {ms:.2f} |")
    v = report["verdict"]
    return "\n".join(
        [
            f"# groups benchmark ({report['date']})",
            "",
            report["description"],
            "",
            *rows,
            "",
            f"Best individual peer (by its `average` list): **{v['best_peer']}**. "
            f"Group model / its average: {v['group_vs_best_peer_average']:.3f}; "
            f"beats it: {v['beats_average_of_best_peer']}; member min at least its: "
            f"{v['member_min_at_least_best_peer']}. Strongest fixed policy of any peer: "
            f"{v['strongest_fixed_policy']} ({v['strongest_fixed_policy_ndcg']:.4f}).",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "lastfm-hetrec2011-2k"))
    parser.add_argument("--peers", nargs="+", default=list(DEFAULT_PEERS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-test-groups", type=int, default=0, help="0: all test groups")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "groups.json"))
    args = parser.parse_args()

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    start = time.perf_counter()
    folder = Path(args.data)
    data = attach_names(load(folder), folder)
    task = make_task(data, seed=args.seed, max_test_groups=args.max_test_groups)
    print(task.description, flush=True)
    group = GroupRecommender()
    group.on_epoch = lambda e: print(
        f"  group epoch {e.epoch}: loss {e.loss:.4f}, validation NDCG {e.validation_ndcg:.4f}, "
        f"{e.seconds:.1f}s",
        flush=True,
    )
    models = {"group": group, **{p: build(p) for p in args.peers}}
    results = evaluate_groups(models, task, policy_names=POLICIES, k=10)
    print(format_harmony(list(results.values()), 10), flush=True)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"{torch.get_num_threads()} torch thread(s), {os.cpu_count()} cores",
        "data": {"path": args.data, "users": data.n_users, "items": data.n_items},
        "description": task.description,
        "seed": args.seed,
        "group_config": group.config.to_dict(),
        "group_training_log": [e.__dict__ for e in group.training_log_],
        "results": {k: v.to_dict() for k, v in results.items()},
        "verdict": verdict(results, args.peers),
        "wall_seconds": time.perf_counter() - start,
    }
    print("\nverdict:", json.dumps(report["verdict"], indent=1))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1, default=float))
    output.with_suffix(".md").write_text(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The content model in one run (issue 4's benchmark): cold start, embeddings, similarity speed.

    .venv/bin/python bench/content.py [--data data/lastfm-hetrec2011-2k] [--seeds 3]

1. ``cold-start``: a seeded 20 % of the Last.fm users are new; each gives only ``--seeds``
   artists (as on a sign-up page) and the rest of their artists are scored. The content model
   against popularity and the collaborative peers (item-kNN, EASE, ALS folding the seeds in),
   all in this run; then ``fold-in`` (80 % of the history given) for the same models.
2. Embedding quality: for every catalogue track, the share of its 10 nearest tracks that share
   its artist or one of its playlists, with the network's embedding against the peer
   "standardized raw audio features" (cosine), on the same tracks.
3. ``similar_tracks`` latency over the whole catalogue: the faiss flat index against a numpy
   brute-force dot product + argpartition (the peer), p50/p99 of single queries, with and
   without filters.

Writes bench/results/content_model.json and .md. Not a test: pytest never collects bench/.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.content.estimator import ContentRecommender  # noqa: E402
from ml.content.features import Standardizer, load_catalogue  # noqa: E402
from ml.content.index import Filters, VectorIndex  # noqa: E402
from ml.data.interactions import load, split_users  # noqa: E402
from ml.evaluation import TEST_FRACTION, evaluate_cold_start, evaluate_fold_in  # noqa: E402
from ml.models import build  # noqa: E402

PEERS = ("popularity", "itemknn", "ease", "als")


def results_table(results: dict[str, Any], title: str) -> list[str]:
    lines = [
        f"\n**{title}**\n",
        "| model | NDCG@10 | MAP@10 | Recall@10 | HR@10 | coverage | train s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        m = r.metrics
        lines.append(
            f"| {name} | {m['ndcg']:.4f} | {m['map']:.4f} | {m['recall']:.4f} | {m['hr']:.4f} "
            f"| {m['coverage']:.4f} | {r.train_seconds:.1f} |"
        )
    return lines


def neighbour_agreement(
    vectors: np.ndarray, artist: np.ndarray, playlists: Any, k: int
) -> dict[str, float]:
    """Share of each track's k nearest neighbours with the same artist / a shared playlist."""
    index = VectorIndex(np.arange(len(vectors)).astype(str), vectors)
    _, rows = index._index.search(np.ascontiguousarray(vectors, np.float32), k + 1)
    rows = rows[:, 1:]
    same_artist = (artist[rows] == artist[:, None]).mean()
    pl = playlists.tocsr()
    shared = np.asarray(
        [(pl[i].multiply(pl[rows[i]]).sum(axis=1) > 0).mean() for i in range(len(vectors))]
    )
    return {"same_artist": float(same_artist), "shared_playlist": float(shared.mean())}


def latency(fn: Any, queries: np.ndarray) -> dict[str, float]:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - start)
    return {
        "p50_ms": 1000 * float(np.percentile(times, 50)),
        "p99_ms": 1000 * float(np.percentile(times, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "lastfm-hetrec2011-2k")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "content_model")
    args = parser.parse_args()

    data = load(args.data)
    train, test = split_users(data, test_fraction=TEST_FRACTION, seed=args.seed)
    content = ContentRecommender(classifiers=False)

    def models() -> dict[str, Any]:
        return {"content": content, **{p: build(p) for p in PEERS}}

    cold = evaluate_cold_start(models(), train, test, seeds=args.seeds, seed=args.seed)
    print(f"cold-start ({args.seeds} seeds):")
    for name, r in cold.items():
        print(f"  {name:<11} NDCG@10 {r.metrics['ndcg']:.4f}  HR@10 {r.metrics['hr']:.4f}")
    fold = evaluate_fold_in(models(), train, test, seed=args.seed)
    print("fold-in:")
    for name, r in fold.items():
        print(f"  {name:<11} NDCG@10 {r.metrics['ndcg']:.4f}")

    # embeddings: the network's against standardized raw features, same tracks, same k
    table = load_catalogue(
        ROOT / "data" / "spotify-songs-tidytuesday-2020" / "spotify_songs.csv.gz"
    )
    codes, _ = table.artist_codes()
    embedded = content.track_vectors_
    raw = Standardizer.fit(table.features).transform(table.features)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    agreement = {
        "network": neighbour_agreement(embedded, codes, table.playlists, 10),
        "raw_features": neighbour_agreement(raw, codes, table.playlists, 10),
    }
    print("neighbour agreement@10:", agreement)

    # similarity latency over the whole catalogue
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(content.track_ids_), 500, replace=False)
    ids = content.track_ids_[picks]
    content.similar_tracks(str(ids[0]), 10)  # build the index once
    vectors = content.track_vectors_

    def brute(track_id: str) -> np.ndarray:
        q = vectors[content.track_index().position[track_id]]
        s = vectors @ q
        top = np.argpartition(-s, 11)[:11]
        return top[np.argsort(-s[top])]

    speed = {
        "faiss_flat": latency(lambda t: content.similar_tracks(str(t), 10), ids),
        "numpy_bruteforce": latency(brute, ids),
        "faiss_filtered_genre_tempo": latency(
            lambda t: content.similar_tracks(
                str(t), 10, filters=Filters(genre="rock", tempo_min=100.0, tempo_max=140.0)
            ),
            ids,
        ),
    }
    print("similar_tracks latency:", speed)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "data": str(args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data),
        "seeds": args.seeds,
        "cold_start": {n: r.to_dict() for n, r in cold.items()},
        "fold_in": {n: r.to_dict() for n, r in fold.items()},
        "blend_weights": content.weights_.tolist(),
        "neighbour_agreement_at_10": agreement,
        "similar_tracks_latency": speed,
        "catalogue_tracks": len(content.track_ids_),
    }
    args.out.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    md = [f"# Content model benchmark ({payload['when']})"]
    md += results_table(cold, f"cold-start: {args.seeds} seed artists per new user")
    md += results_table(fold, "fold-in: 80 % of the history given")
    md += [
        "\n**Neighbour agreement@10** "
        "(share of the 10 nearest tracks sharing the artist / a playlist)\n",
        "| vectors | same artist | shared playlist |",
        "|---|---:|---:|",
        *(
            f"| {n} | {a['same_artist']:.4f} | {a['shared_playlist']:.4f} |"
            for n, a in agreement.items()
        ),
        f"\n**similar_tracks latency** over {len(content.track_ids_)} tracks (500 queries)\n",
        "| method | p50 ms | p99 ms |",
        "|---|---:|---:|",
        *(f"| {n} | {s['p50_ms']:.3f} | {s['p99_ms']:.3f} |" for n, s in speed.items()),
    ]
    args.out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print(f"wrote {args.out.with_suffix('.json')} and .md")


if __name__ == "__main__":
    main()

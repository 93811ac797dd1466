"""Machine-learning settings: where models live, the promotion gate; Hugging Face stays offline."""

from __future__ import annotations

from audotics.settings.env import env_float, env_int, env_str
from ml.offline import enable_offline_mode

# Set once for every process that loads settings (web, worker, commands, tests).
enable_offline_mode()

#: The promotion gate (recommender/services/promotion.py). A new version becomes active only if
#: its validation ``metric`` is at most ``tolerance`` (relative) below the active version's on the
#: same split, and its recommendations for ``sample_users`` seeded training listeners are finite,
#: non-empty, cover at least ``min_coverage`` of the catalogue (the popularity peer: 0.0017 on
#: Last.fm, personalised models 0.03-0.13) and are no more popularity-biased than
#: ``max_popularity_ratio``: their mean popularity (share of listeners who know an item) over the
#: mean popularity of the 10 most popular items, which the popularity peer nearly reaches (about
#: 0.9) and personalised models do not (NCF about 0.3, EASE and item-kNN about 0.5).
PROMOTION = {
    "metric": env_str("AUDOTICS_PROMOTION_METRIC", "ndcg"),
    "tolerance": env_float("AUDOTICS_PROMOTION_TOLERANCE", 0.02, minimum=0.0, maximum=1.0),
    "max_popularity_ratio": env_float(
        "AUDOTICS_PROMOTION_MAX_POPULARITY_RATIO", 0.75, minimum=0.0, maximum=1.0
    ),
    "min_coverage": env_float("AUDOTICS_PROMOTION_MIN_COVERAGE", 0.005, minimum=0.0, maximum=1.0),
    "sample_users": env_int("AUDOTICS_PROMOTION_SAMPLE_USERS", 500, minimum=1),
}

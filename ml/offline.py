"""Keep Hugging Face offline: weights come from installed packages or the repository."""

from __future__ import annotations

import os

OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def enable_offline_mode() -> None:
    """Set the offline flags once, before transformers or huggingface_hub is imported."""
    for name in OFFLINE_VARIABLES:
        os.environ[name] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

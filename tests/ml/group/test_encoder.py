"""The taste encoder: offline loading with the network off, the lower/upper split, fine-tuning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ml.group.encoder import load_encoder, minilm_path

ROOT = Path(__file__).resolve().parents[3]

# Runs in a fresh interpreter: an empty Hugging Face cache, the offline flags, and every socket
# connection refused, so any download attempt would fail loudly.
NETWORK_OFF = """
import json, socket, sys
def refuse(*args, **kwargs):
    raise OSError("network is off in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
from ml.group.encoder import load_encoder
encoder = load_encoder(sys.argv[1], trainable_layers=1, max_length=32)
vectors = encoder.encode([
    "tags: metal, thrash metal. artists: Slayer, Metallica.",
    "tags: heavy metal, metal. artists: Iron Maiden, Metallica.",
    "tags: jazz, smooth jazz. artists: Miles Davis, Kenny G.",
])
unit = vectors / vectors.norm(dim=1, keepdim=True)
print(json.dumps({
    "type": type(encoder.bert).__name__,
    "layers": len(encoder.bert.encoder.layer),
    "hidden": encoder.hidden_size,
    "close": float(unit[0] @ unit[1]),
    "far": float(unit[0] @ unit[2]),
    "slice": vectors[0, :3].tolist(),
}))
"""


def _load_offline(encoder: str, tmp_path: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "empty-hf-home"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", NETWORK_OFF, encoder],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_tiny_encoder_loads_with_the_network_off_and_no_cache(tmp_path: Path) -> None:
    result = _load_offline("tiny-random", tmp_path)

    assert result["type"] == "BertModel"
    assert (result["layers"], result["hidden"]) == (2, 32)
    assert not (tmp_path / "empty-hf-home" / "hub").exists()  # nothing was fetched or cached


@pytest.mark.slow
def test_real_minilm_loads_offline_and_puts_related_tastes_closer(tmp_path: Path) -> None:
    result = _load_offline("minilm", tmp_path)

    assert (result["layers"], result["hidden"]) == (6, 384)
    assert result["close"] > result["far"] + 0.1  # metal vs metal, metal vs jazz
    # all-MiniLM-L6-v2's mean-pooled vector of the first text (pinned, CPU float32).
    assert result["slice"] == pytest.approx([0.0273, -0.0415, -0.1013], abs=2e-3)


def test_lower_then_upper_equals_the_whole_network() -> None:
    encoder = load_encoder("tiny-random", trainable_layers=1, max_length=32)
    texts = ["tags: rock. artists: Muse.", "tags: jazz, bebop, cool jazz. artists: Miles Davis."]
    tokens = encoder.tokenize(texts)

    split = encoder.encode(texts)
    with torch.no_grad():
        full = encoder.bert(**tokens).last_hidden_state
    mask = tokens["attention_mask"].unsqueeze(-1).float()
    pooled = (full * mask).sum(1) / mask.sum(1)

    torch.testing.assert_close(split, pooled, rtol=1e-5, atol=1e-5)


def test_only_the_top_layers_train() -> None:
    encoder = load_encoder("tiny-random", trainable_layers=1, max_length=32)

    trainable = {n for n, p in encoder.bert.named_parameters() if p.requires_grad}

    assert trainable and all(n.startswith("encoder.layer.1.") for n in trainable)
    assert set(encoder.trainable_state()) == trainable
    frozen = load_encoder("tiny-random", trainable_layers=0, max_length=32)
    assert not any(p.requires_grad for p in frozen.parameters())


def test_a_local_folder_selects_another_bert_and_a_bad_one_fails_in_one_line(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="not 'minilm', 'tiny-random' or a local BERT folder"):
        load_encoder(str(tmp_path / "nowhere"), trainable_layers=1, max_length=16)
    assert (minilm_path() / "config.json").exists()

"""The DVC pipeline's definition (README "DVC"): stages, params, analytics, remote. No training.

``bench/dvc_repro.py`` runs the pipeline itself on a clean clone; these checks keep the files it
reads consistent in well under a few seconds.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DVC = ROOT / ".venv" / "bin" / "dvc"
STAGES = ["prepare", "train_user", "train_content", "train_group", "train_hybrid", "evaluate"]

sys.path.insert(0, str(ROOT / "scripts"))
import dvc_stage  # noqa: E402


def _pipeline() -> dict[str, Any]:
    stages: dict[str, Any] = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return stages


def _params() -> dict[str, Any]:
    params: dict[str, Any] = yaml.safe_load((ROOT / "params.yaml").read_text())
    return params


def _outputs(stage: dict[str, Any]) -> list[str]:
    paths = [*stage.get("outs", []), *stage.get("metrics", [])]
    return [next(iter(p)) if isinstance(p, dict) else p for p in paths]


def test_dvc_lists_exactly_the_six_stages_in_order() -> None:
    assert DVC.exists(), "dvc is installed by requirements.txt"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(
        [str(DVC), "stage", "list", "--name-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == STAGES
    assert list(dvc_stage.STAGES) == STAGES


def test_each_stage_runs_its_own_step_of_the_stage_script() -> None:
    for name, stage in _pipeline().items():
        assert stage["cmd"] == f".venv/bin/python scripts/dvc_stage.py {name}"
        assert "scripts/dvc_stage.py" in stage["deps"]


def test_params_named_by_the_stages_exist_in_params_yaml() -> None:
    params = _params()
    for name, stage in _pipeline().items():
        for key in stage.get("params", []):
            node: Any = params
            for part in key.split("."):
                assert isinstance(node, dict) and part in node, f"{name}: {key} not in params.yaml"
                node = node[part]
    assert params["train"]["tiny"] is False, "the committed pipeline builds the served models"
    assert dvc_stage.read_params(ROOT / "params.yaml") == params


def test_deps_exist_or_are_outputs_of_an_earlier_stage() -> None:
    earlier: set[str] = set()
    for name, stage in _pipeline().items():
        for dep in stage["deps"]:
            assert dep in earlier or (ROOT / dep).exists(), f"{name}: {dep} is missing"
        earlier.update(_outputs(stage))


def test_outputs_are_distinct_and_git_ignored() -> None:
    outputs = [path for stage in _pipeline().values() for path in _outputs(stage)]
    assert len(outputs) == len(set(outputs)), "one path may be the output of one stage only"
    metrics = [p for s in _pipeline().values() for p in _outputs(s) if p.endswith(".json")]
    assert len(metrics) == len(STAGES)
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", *outputs, "var/dvc-remote"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert set(ignored.stdout.split()) == {*outputs, "var/dvc-remote"}


def test_dvc_config_turns_analytics_off_and_names_a_local_remote() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc" / "config")
    assert config["core"]["analytics"] == "false"
    remote = config["core"]["remote"]
    section = f'remote "{remote}"'
    url = (config[section] if section in config else config[f"'{section}'"])["url"]
    assert (ROOT / ".dvc" / url).resolve() == ROOT / "var" / "dvc-remote"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train": {"tiny": "yes", "threads": 1}}, "train.tiny"),
        ({"train": {"tiny": False, "threads": 0}}, "train.threads"),
        ({"evaluate": {"protocol": "groups"}}, "evaluate.protocol"),
        ({"evaluate": {"peers": []}}, "evaluate.peers"),
    ],
)
def test_bad_params_fail_in_one_line(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    params = _params()
    for section, values in change.items():
        params[section] = {**params[section], **values}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(dvc_stage.StageError, match=message):
        dvc_stage.read_params(path)


def test_user_model_is_compared_with_peers_only_on_its_own_split() -> None:
    manifest = {
        "metrics": {"ndcg": 0.25},
        "extra": {"validation": {"split": "split_items_per_user", "seed": 7, "k": 10}},
    }
    peers = {"als": {"ndcg": 0.24}, "popularity": {"ndcg": 0.08}}
    options = {"protocol": "weak", "k": 10, "seed": 7}
    versus = dvc_stage._versus_peers(manifest, peers, options)
    assert versus["best_peer"] == "als"
    assert versus["ratio"] == pytest.approx(0.25 / 0.24, abs=1e-4)
    assert dvc_stage._versus_peers(manifest, peers, {**options, "seed": 8}) == {"same_split": False}
    assert dvc_stage._versus_peers(manifest, peers, {**options, "protocol": "fold-in"}) == {
        "same_split": False
    }

"""``python -m ml evaluate --protocol groups`` on the HetRec fixture, end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ml.cli import main
from ml.data.interactions import load, split_users, write_csv

POLICIES = ["average", "least-misery", "fairness"]


def _evaluate(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["evaluate", *argv], out=out)
    return status, out.getvalue()


def test_group_model_and_a_peer_under_three_policies(lastfm_small: Path, tmp_path: Path) -> None:
    report = tmp_path / "groups.json"

    status, printed = _evaluate(
        "--train", str(lastfm_small), "--protocol", "groups", "--model", "group", "als",
        "--policy", *POLICIES, "--tiny", "--json", str(report),
    )  # fmt: skip

    assert status == 0
    rows = ["group", *(f"group/{p}" for p in POLICIES), *(f"als/{p}" for p in POLICIES)]
    payload = json.loads(report.read_text())
    assert payload["protocol"] == "groups" and list(payload["results"]) == rows
    for result in payload["results"].values():
        metrics = result["metrics"]
        assert result["protocol"] == "groups" and result["users"] >= 1  # groups scored
        for name in ("ndcg", "member_ndcg_mean", "member_ndcg_min", "dominance"):
            assert 0.0 <= metrics[name] <= 1.0
        assert metrics["member_ndcg_min"] <= metrics["member_ndcg_mean"]
    lines = printed.splitlines()
    assert "ephemeral" in lines[0]
    assert lines[1].split()[:4] == ["model", "group", "NDCG@10", "member"]
    assert [line.split()[0] for line in lines[2:]] == rows


def test_fold_in_groups_come_from_the_test_folder(lastfm_small: Path, tmp_path: Path) -> None:
    status, printed = _evaluate(
        "--train", str(lastfm_small), "--test", str(lastfm_small), "--protocol", "groups",
        "--model", "ease", "--policy", "borda", "--tiny",
    )  # fmt: skip

    assert status == 0
    assert "fold-in listeners" in printed and "ease/borda" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policy", "dictator"], "--policy: unknown policy 'dictator'"),
        (["--test", "{csv}"], "no friend graph"),
    ],
)
def test_bad_group_runs_fail_in_one_line(
    extra: list[str],
    message: str,
    lastfm_small: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, test = split_users(load(lastfm_small), test_fraction=0.5, seed=1)
    write_csv(test, tmp_path / "test.csv")
    argv = [a.replace("{csv}", str(tmp_path / "test.csv")) for a in extra]

    status, printed = _evaluate(
        "--train", str(lastfm_small), "--protocol", "groups", "--model", "popularity", *argv
    )

    err = capsys.readouterr().err
    assert status == 2 and printed == ""
    assert err.count("\n") == 1 and err.startswith("ml: error: ") and message in err

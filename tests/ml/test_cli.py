"""``python -m ml evaluate`` on the 12-user HetRec fixture, with the peers' tiny configs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.cli import main
from ml.data.interactions import load, split_users, write_csv

PEERS = ["popularity", "itemknn", "ease", "als"]


def _evaluate(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["evaluate", *argv], out=out)
    return status, out.getvalue()


@pytest.mark.parametrize("protocol", ["weak", "fold-in"])
def test_evaluates_several_models_on_one_split(
    protocol: str, lastfm_small: Path, tmp_path: Path
) -> None:
    report = tmp_path / "out" / "eval.json"

    status, printed = _evaluate(
        "--train", str(lastfm_small), "--protocol", protocol, "--model", *PEERS,
        "--k", "5", "--seed", "3", "--json", str(report), "--tiny",
    )  # fmt: skip

    assert status == 0
    payload = json.loads(report.read_text())
    assert (payload["protocol"], payload["k"], payload["seed"]) == (protocol, 5, 3)
    assert list(payload["results"]) == PEERS
    for name, result in payload["results"].items():
        assert result["model"] == name and result["protocol"] == protocol
        assert result["users"] >= 1
        assert 0.0 <= result["metrics"]["ndcg"] <= 1.0
        assert set(result["metrics"]) >= {"ndcg", "map", "recall", "hr", "coverage", "pop_bias"}
        assert result["train_seconds"] >= 0 and result["recommend_seconds_per_user"] > 0
    lines = printed.splitlines()
    assert protocol in lines[0]
    assert lines[1].split()[:5] == ["model", "NDCG@5", "MAP@5", "Recall@5", "HR@5"]
    assert [line.split()[0] for line in lines[2:]] == PEERS
    assert len({len(line) for line in lines[1:]}) == 1  # one aligned table


def test_fold_in_reads_separate_train_and_test_csvs(lastfm_small: Path, tmp_path: Path) -> None:
    train, test = split_users(load(lastfm_small), test_fraction=0.34, seed=1)
    write_csv(train, tmp_path / "train.csv")
    write_csv(test, tmp_path / "test.csv")

    status, printed = _evaluate(
        "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
        "--protocol", "fold-in", "--model", "itemknn", "--tiny", "--json", str(tmp_path / "e.json"),
    )  # fmt: skip

    assert status == 0
    result = json.loads((tmp_path / "e.json").read_text())["results"]["itemknn"]
    # Users whose artists the training users never played have nothing left to score.
    assert 1 <= result["users"] <= test.n_users
    assert "test users from test" in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--train", "no/such/folder", "--model", "ease"], "no/such/folder"),
        (["--train", "{fixture}", "--model", "ease", "nope"], "unknown model 'nope'"),
        (["--train", "{fixture}", "--model", "ease", "--k", "0"], "--k"),
        (["--train", "{fixture}", "--model", "ease", "--k", "ten"], "--k"),
        (["--train", "{fixture}", "--model", "ease", "--seed", "-1"], "--seed"),
        (["--train", "{fixture}", "--model", "ease", "--protocol", "groups!"], "--protocol"),
        (["--train", "{fixture}", "--test", "{fixture}", "--model", "ease"], "--test"),
        (["--train", "{fixture}"], "--model"),
    ],
)
def test_bad_input_fails_in_one_line(
    argv: list[str], message: str, lastfm_small: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, printed = _evaluate(*(a.replace("{fixture}", str(lastfm_small)) for a in argv))

    err = capsys.readouterr().err
    assert status != 0
    assert printed == ""
    assert err.count("\n") == 1 and err.startswith("ml: error: ")
    assert message in err


def test_damaged_data_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plays.csv").write_text("user,item,weight\n")

    status, _ = _evaluate("--train", str(tmp_path / "plays.csv"), "--model", "popularity")

    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1 and err.startswith("ml: error: ")


def test_python_dash_m_ml_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ml", "evaluate", "--train", "x", "--model", "nope"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )

    assert done.returncode == 2
    assert done.stderr.startswith("ml: error: unknown model 'nope'; choose from ")
    assert done.stderr.count("\n") == 1

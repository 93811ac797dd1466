"""``python -m ml content-report`` end to end on the small fixtures, with tiny configurations."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ml.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INPUTS = [
    "--catalogue", str(FIXTURES / "catalogue_small.csv"),
    "--moods", str(FIXTURES / "data_moods_small.csv"),
    "--gtzan", str(FIXTURES / "gtzan_small.csv"),
]  # fmt: skip
PNGS = ["confusion_genre.png", "confusion_gtzan.png", "confusion_mood.png",
        "confusion_subgenre.png"]  # fmt: skip


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(["content-report", *argv], out=out)
    return status, out.getvalue()


def test_writes_json_markdown_and_four_pngs(tmp_path: Path) -> None:
    out = tmp_path / "report"

    status, printed = _run(*INPUTS, "--out", str(out), "--folds", "2", "--seed", "3", "--tiny")

    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(["report.md", "results.json", *PNGS])
    for name in PNGS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    assert results["folds"] == {"genre": 2, "mood": 2, "gtzan": 2}
    assert (results["seed"], results["tiny"]) == (3, True)
    assert results["genre"]["artists_in_both"] == 0
    assert results["subgenre"]["level"] == "subgenre"
    assert set(results["gtzan"]["models"]) == {"logreg", "svm_rbf", "mlp"}
    assert set(results["mood"]["models"]) == {"keras", "logreg"}
    assert results["seconds"]["total"] > 0
    report = (out / "report.md").read_text()
    for heading in ("Genre classifier", "GTZAN", "Mood detector"):
        assert f"#### {heading}" in report
    assert "| genre (6) | MLP (PyTorch" in report
    assert "content-report: mood..." in printed and "wrote " in printed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--catalogue", "no/such.csv"], "no/such.csv: no such file"),
        (["--folds", "1"], "--folds: must be an integer of at least 2"),
        (["--seed", "-2"], "--seed"),
        (["--gtzan", "{damaged}"], "header is"),
    ],
)
def test_bad_input_fails_in_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "features_30_sec.csv"
    damaged.write_text("filename,label\nblues.00000.wav,blues\n")
    argv = [a.replace("{damaged}", str(damaged)) for a in argv]

    status, _ = _run(*INPUTS, *argv, "--out", str(tmp_path / "out"), "--tiny", "--folds", "2")

    err = capsys.readouterr().err
    assert status != 0
    assert err.count("\n") == 1 and err.startswith("ml: error: ")
    assert message in err


def test_too_few_artists_for_the_folds_fail_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = _run(*INPUTS, "--out", str(tmp_path), "--tiny", "--folds", "500")

    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("ml: error: 500 folds need at least 500 artists")

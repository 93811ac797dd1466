"""``python -m ml evaluate --protocol cold-start``: the content model against popularity."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ml.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_cold_start_protocol_reports_both_models(tmp_path: Path) -> None:
    out = io.StringIO()
    status = main(
        [
            "evaluate",
            "--train",
            str(FIXTURES / "lastfm-small"),
            "--protocol",
            "cold-start",
            "--seeds",
            "2",
            "--model",
            "popularity",
            "itemknn",
            "--json",
            str(tmp_path / "r.json"),
        ],
        out=out,
    )
    assert status == 0
    text = out.getvalue()
    assert text.startswith("cold-start (2 seed items per test user) on lastfm-small")
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["protocol"] == "cold-start"
    assert set(payload["results"]) == {"popularity", "itemknn"}


@pytest.mark.parametrize("seeds", ["0", "x"])
def test_bad_seeds_are_one_line_usage_errors(
    seeds: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "evaluate",
            "--train",
            str(FIXTURES / "lastfm-small"),
            "--protocol",
            "cold-start",
            "--seeds",
            seeds,
            "--model",
            "popularity",
        ],
        out=io.StringIO(),
    )
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("ml: error: argument --seeds") and err.count("\n") == 1

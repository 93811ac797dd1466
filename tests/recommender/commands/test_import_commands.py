from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.models import Track

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db


def test_import_tracks_prints_a_summary_and_skipped_rows(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    text = (fixtures_dir / "spotify_songs_small.csv").read_text().split("\n")
    text[2] = text[2].replace(",pop,", ",pop,", 1).rsplit(",", 1)[0] + ",-5"
    path = tmp_path / "songs.csv"
    path.write_text("\n".join(text))
    out, err = StringIO(), StringIO()

    call_command("import_tracks", str(path), "--no-progress", stdout=out, stderr=err)

    assert "tracks: " in out.getvalue() and "1 rows skipped" in out.getvalue()
    assert "skipped songs.csv:3: duration_ms=-5 is below 1" in err.getvalue()


def test_missing_file_is_a_one_line_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("import_lastfm", str(tmp_path / "nowhere"), "--no-progress")

    assert str(caught.value) == f"{tmp_path / 'nowhere' / 'artists.dat'}: no such file"
    assert Track.objects.count() == 0


def test_command_line_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "songs.csv"
    bad.write_text("not,a,catalogue\n1,2,3\n")

    env = {"PATH": "/usr/bin:/bin", "AUDOTICS_VAR_DIR": str(tmp_path)}
    run = {"cwd": ROOT, "env": env, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, **run)  # type: ignore[call-overload]

    result = subprocess.run([sys.executable, "manage.py", "import_tracks", str(bad)], **run)  # type: ignore[call-overload]

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: ") and "header is not, a, catalogue" in lines[0]

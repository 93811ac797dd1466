"""``manage.py import_spotify_export USER FILE...``: a summary, or one line and nothing written."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.models import ListeningEvent, Track

pytestmark = pytest.mark.django_db

EXTENDED = "Streaming_History_Audio_2023-2024_0.json"


@pytest.fixture
def export_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "spotify_export"


def run(*args: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_spotify_export", *map(str, args), "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def command_error(*args: Any) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_command_imports_and_says_what_it_skipped(owner: Any, export_dir: Path) -> None:
    out, err = run("alice", export_dir / EXTENDED, export_dir / "StreamingHistory_music_0.json")

    assert out.strip() == (
        "spotify_export: 33 plays read, 25 plays imported, 0 already imported, "
        "5 short plays skipped, 3 podcasts and other non-music skipped, "
        "10 tracks created; 0 rows skipped"
    )
    assert "note: 5 plays shorter than 30 s were skipped" in err
    assert ListeningEvent.objects.filter(user=owner, source="export").count() == 25


def test_a_user_id_works_too(owner: Any, export_dir: Path) -> None:
    run(owner.pk, export_dir / EXTENDED)

    assert ListeningEvent.objects.filter(user=owner).count() == 22


def test_an_unknown_user_is_one_line(export_dir: Path) -> None:
    assert command_error("nobody", export_dir / EXTENDED) == (
        "no user 'nobody': give a username or a user id"
    )


def test_a_missing_file_is_one_line(owner: Any, tmp_path: Path) -> None:
    message = command_error("alice", tmp_path / "Streaming_History_Audio_2020.json")

    assert message.startswith(f"{tmp_path}/Streaming_History_Audio_2020.json: cannot read")


def test_a_truncated_file_is_one_line_and_writes_nothing(
    owner: Any, export_dir: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "Streaming_History_Audio_2024_1.json"
    cut.write_bytes((export_dir / EXTENDED).read_bytes()[:5000])

    message = command_error("alice", export_dir / EXTENDED, cut)

    assert message.startswith("Streaming_History_Audio_2024_1.json: not valid JSON")
    assert message.endswith("is the file complete?")
    assert not ListeningEvent.objects.exists() and not Track.objects.exists()

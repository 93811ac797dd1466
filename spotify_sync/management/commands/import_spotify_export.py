"""``manage.py import_spotify_export USER FILE...``: a Spotify data export into listening events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from recommender.management.commands._base import ImportCommand
from recommender.models import User
from spotify_sync.exports import ExportFile
from spotify_sync.services import export_import


class Command(ImportCommand):
    help = (
        "Import a Spotify streaming history (Streaming_History_Audio_*.json, "
        "StreamingHistory*.json or the export's zip) as a user's plays, in one transaction. "
        "Plays shorter than 30 s, podcasts and audiobooks are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="the Audotics username (or numeric user id)")
        parser.add_argument("files", nargs="+", type=Path, help="the export's JSON or zip files")
        super().add_arguments(parser)

    def handle(self, **options: Any) -> None:
        user = _user(options["user"])
        files = [_read(path) for path in options["files"]]
        progress = self.show_progress(options)
        self.run_import(lambda: export_import(user_id=user.pk, files=files, progress=progress))


def _user(name: str) -> User:
    found = User.objects.filter(username=name).first()
    if found is None and name.isdigit():
        found = User.objects.filter(pk=int(name)).first()
    if found is None:
        raise CommandError(f"no user {name!r}: give a username or a user id")
    return found


def _read(path: Path) -> ExportFile:
    try:
        return ExportFile(path.name, path.read_bytes())
    except OSError as exc:
        raise CommandError(f"{path}: cannot read ({exc.strerror or exc})") from None

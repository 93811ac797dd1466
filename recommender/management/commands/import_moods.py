from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from recommender.management.commands._base import ImportCommand
from recommender.services.imports import moods_import


class Command(ImportCommand):
    help = "Import mood-labelled tracks (Happy/Sad/Energetic/Calm) and label the catalogue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path",
            type=Path,
            nargs="?",
            default=None,
            help="data_moods.csv (default: the bundled data/spotify-moods-686/data_moods.csv)",
        )
        super().add_arguments(parser)

    def handle(self, **options: Any) -> None:
        path = options["path"] or settings.DATA_DIR / "spotify-moods-686" / "data_moods.csv"
        progress = self.show_progress(options)
        self.run_import(lambda: moods_import(path=path, progress=progress))

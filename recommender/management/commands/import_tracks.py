from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from recommender.management.commands._base import ImportCommand
from recommender.services.imports import tracks_import


class Command(ImportCommand):
    help = (
        "Import the Spotify songs catalogue CSV (.csv or .csv.gz): tracks, audio features, "
        "genres, playlists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="spotify_songs.csv or spotify_songs.csv.gz")
        super().add_arguments(parser)

    def handle(self, **options: Any) -> None:
        progress = self.show_progress(options)
        self.run_import(lambda: tracks_import(path=options["path"], progress=progress))

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from recommender.management.commands._base import ImportCommand
from recommender.services.imports import lastfm_import


class Command(ImportCommand):
    help = (
        "Import a Last.fm HetRec 2011 folder: users, artists, tags, plays, "
        "tag assignments, friendships."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "directory", type=Path, help="folder holding artists.dat, user_artists.dat, ..."
        )
        super().add_arguments(parser)

    def handle(self, **options: Any) -> None:
        progress = self.show_progress(options)
        self.run_import(lambda: lastfm_import(directory=options["directory"], progress=progress))

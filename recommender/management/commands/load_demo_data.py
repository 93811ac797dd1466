from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import selectors


class Command(BaseCommand):
    help = "Load the bundled demo data (catalogue, moods, Last.fm listeners) from data/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the catalogue is already loaded",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, **options: Any) -> None:
        if options["if_empty"] and not selectors.catalogue_counts().is_empty:
            self.stdout.write("demo data already loaded")
            return
        data = settings.DATA_DIR
        if not data.is_dir():
            raise CommandError(f"demo data folder {data} does not exist")
        flags = ["--no-progress"] if options["no_progress"] else []
        call_command(
            "import_tracks",
            data / "spotify-songs-tidytuesday-2020" / "spotify_songs.csv.gz",
            *flags,
        )
        call_command("import_moods", data / "spotify-moods-686" / "data_moods.csv", *flags)
        call_command("import_lastfm", data / "lastfm-hetrec2011-2k", *flags)

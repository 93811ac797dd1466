"""``manage.py rollback <model> [--to VERSION]``: flip the ACTIVE pointer back."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audotics.errors import ApplicationError
from recommender.services.model_versions import model_name_resolve, model_version_rollback


class Command(BaseCommand):
    help = "Make an earlier version of a model the active one (default: the one before it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="user_preference (alias ncf), popularity, ease, ...")
        parser.add_argument("--to", metavar="VERSION", help="the version to activate, e.g. 0003")

    def handle(self, **options: Any) -> None:
        try:
            name, _ = model_name_resolve(name=options["model"])
            row = model_version_rollback(name=name, to=options["to"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"{row.name}: version {row.version} is active"))

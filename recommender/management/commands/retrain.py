"""``manage.py retrain <model> [--tiny]``: the scheduled retrain's task, in the foreground."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audotics.errors import ApplicationError
from recommender.management.commands._base import add_param_argument
from recommender.tasks import model_retrain_task


class Command(BaseCommand):
    help = (
        "Retrain a model as the Celery beat schedule does (daily user_preference, weekly group, "
        "monthly content), in this process; the run is recorded (admin: Retrain runs)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("model", help="user_preference (alias ncf), content, group, hybrid")
        parser.add_argument("--tiny", action="store_true", help="the small test configuration")
        add_param_argument(parser)

    def handle(self, **options: Any) -> None:
        try:
            summary = model_retrain_task(
                options["model"],
                tiny=options["tiny"],
                trigger="command",
                params=dict(options["param"]) or None,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(str(summary)))

"""``manage.py train <model> [--tiny] [--param K=V] [--force]``: train, publish, and activate a
model when the promotion gate allows (otherwise it stays a candidate, with the reason)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audotics.errors import ApplicationError
from recommender.management.commands._base import add_param_argument
from recommender.models import ModelVersion
from recommender.services.content import STORE_NAME as CONTENT
from recommender.services.content import content_train
from recommender.services.hybrid import STORE_NAME as HYBRID
from recommender.services.hybrid import hybrid_train
from recommender.services.model_versions import model_name_resolve, model_store
from recommender.services.training import model_train


class Command(BaseCommand):
    help = (
        "Train a model on the database data, publish it to the model store (ML_STORE_DIR) "
        "and make it the active version if the promotion gate allows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "model",
            help=(
                "user_preference (alias ncf), content, group, hybrid, "
                "or a peer: popularity, itemknn, ease, als"
            ),
        )
        parser.add_argument("--tiny", action="store_true", help="the small test configuration")
        parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
        add_param_argument(parser)
        parser.add_argument(
            "--force",
            action="store_true",
            help="activate even if validation regressed (safety checks still apply)",
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="do nothing when the model already has an active version (first-run setup)",
        )

    def handle(self, **options: Any) -> None:
        progress = not options["no_progress"] and sys.stderr.isatty()
        if options["if_missing"]:
            try:
                store_name, _ = model_name_resolve(name=options["model"])
            except ApplicationError as exc:
                raise CommandError(exc.message) from None
            active = model_store().active_version(store_name)
            if active is not None:
                self.stdout.write(f"{store_name}: version {active} is already active")
                return
        try:
            store_name, _ = model_name_resolve(name=options["model"])
            train = {CONTENT: content_train, HYBRID: hybrid_train}.get(store_name, model_train)
            row = train(
                name=options["model"],
                tiny=options["tiny"],
                progress=progress,
                params=dict(options["param"]),
                force=options["force"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in row.metrics.items() if v is not None)
        if row.status != ModelVersion.Status.ACTIVE:
            if model_store().active_version(row.name) is None:
                raise CommandError(
                    f"{row.name}: nothing serves: version {row.version} held as a candidate: "
                    f"{row.status_reason}"
                )
            self.stdout.write(
                self.style.WARNING(
                    f"{row.name}: version {row.version} held as a candidate: {row.status_reason}"
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(f"{row.name}: version {row.version} is active ({metrics})")
        )

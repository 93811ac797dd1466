"""``manage.py bandit show|snapshot|reset|restore``: the hybrid's online blend weights."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audotics.errors import ApplicationError
from recommender.models import BanditSnapshot, BanditState
from recommender.serving.bandit import bandit_reset, bandit_restore, bandit_snapshot_create


class Command(BaseCommand):
    help = "Show, snapshot, reset or roll back the online blend weights of a hybrid version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["show", "snapshot", "reset", "restore"])
        parser.add_argument(
            "--model-version", dest="model_version", help="hybrid version (default: every one)"
        )
        parser.add_argument("--to", type=int, help="snapshot id, for restore")

    def handle(self, **options: Any) -> None:
        action, version = options["action"], options["model_version"]
        try:
            if action == "restore":
                if options["to"] is None:
                    raise CommandError("restore needs --to SNAPSHOT_ID")
                row = bandit_restore(snapshot_id=options["to"])
                self.stdout.write(f"hybrid v{row.model_version}: weights restored")
                return
            rows = BanditState.objects.order_by("model_version")
            if version:
                rows = rows.filter(model_version=version)
            if action == "show":
                for row in rows:
                    self.stdout.write(f"hybrid v{row.model_version}: {row.updates} updates")
                    self.stdout.write(json.dumps(row.state.get("weights", {}), indent=1))
                snaps = BanditSnapshot.objects.all()[:10]
                for snap in snaps:
                    self.stdout.write(f"snapshot {snap.pk}: {snap}")
                return
            if not rows.exists():
                raise CommandError("no online weights stored yet")
            for row in rows:
                if action == "snapshot":
                    snap = bandit_snapshot_create(version=row.model_version, reason="command")
                    self.stdout.write(f"snapshot {snap.pk} saved")
                else:
                    bandit_reset(version=row.model_version)
                    self.stdout.write(f"hybrid v{row.model_version}: back to the offline weights")
        except ApplicationError as exc:
            raise CommandError(exc.message) from None

"""``manage.py evaluate``: ``python -m ml evaluate``'s protocols over the database data.

The table and the JSON have the shape ``python -m ml evaluate`` writes, with ``"train":
"database"``, so results from files and from the database compare side by side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audotics.errors import ApplicationError
from ml.cli import ProtocolRun, format_table
from recommender.services.training import PROTOCOLS, model_evaluate


class Command(BaseCommand):
    help = "Fit and score models on the database data under one protocol (nothing is published)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--protocol", choices=PROTOCOLS, default="weak")
        parser.add_argument(
            "--model",
            nargs="+",
            required=True,
            metavar="NAME",
            help="user_preference (ncf), popularity, itemknn, ease, als",
        )
        parser.add_argument("--k", type=int, default=10, help="the top-K cut-off")
        parser.add_argument("--seed", type=int, default=7, help="the split seed")
        parser.add_argument("--json", type=Path, metavar="OUT", help="also write results here")
        parser.add_argument("--tiny", action="store_true", help="the small test configurations")

    def handle(self, **options: Any) -> None:
        if options["k"] < 1:
            raise CommandError(f"--k must be a positive integer, got {options['k']}")
        try:
            run = model_evaluate(
                protocol=options["protocol"],
                names=options["model"],
                k=options["k"],
                seed=options["seed"],
                tiny=options["tiny"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{run.description}; k={options['k']}, seed={options['seed']}")
        self.stdout.write(format_table(list(run.results.values()), options["k"]))
        if options["json"] is not None:
            self._write_json(options, run)

    def _write_json(self, options: dict[str, Any], run: ProtocolRun) -> None:
        payload = {
            "command": "evaluate",
            "protocol": options["protocol"],
            "train": "database",
            "test": None,
            "k": options["k"],
            "seed": options["seed"],
            "tiny": options["tiny"],
            "description": run.description,
            "results": {name: result.to_dict() for name, result in run.results.items()},
        }
        path: Path = options["json"]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise CommandError(f"{path}: cannot write ({exc.strerror})") from None
        self.stdout.write(f"wrote {path}")

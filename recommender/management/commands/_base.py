"""Shared plumbing of the import commands: one-line failures, a summary, skipped rows on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audotics.errors import ApplicationError
from recommender.services.imports import ImportReport

SHOWN_SKIPS = 20


class ImportCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")

    def show_progress(self, options: dict[str, Any]) -> bool:
        return not options["no_progress"] and sys.stderr.isatty()

    def run_import(self, work: Callable[[], ImportReport]) -> None:
        try:
            report = work()
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        for error in report.skipped[:SHOWN_SKIPS]:
            self.stderr.write(f"skipped {error}")
        if len(report.skipped) > SHOWN_SKIPS:
            self.stderr.write(f"... and {len(report.skipped) - SHOWN_SKIPS} more skipped rows")
        for note in report.notes:
            self.stderr.write(f"note: {note}")
        self.stdout.write(self.style.SUCCESS(report.summary()))


def param_pair(text: str) -> tuple[str, Any]:
    """``--param epochs=3``: a hyperparameter override; the value is read as JSON when it can be
    (numbers, true/false, lists), else kept as text."""
    import argparse
    import json

    key, sep, raw = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def add_param_argument(parser: CommandParser) -> None:
    """``--param KEY=VALUE`` (repeatable), shared by ``train`` and ``retrain``."""
    parser.add_argument(
        "--param",
        type=param_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hyperparameter (repeatable), e.g. --param epochs=3",
    )

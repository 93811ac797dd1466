"""``python -m ml``: evaluate recommenders on any HetRec-layout folder or interactions CSV.

    python -m ml evaluate --train data/lastfm-hetrec2011-2k --protocol weak \\
        --model popularity itemknn ease als --k 10 --seed 7 --json var/eval.json

Every model named is evaluated on the same split and reported in one table. Expected failures
(a missing folder, an unknown model, a bad ``--k``) end with one ``ml: error: ...`` line on
stderr and a non-zero exit, never a traceback.

A protocol is a function in :data:`PROTOCOLS`: it receives the parsed arguments and the unfitted
models, and returns a :class:`ProtocolRun`. Adding ``cold-start`` or ``groups`` means writing one
such function and registering it; the parser, table and JSON stay as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ml.base import BaseRecommender, ModelFitError
from ml.content import report as content_report
from ml.data.files import DataFileError
from ml.data.interactions import Interactions, load, split_users
from ml.evaluation import (
    TEST_FRACTION,
    ModelResult,
    evaluate_cold_start,
    evaluate_fold_in,
    evaluate_weak,
)
from ml.models import MODELS, build

PROG = "ml"


class UsageError(Exception):
    """Bad input from the command line; reported as one line, exit status 2."""


@dataclass(frozen=True)
class ProtocolRun:
    """What a protocol hands back: a one-line description of the split and each model's result."""

    description: str
    results: dict[str, ModelResult]
    table: str | None = None  # a protocol's own table (groups: the harmony metrics)


Protocol = Callable[[argparse.Namespace, dict[str, BaseRecommender]], ProtocolRun]


def _describe(data: Interactions) -> str:
    return (
        f"{data.name} ({data.n_users} users x {data.n_items} items, {data.matrix.nnz} interactions)"
    )


def _run_weak(args: argparse.Namespace, models: dict[str, BaseRecommender]) -> ProtocolRun:
    if args.test is not None:
        raise UsageError("--test is not used by --protocol weak")
    data = load(args.train)
    results = evaluate_weak(models, data, k=args.k, seed=args.seed)
    return ProtocolRun(f"weak on {_describe(data)}", results)


def _train_test(args: argparse.Namespace) -> tuple[Interactions, Interactions, str]:
    """The fold-in style split: ``--test DIR`` users, or a seeded fifth of ``--train``'s."""
    data = load(args.train)
    if args.test is None:
        train, test = split_users(data, test_fraction=TEST_FRACTION, seed=args.seed)
        source = f"{test.n_users} of its users held out"
    else:
        train, test = data, load(args.test)
        source = f"test users from {_describe(test)}"
    if train.n_users == 0 or test.n_users == 0:
        raise UsageError(f"{args.train}: too few users to hold any out")
    return train, test, f"on {_describe(data)}; {source}"


def _run_fold_in(args: argparse.Namespace, models: dict[str, BaseRecommender]) -> ProtocolRun:
    train, test, where = _train_test(args)
    results = evaluate_fold_in(models, train, test, k=args.k, seed=args.seed)
    return ProtocolRun(f"fold-in {where}", results)


def _run_cold_start(args: argparse.Namespace, models: dict[str, BaseRecommender]) -> ProtocolRun:
    train, test, where = _train_test(args)
    results = evaluate_cold_start(models, train, test, k=args.k, seed=args.seed, seeds=args.seeds)
    return ProtocolRun(f"cold-start ({args.seeds} seed items per test user) {where}", results)


def _run_groups(args: argparse.Namespace, models: dict[str, BaseRecommender]) -> ProtocolRun:
    from ml.group.evaluation import run_protocol  # it imports ml.cli: loaded on use

    return run_protocol(args, models)


#: protocol name -> runner.
PROTOCOLS: dict[str, Protocol] = {
    "weak": _run_weak,
    "fold-in": _run_fold_in,
    "cold-start": _run_cold_start,
    "groups": _run_groups,
}


class _Parser(argparse.ArgumentParser):
    """Turns argparse's usage-and-exit into one line the caller prints."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Train and evaluate Audotics recommenders offline.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    evaluate = commands.add_parser(
        "evaluate", help="fit models and report top-K ranking metrics on one split"
    )
    evaluate.add_argument("--train", required=True, type=Path, help="HetRec folder or CSV")
    evaluate.add_argument(
        "--test", type=Path, help="fold-in, cold-start, groups: a folder or CSV of test users"
    )
    evaluate.add_argument(
        "--seeds", type=_positive_int, default=3, help="cold-start: items each test user gives"
    )
    evaluate.add_argument("--protocol", choices=sorted(PROTOCOLS), default="weak")
    evaluate.add_argument("--model", nargs="+", required=True, metavar="NAME", dest="models")
    evaluate.add_argument("--k", type=_positive_int, default=10)
    evaluate.add_argument("--seed", type=_non_negative_int, default=7)
    evaluate.add_argument("--json", type=Path, dest="json_path", help="write results here")
    evaluate.add_argument("--tiny", action="store_true", help="small test configurations")
    evaluate.add_argument("--policy", nargs="+", metavar="NAME", help="groups: policies to apply")
    evaluate.set_defaults(handler=_evaluate)
    content = commands.add_parser(
        "content-report", help="genre, GTZAN and mood classifiers: CV scores, tables, PNGs"
    )
    content_report.add_arguments(content)
    content.set_defaults(handler=content_report.command)
    return parser


def _evaluate(args: argparse.Namespace, out: TextIO) -> int:
    unknown = [name for name in args.models if name not in MODELS]
    if unknown:
        raise UsageError(f"unknown model {unknown[0]!r}; choose from {', '.join(sorted(MODELS))}")
    for path in (args.train, args.test):
        if path is not None and not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    names = list(dict.fromkeys(args.models))
    try:
        models = {name: build(name, tiny=args.tiny) for name in names}
    except ImportError as exc:
        raise UsageError(f"cannot load model: {exc}") from None
    run = PROTOCOLS[args.protocol](args, models)
    out.write(f"{run.description}; k={args.k}, seed={args.seed}\n")
    out.write((run.table or format_table(list(run.results.values()), args.k)) + "\n")
    if args.json_path is not None:
        _write_json(args, run)
    return 0


def _write_json(args: argparse.Namespace, run: ProtocolRun) -> None:
    payload: dict[str, Any] = {
        "command": "evaluate",
        "protocol": args.protocol,
        "train": str(args.train),
        "test": None if args.test is None else str(args.test),
        "k": args.k,
        "seed": args.seed,
        "tiny": args.tiny,
        "description": run.description,
        "results": {name: result.to_dict() for name, result in run.results.items()},
    }
    args.json_path.parent.mkdir(parents=True, exist_ok=True)
    args.json_path.write_text(json.dumps(payload, indent=2) + "\n")


def format_table(results: Sequence[ModelResult], k: int) -> str:
    """One aligned row per model: accuracy, coverage, popularity bias and timings."""
    headers = [
        "model",
        f"NDCG@{k}",
        f"MAP@{k}",
        f"Recall@{k}",
        f"HR@{k}",
        "coverage",
        "pop-bias",
        "gini",
        "train s",
        "rec ms/user",
    ]
    rows = [
        [
            r.model,
            *(f"{r.metrics[m]:.4f}" for m in ("ndcg", "map", "recall", "hr", "coverage")),
            f"{r.metrics['pop_bias']:.4f}",
            f"{r.metrics['gini']:.3f}",
            f"{r.train_seconds:.2f}",
            f"{r.recommend_seconds_per_user * 1000:.3f}",
        ]
        for r in results
    ]
    widths = [max(len(row[c]) for row in [headers, *rows]) for c in range(len(headers))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    return "\n".join([line(headers), *(line(row) for row in rows)])


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run one command; returns the exit status (0 ok, 2 bad input, 1 a model failed)."""
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        status: int = args.handler(args, out)
        return status
    except UsageError as exc:
        return _fail(str(exc), 2)
    except DataFileError as exc:
        return _fail(str(exc), 2)
    except ModelFitError as exc:
        return _fail(str(exc), 1)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0


def _fail(message: str, status: int) -> int:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    sys.stderr.write(f"{PROG}: error: {first_line}\n")
    return status

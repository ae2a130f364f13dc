"""The command line of `python -m search.classify` and `python -m search.superres`, one for both."""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import MISSING

from lens_search.cli import OneLineParser, run_cli
from lens_search.experiments.tasks import Task, task_named
from lens_search.search.config import (
    FIRST_TRIALS,
    STOPPED_TRIAL_POLICIES,
    TASK_SETTINGS,
    TPE_MODELS,
    SearchConfig,
    setting_fields,
)

CHOICES = {
    "stopped_trials": STOPPED_TRIAL_POLICIES,
    "tpe_model": TPE_MODELS,
    "first_trial": FIRST_TRIALS,
}


def _value_type(annotation: typing.Any) -> type:
    """The scalar type behind ``int``, ``float | None`` and the like."""
    if isinstance(annotation, types.UnionType):
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def build_parser(task: Task) -> argparse.ArgumentParser:
    """An argument parser whose flags and defaults come from SearchConfig."""
    parser = OneLineParser(
        prog=f"python -m search.{task.name}",
        description=f"Hyperparameter search for DeepLense {task.name} with Ray Tune, Optuna "
        f"and ASHA, maximising {task.metric}.",
    )
    hints = typing.get_type_hints(SearchConfig)
    for f in setting_fields():
        if f.name in TASK_SETTINGS and f.name not in task.settings:
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = _value_type(hints[f.name])
        default = f.default if f.default is not MISSING else None
        help_text = f.metadata.get("help", "")
        if kind is bool:
            parser.add_argument(flag, action="store_true", help=help_text)
            continue
        shown = "" if default is None else f" (default: {default})"
        parser.add_argument(
            flag, type=kind, default=default, choices=CHOICES.get(f.name), help=help_text + shown
        )
    return parser


def parse_config(task: Task, argv: Sequence[str] | None) -> SearchConfig:
    """Parse and validate the command line into a SearchConfig."""
    parser = build_parser(task)
    args = vars(parser.parse_args(argv))
    args.pop("verbosity")  # --quiet/--verbose: the parser has configured logging from them
    given = given_flags(parser, argv, list(args)) & set(args)
    config = SearchConfig(**args, given=given)
    config.validate(task)
    return config


def given_flags(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, names: list[str]
) -> frozenset[str]:
    """The settings named on the command line (a --resume compares only those with the saved).

    argparse leaves alone what a namespace already holds unless a flag sets it, so a marker in
    every slot survives exactly where no flag was given.
    """
    unset = object()
    parsed = parser.parse_args(argv, namespace=argparse.Namespace(**dict.fromkeys(names, unset)))
    return frozenset(name for name, value in vars(parsed).items() if value is not unset)


def main_for(task_name: str, argv: Sequence[str] | None = None) -> None:
    """Entry point shared by every task's ``__main__`` (a registered task's name)."""
    from lens_search.search.launch import EXIT_NO_NODES, NodesDidNotCome
    from lens_search.search.outcome import EXIT_ALL_ERRORED, exit_status
    from lens_search.search.run import (
        run_search,  # Ray and Optuna; TensorFlow loads only in the trials
    )

    task = task_named(task_name)

    def main(args: Sequence[str] | None) -> int:
        config = parse_config(task, args)
        if config.dry_run:
            from lens_search.search.plan import dry_run

            print(dry_run(task, config, command=f"search.{task_name}"))
            return 0
        try:
            status = exit_status(run_search(task, config))
        except NodesDidNotCome as exc:
            print(f"search.{task_name}: error: {exc}", file=sys.stderr)
            return EXIT_NO_NODES
        if status == EXIT_ALL_ERRORED:
            print(f"search.{task_name}: every trial errored (errors above)", file=sys.stderr)
        return status

    run_cli(main, argv, prog=f"search.{task_name}")

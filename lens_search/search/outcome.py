"""How a search ended, told honestly: exit status, errored trials, Ctrl-C and the resume command.

Exit statuses of ``python -m search.<task>``: 0 when at least one trial ended without an error
(errored trials are then counted in the summary), 1 when every trial errored (the search ran but
produced nothing usable; 2 stays for input refused before anything is created), 3 when no trial
could start within ``--launch-timeout`` (``search.launch``; the state is saved and the
``--resume`` command printed), 130 after Ctrl-C (the state is saved and the exact ``--resume``
command printed).
"""

from __future__ import annotations

import logging
import shlex
import signal
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import pandas as pd
from ray.tune import Callback, ResultGrid

from lens_search.experiments.ray_adapter import trial_records
from lens_search.experiments.trials import STATUS_ERRORED, error_line
from lens_search.search.config import SearchConfig

EXIT_OK = 0
EXIT_ALL_ERRORED = 1
EXIT_INTERRUPTED = 130
ERROR_FILE = "error.txt"

_interrupted = threading.Event()


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C ended the search after Tune saved its state (the CLI exits 130)."""


@dataclass(frozen=True)
class TrialError:
    """One errored trial: its id, the error's message line and the file with the whole error."""

    trial_id: str
    line: str
    file: str


class _DropTuneResumeAdvice(logging.Filter):
    """Hide Tune's own advice after Ctrl-C (a ``Tuner.restore`` call): the CLI prints its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Resume experiment with" not in record.getMessage()


class SigintWatch(Callback):
    """Notes a Ctrl-C during ``Tuner.fit`` and passes it on to Tune's own handler.

    Tune installs a SIGINT handler for the length of ``fit`` that stops the run, saves the state
    and returns normally, so ``fit`` alone cannot tell an interrupted search from a finished one.
    ``setup`` runs after Tune installed it; the handler put in front only sets a flag.
    """

    def setup(
        self,
        stop: Any = None,
        num_samples: int | None = None,
        total_num_samples: int | None = None,
        **info: Any,
    ) -> None:
        _interrupted.clear()
        tune_logger = logging.getLogger("ray.tune.tune")
        if not any(isinstance(f, _DropTuneResumeAdvice) for f in tune_logger.filters):
            tune_logger.addFilter(_DropTuneResumeAdvice())
        if threading.current_thread() is not threading.main_thread():
            return
        tune_handler = signal.getsignal(signal.SIGINT)

        def note_and_pass_on(signum: int, frame: FrameType | None) -> None:
            _interrupted.set()
            if callable(tune_handler):
                tune_handler(signum, frame)

        signal.signal(signal.SIGINT, note_and_pass_on)


def was_interrupted() -> bool:
    """True when Ctrl-C reached the last ``fit`` (see SigintWatch)."""
    return _interrupted.is_set()


def resume_command(task_name: str, config: SearchConfig) -> str:
    """The exact command that continues this search."""
    words = ["python", "-m", f"search.{task_name}", "--resume"]
    words += ["--name", str(config.name), "--storage", str(config.storage)]
    if config.address:
        words += ["--address", config.address]
    return shlex.join(words)


def stop_interrupted(task_name: str, config: SearchConfig) -> SearchInterrupted:
    """Tell the user how to go on after Ctrl-C; the caller raises what this returns."""
    print(
        f"\nSearch {config.name} interrupted; its state is saved. Continue it with:\n"
        f"  {resume_command(task_name, config)}",
        file=sys.stderr,
        flush=True,
    )
    return SearchInterrupted()


def trial_errors(grid: ResultGrid) -> list[TrialError]:
    """The errored trials of ``grid``, with the error.txt Tune wrote in each trial folder."""
    found = []
    for result, trial in zip(iter(grid), trial_records(grid), strict=True):
        if result.error is not None:
            file = f"{result.path}/{ERROR_FILE}"
            found.append(TrialError(trial.trial_id, error_line(result.error), file))
    return found


def error_lines(errors: Iterable[TrialError]) -> list[str]:
    """One line per distinct error message, naming the trials that ended with it."""
    by_line: dict[str, list[str]] = {}
    for each in errors:
        by_line.setdefault(each.line, []).append(each.trial_id)
    return [f"  trial {', '.join(ids)}: {line}" for line, ids in by_line.items()]


def where_errors_are(errors: list[TrialError], experiment: str) -> str:
    """Where to read the full errors: each errored trial folder's error.txt."""
    if len(errors) == 1:
        return f"Full error: {errors[0].file}"
    return f"Full errors: {experiment}/<trial folder>/{ERROR_FILE} (one per errored trial)"


def exit_status(table: pd.DataFrame) -> int:
    """EXIT_ALL_ERRORED when trials ran and every one errored, else EXIT_OK."""
    if table.empty:
        return EXIT_OK
    return EXIT_ALL_ERRORED if (table["status"] == STATUS_ERRORED).all() else EXIT_OK

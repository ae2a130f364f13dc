"""The status line of a running search: epochs done out of the budget, and an ETA revised as
trials finish or are stopped.

The epochs still to come are what ASHA is expected to train from where each trial stands (a
trial survives each rung with probability ``1/reduction_factor``); the time per epoch is the
search's own so far (wall seconds per epoch done, all trials at once).
"""

from __future__ import annotations

import time
from typing import Any

from ray import tune

from lens_search.errors import LensSearchError
from lens_search.experiments.settings import read_settings
from lens_search.search.plan import format_duration

FINISHED = ("TERMINATED", "ERROR")


def expected_final_epoch(epoch: int, max_epochs: int, rungs: tuple[int, ...], keep: float) -> float:
    """The epoch a trial now at ``epoch`` is expected to end at, under ASHA's rungs."""
    ahead = [r for r in rungs if epoch < r < max_epochs] + [max_epochs]
    final, alive, at = float(epoch), 1.0, epoch
    for milestone in ahead:
        final += alive * (milestone - at)
        alive *= keep
        at = milestone
    return final


def expected_remaining(
    epochs_by_trial: list[tuple[int, bool]],
    samples: int,
    max_epochs: int,
    rungs: tuple[int, ...],
    reduction_factor: int,
    per_new_trial: float | None = None,
) -> float:
    """Epochs still to train: ``(epochs done, finished)`` per created trial, and the rest new.

    A trial not yet created is expected to train ``per_new_trial`` epochs (the plan's ASHA
    replay divided by the samples), by default what the rungs alone say.
    """
    keep = 1.0 / reduction_factor
    if per_new_trial is None:
        per_new_trial = expected_final_epoch(0, max_epochs, rungs, keep)
    rest = sum(
        expected_final_epoch(done, max_epochs, rungs, keep) - done
        for done, finished in epochs_by_trial
        if not finished
    )
    unstarted = max(0, samples - len(epochs_by_trial))
    return rest + unstarted * per_new_trial


def status_line(
    epochs_by_trial: list[tuple[int, bool]],
    elapsed_s: float,
    done_before: int,
    samples: int,
    max_epochs: int,
    rungs: tuple[int, ...],
    reduction_factor: int,
    per_new_trial: float | None = None,
) -> str:
    """``Epochs: D done of B (ASHA: about E in all); ETA ...`` for the trials as they stand.

    ``elapsed_s`` is the time since this run began, when ``done_before`` epochs were done (a
    resumed search's earlier epochs do not speed up its clock).
    """
    done = sum(epochs for epochs, _ in epochs_by_trial)
    remaining = expected_remaining(
        epochs_by_trial, samples, max_epochs, rungs, reduction_factor, per_new_trial
    )
    line = (
        f"Epochs: {done} done of {samples * max_epochs} at most "
        f"(ASHA: about {done + remaining:.0f} in all)"
    )
    if remaining < 0.5:
        return f"{line}; finishing"
    if done <= done_before:
        return f"{line}; ETA after the first epoch"
    return f"{line}; ETA {format_duration(remaining * elapsed_s / (done - done_before))}"


class EtaReporter(tune.CLIReporter):
    """Tune's live table with the status line above it.

    Tune pickles the reporter with the experiment and ``--resume`` brings that one back: its
    clock then restarts, and the sample count is read again from the experiment's settings
    (``experiment``), which ``--resume --samples N`` raised.
    """

    def __init__(
        self,
        *args: Any,
        samples: int,
        max_epochs: int,
        rungs: tuple[int, ...],
        reduction_factor: int,
        per_new_trial: float | None = None,
        epoch_attr: str = "epoch",
        experiment: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._budget = (samples, max_epochs, rungs, reduction_factor, per_new_trial)
        self._epoch_attr = epoch_attr
        self._experiment = experiment
        self._started = time.monotonic()
        self._done_before: int | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._started, self._done_before = time.monotonic(), None
        if self._experiment is not None:
            try:
                samples = int(read_settings(self._experiment).config["samples"])
            except (LensSearchError, KeyError, TypeError, ValueError):
                return
            self._budget = (samples, *self._budget[1:])

    def report(self, trials: list[Any], done: bool, *sys_info: str) -> None:
        standing = [
            (int((t.last_result or {}).get(self._epoch_attr, 0) or 0), t.status in FINISHED)
            for t in trials
        ]
        if self._done_before is None:
            self._done_before = sum(epochs for epochs, _ in standing)
        elapsed = time.monotonic() - self._started
        line = status_line(standing, elapsed, self._done_before, *self._budget)
        super().report(trials, done, *sys_info, line)

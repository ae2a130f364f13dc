"""``--warm-start OTHER``: a new search's study seeded with what an earlier experiment learned.

The other experiment must be of the same task and search the same parameters over the same
ranges (its trials' Optuna distributions equal this search's). Its finished trials (completed or
stopped early by ASHA) are then put into the new study before the first trial is asked, in one
of two ways (``bench.grow`` measures both; ``WARM_START_HOW`` is the one used):

- ``"best"``: its ``WARM_START_BEST`` best configurations are enqueued, to be trained first;
- ``"told"``: every finished trial is added as a told trial, with its value, learning curve and
  state, so TPE starts from all it learned (the trials are not trained again).

``WARM_START_HOW`` is ``"told"``: in ``bench.grow``'s replay it reached each regret with fewer
epochs than enqueueing the best (figures in ``bench/RESULTS.md``). Seeded trials carry the user
attribute ``warm_start_from`` (the other experiment's name); the other experiment is only read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial, TrialState

from lens_search.errors import LensSearchError
from lens_search.experiments.settings import SETTINGS_FILE, read_settings
from lens_search.experiments.storage import (
    experiment_name,
    experiment_path,
    is_uri,
    list_experiments,
    read_text,
)
from lens_search.experiments.study import load_study
from lens_search.experiments.tasks import Task
from lens_search.spaces import SearchSpace

WARM_START_HOW = "told"
WARM_START_BEST = 5
WARM_START_ATTR = "warm_start_from"
ENDED = (TrialState.COMPLETE, TrialState.PRUNED)


def warm_start_path(other: str, storage: str) -> str:
    """The other experiment's folder: a name in ``storage``, or a path or URI as given."""
    if is_uri(other) or "/" in other:
        return other
    return experiment_path(storage, other)


def space_distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """The Optuna distributions ``space.define_by_run`` suggests from."""
    with _quiet():
        trial = optuna.create_study().ask()
    space.define_by_run(trial)
    return dict(trial.distributions)


@contextmanager
def _quiet() -> Iterator[None]:
    """Optuna logs a line for every study it creates; not for this throwaway one."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def warm_start_trials(
    other: str, storage: str, task: Task, space: SearchSpace
) -> list[FrozenTrial]:
    """The finished trials of experiment ``other``; LensSearchError if they cannot seed this."""
    path = warm_start_path(other, storage)
    if read_text(f"{path}/{SETTINGS_FILE}") is None:
        known = ", ".join(list_experiments(storage)) or "none"
        raise LensSearchError(
            f"--warm-start {other}: no experiment there ({path}; experiments in {storage}: {known})"
        )
    settings = read_settings(path)
    if settings.task != task.name:
        raise LensSearchError(
            f"--warm-start {other}: it is a {settings.task} search, not {task.name}"
        )
    ended = [t for t in load_study(path).trials if t.state in ENDED]
    if not ended:
        raise LensSearchError(f"--warm-start {other}: it has no finished trials to start from")
    wanted = space_distributions(space)
    for trial in ended:
        if trial.distributions != wanted:
            raise LensSearchError(
                f"--warm-start {other}: its search space differs from this search's "
                f"({_difference(trial.distributions, wanted)}); warm-start only from a search of "
                "the same parameters and ranges"
            )
    return ended


def _difference(theirs: dict[str, BaseDistribution], ours: dict[str, BaseDistribution]) -> str:
    names = sorted(set(theirs) | set(ours))
    for name in names:
        if name not in ours:
            return f"{name} is not searched here"
        if name not in theirs:
            return f"{name} was not searched there"
        if theirs[name] != ours[name]:
            return f"{name}: {_shown(theirs[name])} there, {_shown(ours[name])} here"
    return "same parameters"


def _shown(distribution: BaseDistribution) -> str:
    """``1e-05..0.01 log``, ``[16, 32]``: a distribution as the space file writes it."""
    if isinstance(distribution, CategoricalDistribution):
        return str(list(distribution.choices))
    low, high = getattr(distribution, "low", None), getattr(distribution, "high", None)
    log = " log" if getattr(distribution, "log", False) else ""
    return f"{low:g}..{high:g}{log}" if low is not None and high is not None else str(distribution)


def seeding_line(other: str, finished: int) -> str:
    """What the search prints when it starts from ``finished`` trials of experiment ``other``."""
    if WARM_START_HOW == "best":
        best = min(WARM_START_BEST, finished)
        return f"Warm start from {other!r}: its {best} best configurations are trained first"
    return f"Warm start from {other!r}: its {finished} finished trials are told to the new study"


def seed_study(
    study: optuna.Study, trials: list[FrozenTrial], source: str, how: str = WARM_START_HOW
) -> None:
    """Put ``trials`` (of experiment ``source``) into ``study`` as ``how`` says (module doc)."""
    attrs = {WARM_START_ATTR: experiment_name(source)}
    if how == "best":
        for trial in best_first(trials, study.direction)[:WARM_START_BEST]:
            study.enqueue_trial(trial.params, user_attrs=attrs, skip_if_exists=True)
        return
    for trial in trials:
        study.add_trial(
            optuna.trial.create_trial(
                params=trial.params,
                distributions=trial.distributions,
                value=trial.value if trial.state == TrialState.COMPLETE else None,
                intermediate_values=trial.intermediate_values,
                state=trial.state,
                user_attrs={**trial.user_attrs, **attrs},
            )
        )


def best_first(
    trials: list[FrozenTrial], direction: optuna.study.StudyDirection
) -> list[FrozenTrial]:
    """Completed trials by value (best first), then stopped ones by their last reported value."""
    sign = -1.0 if direction == optuna.study.StudyDirection.MAXIMIZE else 1.0

    def key(trial: FrozenTrial) -> tuple[int, float]:
        if trial.state == TrialState.COMPLETE and trial.value is not None:
            return 0, sign * trial.value
        last = trial.intermediate_values.get(max(trial.intermediate_values, default=0))
        return (1, sign * last) if last is not None else (2, 0.0)

    return sorted(trials, key=key)

"""The TPE sampler a search uses: Optuna's, with its settings stated, optionally rung-aware.

Optuna's TPE splits finished trials into a "good" and a "bad" set by their final scores; under
ASHA most trials stop after one or three epochs, so their scores are not comparable with the
finished ones'. ``RungTPESampler`` fits the model as BOHB does: on the highest rung (epoch)
that enough trials have reached, ranking those trials by their score at that epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from lens_search.search import optuna_adapter

MIN_STARTUP_TRIALS = 4
STARTUP_FRACTION = 0.05
"""Random start-up trials: about 5 % of the search's samples, at least ``MIN_STARTUP_TRIALS``."""


def startup_trials(samples: int) -> int:
    """How many random trials come before TPE models anything: ``max(4, round(0.05 * samples))``.

    Optuna's 10 are a third to a half of a 20-30 trial search; the model then sees too few
    trials to leave its random start.
    """
    return max(MIN_STARTUP_TRIALS, round(STARTUP_FRACTION * samples))


def top_tenth(count: int) -> int:
    """Optuna's default size of the good set (``default_gamma``), stated so it stays fixed."""
    return min(math.ceil(0.1 * count), 25)


class RungTPESampler(TPESampler):
    """TPE whose good and bad sets come from one rung: the highest epoch at which at least
    ``min_points`` trials reported a score (BOHB's rule), else Optuna's own split.

    The good set is the best ``top_tenth(n)`` (at least one) of the ``n`` trials at that rung, by
    their score there; every other trial, stopped lower or still running, is in the bad set.
    """

    def __init__(self, *, min_points: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._min_points = min_points

    def _sample(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Optuna's hook behind both its relative and independent sampling, with the split
        made per rung (the estimators' part is ``optuna_adapter.tpe_sample_from_split``)."""
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        others = [
            t for t in study.get_trials(deepcopy=False, states=states) if t.number != trial.number
        ]
        rung = model_rung(others, self._min_points)
        if rung is None:
            return super()._sample(study, trial, search_space)
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        below, above = split_at_rung(others, rung, maximize)
        return optuna_adapter.tpe_sample_from_split(self, study, search_space, below, above)


def model_rung(trials: Sequence[FrozenTrial], min_points: int) -> int | None:
    """The highest step at which at least ``min_points`` trials have a score, or None."""
    counts: dict[int, int] = {}
    for frozen in trials:
        for step in frozen.intermediate_values:
            counts[step] = counts.get(step, 0) + 1
    reached = [step for step, count in counts.items() if count >= min_points]
    return max(reached) if reached else None


def split_at_rung(
    trials: Sequence[FrozenTrial], rung: int, maximize: bool
) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
    """(good, bad): the best tenth of the trials scored at ``rung``, and all the others."""
    scored = [t for t in trials if rung in t.intermediate_values]
    scored.sort(key=lambda t: t.intermediate_values[rung], reverse=maximize)
    good = scored[: max(1, top_tenth(len(scored)))]
    chosen = {id(t) for t in good}
    return good, [t for t in trials if id(t) not in chosen]


def make_sampler(seed: int, startup: int, rung_model: bool) -> TPESampler:
    """The search's TPE with every setting explicit (Optuna 5.1's defaults where not changed):
    multivariate, constant liar, the good set the top tenth, ``startup`` random trials first;
    ``rung_model`` fits it per rung (``RungTPESampler``, from ``startup`` trials at a rung)."""
    settings: dict[str, Any] = {
        "seed": seed,
        "n_startup_trials": startup,
        "multivariate": True,
        "constant_liar": True,
    }
    if rung_model:
        return RungTPESampler(min_points=startup, **settings)
    return TPESampler(**settings)

"""search.sampler: the start-up rule, the rung-aware TPE and how make_searcher builds them."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from lens_search.experiments.tasks import TASKS
from lens_search.search.config import SearchConfig
from lens_search.search.run import make_searcher
from lens_search.search.sampler import (
    RungTPESampler,
    make_sampler,
    model_rung,
    split_at_rung,
    startup_trials,
)

X = FloatDistribution(0.0, 1.0)


def stopped(x: float, scores: list[float], state: TrialState = TrialState.PRUNED) -> Any:
    """A finished trial whose per-epoch scores are ``scores`` (epochs 1, 2, ...)."""
    values = dict(enumerate(scores, start=1))
    final = scores[-1] if state == TrialState.COMPLETE else None
    return create_trial(
        params={"x": x},
        distributions={"x": X},
        value=final,
        state=state,
        intermediate_values=values,
    )


def test_startup_trials_are_five_percent_of_the_samples_and_at_least_four() -> None:
    assert [startup_trials(n) for n in (1, 9, 50, 100, 400)] == [4, 4, 4, 5, 20]


def test_the_model_rung_is_the_highest_epoch_enough_trials_reached() -> None:
    trials = [stopped(0.1 * i, [float(i)]) for i in range(6)]
    trials += [stopped(0.5, [1.0, 2.0, 3.0]), stopped(0.6, [1.0, 2.0, 3.0, 4.0])]
    assert model_rung(trials, min_points=2) == 3
    assert model_rung(trials, min_points=8) == 1
    assert model_rung(trials, min_points=9) is None


def test_the_good_set_is_ranked_by_the_score_at_that_rung_not_the_last_one() -> None:
    # finished with a high final score but poor at epoch 1; ASHA's survivors are not ranked first
    finished = stopped(0.9, [0.1, 0.95, 0.99], TrialState.COMPLETE)
    early = [stopped(0.1 * i, [0.2 + 0.1 * i]) for i in range(5)]
    good, bad = split_at_rung([finished, *early], rung=1, maximize=True)
    assert [t.params["x"] for t in good] == [0.4]  # the best at epoch 1
    assert finished in bad and len(good) + len(bad) == 6


def test_rung_tpe_samples_near_the_trials_good_at_the_rung() -> None:
    sampler = RungTPESampler(min_points=8, n_startup_trials=8, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for i in range(40):  # at epoch 1 the best lie near x = 0.8
        x = i / 40
        study.add_trial(stopped(x, [1.0 - abs(x - 0.8)]))
    suggested = [study.ask({"x": X}).params["x"] for _ in range(10)]
    assert sum(abs(x - 0.8) < 0.2 for x in suggested) >= 7, suggested


def test_make_sampler_states_its_settings() -> None:
    plain = make_sampler(seed=3, startup=4, rung_model=False)
    rung = make_sampler(seed=3, startup=4, rung_model=True)
    assert type(plain) is optuna.samplers.TPESampler and isinstance(rung, RungTPESampler)
    for sampler in (plain, rung):
        assert sampler._n_startup_trials == 4
        assert sampler._multivariate is True and sampler._constant_liar is True


@pytest.mark.parametrize(
    ("settings", "startup", "rung", "first"),
    [
        ({}, 4, False, True),  # the defaults: 5 % of 50 samples -> 4, plain TPE, defaults first
        ({"startup_trials": 10, "tpe_model": "plain", "first_trial": "sampled"}, 10, False, False),
        ({"tpe_model": "rung", "resume": True, "name": "x"}, 4, True, False),  # no defaults again
    ],
)
def test_make_searcher_builds_what_the_config_says(
    settings: dict[str, Any], startup: int, rung: bool, first: bool
) -> None:
    task = TASKS["superres"]
    searcher: Any = make_searcher(task, task.space, SearchConfig(**settings))
    sampler = searcher._ot_study.sampler
    assert sampler._n_startup_trials == startup
    assert isinstance(sampler, RungTPESampler) is rung
    trial = searcher._ot_study.ask()
    task.space.define_by_run(trial)
    defaults = {k: v for k, v in task.space.defaults().items() if k in task.space.searched()}
    assert (trial.params == defaults) is first

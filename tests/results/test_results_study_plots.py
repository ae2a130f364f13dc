"""Optuna's own figures on a study stored the way a search stores it (a journal file)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from lens_search.experiments.study import JOURNAL_FILE, journal_storage
from lens_search.results.importance import param_importances
from lens_search.results.study_plots import save_study_figures, stored_study, top_study

DISTRIBUTIONS = {
    "lr": FloatDistribution(1e-4, 1e-2, log=True),
    "batch_size": CategoricalDistribution((8, 16, 32)),
}


def write_study(folder: Path, values: list[float], pruned: int = 1) -> None:
    study = optuna.create_study(
        study_name=folder.name, storage=journal_storage(folder / JOURNAL_FILE), direction="maximize"
    )
    for index, value in enumerate(values):
        params = {"lr": 1e-4 * (1.7**index), "batch_size": (8, 16, 32)[index % 3]}
        study.add_trial(create_trial(params=params, distributions=DISTRIBUTIONS, value=value))
    for _ in range(pruned):
        study.add_trial(
            create_trial(
                params={"lr": 1e-3, "batch_size": 8},
                distributions=DISTRIBUTIONS,
                state=TrialState.PRUNED,
                intermediate_values={1: 0.1},
            )
        )


def test_optuna_figures_from_the_stored_study(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    write_study(folder, [0.6, 0.9, 0.7, 0.8])
    study = stored_study(str(folder))
    assert study is not None and study.study_name == "exp"
    found = param_importances(study)
    assert set(found) == {"lr", "batch_size"} and sum(found.values()) == pytest.approx(1.0)
    best = top_study(study, 2)
    assert sorted(t.value for t in best.trials) == [0.8, 0.9]
    save_study_figures(study, top=2, folder=tmp_path)
    for name in ("importance.png", "top_trials.png", "slice.png"):
        assert (tmp_path / name).stat().st_size > 5_000, name


def test_too_few_completed_trials_leave_the_figures_to_the_project(tmp_path: Path) -> None:
    write_study(tmp_path / "one", [0.5], pruned=3)
    assert stored_study(str(tmp_path / "one")) is None
    assert stored_study(str(tmp_path / "missing")) is None

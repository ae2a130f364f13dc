"""What ``experiments.ray_adapter`` relies on in Ray Tune, pinned on a real local Ray."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from ray import cloudpickle, tune

from lens_search.experiments.ray_adapter import TrialRecord, trial_records
from lens_search.experiments.settings import ExperimentSettings, write_settings
from lens_search.experiments.trials import load_results

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/


def _trainable(config: dict[str, Any]) -> None:
    if config["x"] < 0:
        raise ValueError("refused before reporting")
    for step in range(1, 3):
        tune.report({"score": config["x"] * step})


@pytest.fixture(scope="module")
def fitted(local_ray: None, tmp_path_factory: pytest.TempPathFactory) -> tune.ResultGrid:
    storage = tmp_path_factory.mktemp("adapter")
    tuner = tune.Tuner(
        _trainable,
        param_space={"x": tune.grid_search([1.0, -1.0])},
        run_config=tune.RunConfig(name="exp", storage_path=str(storage), verbose=0),
    )
    return tuner.fit()


def test_records_pair_with_the_fit_grid_in_order(fitted: tune.ResultGrid) -> None:
    records = trial_records(fitted)
    assert len(records) == len(fitted) == 2
    for result, record in zip(fitted, records, strict=True):
        assert record.trial_id == result.metrics["trial_id"]
        assert record.status == ("TERMINATED" if result.error is None else "ERROR")
        assert record.config == {"x": result.metrics["config"]["x"]}
        assert not hasattr(result, "status")  # why the adapter exists: use it once Ray has one
    assert sorted(r.config["x"] for r in records) == [-1.0, 1.0]


def test_records_of_a_stored_experiment_match_the_fit(fitted: tune.ResultGrid) -> None:
    experiment = fitted.experiment_path
    settings = ExperimentSettings("superres", metric="score", mode="max", max_epochs=2, config={})
    write_settings(experiment, settings)
    grid, read = load_results(experiment)
    assert read == settings
    assert _by_id(trial_records(grid)) == _by_id(trial_records(fitted))


def _by_id(records: list[TrialRecord]) -> dict[str, TrialRecord]:
    return {record.trial_id: record for record in records}

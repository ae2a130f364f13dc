"""The one place that reads a private part of Ray Tune: the trials behind a ``ResultGrid``.

A ``ResultGrid`` gives one public ``Result`` per trial, but neither the trial's id (it is only in
the metrics the trial reported, so a trial that never reported has none) nor its status
(pending, running, paused, terminated, errored), and ``Result.config`` is None until the trial
reports. All three are on the trials of the ``ExperimentAnalysis`` the grid was built from
(``ExperimentAnalysis.trials`` is public), but the grid keeps that analysis private
(``_experiment_analysis``) and ``Tuner.fit`` hands out no other one; building a new
``ExperimentAnalysis(grid.experiment_path)`` would read the whole experiment from storage again.
``tests/experiments/test_ray_adapter.py`` pins what is relied on here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ray.tune import ResultGrid


@dataclass(frozen=True)
class TrialRecord:
    """What Ray recorded of one trial: its id, its status (Ray's word) and its config."""

    trial_id: str
    status: str
    config: dict[str, Any]


def trial_records(grid: ResultGrid) -> list[TrialRecord]:
    """One record per trial of ``grid``, in the grid's order (``zip(grid, records)`` pairs them)."""
    trials = grid._experiment_analysis.trials
    return [TrialRecord(t.trial_id, str(t.status), dict(t.config)) for t in trials]

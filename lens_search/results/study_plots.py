"""Optuna's own matplotlib figures of the study a search kept on disk (``experiments.study``).

Where Optuna draws a figure (parameter importances, parallel coordinates, slice plots),
``results.plots`` uses it on the stored study; the project's own plots stay for what Optuna has
none of (learning curves on the epoch axis, best so far).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, cast

import optuna
from matplotlib import pyplot
from matplotlib.figure import Figure
from optuna.trial import TrialState
from optuna.visualization import matplotlib as optuna_plots

from lens_search.errors import LensSearchError
from lens_search.experiments.evaluation import save_figure as save
from lens_search.experiments.storage import is_uri
from lens_search.experiments.study import load_study
from lens_search.results.importance import MIN_TRIALS

STUDY_FILES = ("importance.png", "top_trials.png", "slice.png")


def stored_study(experiment: str) -> optuna.Study | None:
    """The experiment's study when its journal is on local disk with enough completed trials."""
    if is_uri(experiment):
        return None
    try:
        study = load_study(experiment)
    except LensSearchError:
        return None
    return study if len(completed(study)) >= MIN_TRIALS else None


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that trained to the end (ASHA-stopped ones are PRUNED in the study)."""
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def top_study(study: optuna.Study, top: int) -> optuna.Study:
    """An in-memory copy of ``study`` with its ``top`` best completed trials only."""
    best_first = sorted(
        completed(study),
        key=lambda t: cast(float, t.value),  # set on every completed trial
        reverse=study.direction == optuna.study.StudyDirection.MAXIMIZE,
    )
    copy = optuna.create_study(direction=study.direction, study_name=study.study_name)
    copy.add_trials(best_first[:top])
    return copy


def save_study_figures(study: optuna.Study, top: int, folder: Path, seed: int = 0) -> None:
    """Write Optuna's importance, parallel-coordinate (top trials) and slice figures."""
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    metric = (study.metric_names or ["Objective Value"])[0]  # the search names it (val_psnr)
    drawings = {
        "importance.png": lambda: optuna_plots.plot_param_importances(
            study, evaluator=evaluator, target_name=metric
        ),
        "top_trials.png": lambda: optuna_plots.plot_parallel_coordinate(
            top_study(study, top), target_name=metric
        ),
        "slice.png": lambda: optuna_plots.plot_slice(study, target_name=metric),
    }
    for name, draw in drawings.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            drawn = draw()
        figure = _figure_of(drawn)
        save(figure, folder / name)
        pyplot.close(figure)


def _figure_of(drawn: object) -> Figure:
    """The figure behind what an Optuna plot returns (one Axes, or an array of them)."""
    first: Any = drawn.flat[0] if hasattr(drawn, "flat") else drawn
    return first.figure

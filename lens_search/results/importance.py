"""Hyperparameter importance of a finished search: an in-memory Optuna study, fANOVA on top.

Only trials that trained all ``max_epochs`` count (as Optuna leaves pruned trials out); each
enters with its best score. The distributions come from the task's ``SearchSpace``, widened where a
trial's value lies outside (a space overridden for that search).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
import pandas as pd

from lens_search.experiments.trials import STATUS_COMPLETED
from lens_search.spaces import SearchSpace

MIN_TRIALS = 2


class NotEnoughTrials(Exception):
    """Fewer than ``MIN_TRIALS`` completed trials: importance cannot be estimated yet."""


def completed_study(
    table: pd.DataFrame,
    configs: Mapping[str, dict[str, Any]],
    space: SearchSpace,
    metric: str,
    mode: str,
) -> optuna.Study:
    """An in-memory study holding every completed trial of the leaderboard ``table``."""
    done = table[(table["status"] == STATUS_COMPLETED) & table[f"best_{metric}"].notna()]
    if len(done) < MIN_TRIALS:
        raise NotEnoughTrials(
            f"hyperparameter importance needs at least {MIN_TRIALS} completed trials, "
            f"found {len(done)}"
        )
    params = [space[name] for name in space.searched()]
    rows = [configs[trial_id] for trial_id in done["trial_id"]]
    distributions = {}
    for param in params:
        values = [row[param.name] for row in rows if param.name in row]
        dist = param.optuna_distribution(values)
        if dist is not None and len(values) == len(rows):
            distributions[param.name] = dist
    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize")
    for row, value in zip(rows, done[f"best_{metric}"], strict=True):
        study.add_trial(
            optuna.trial.create_trial(
                params={name: row[name] for name in distributions},
                distributions=distributions,
                value=float(value),
            )
        )
    return study


def param_importances(study: optuna.Study, seed: int = 0) -> dict[str, float]:
    """fANOVA importance of each searched parameter over the completed trials of ``study`` (sums
    to 1, most important first): the search's stored study, or a ``completed_study``."""
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    return {name: float(value) for name, value in found.items()}

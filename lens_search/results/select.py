"""Pick a trial of an experiment by its leaderboard rank and give back its exact configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from ray.tune import ResultGrid

from lens_search.errors import LensSearchError
from lens_search.experiments.ray_adapter import trial_records
from lens_search.experiments.settings import ExperimentSettings
from lens_search.experiments.trials import load_results
from lens_search.results.leaderboard import build_leaderboard


@dataclass(frozen=True)
class RankedTrial:
    """One trial of the leaderboard: its rank, id, best score and the config it trained with."""

    rank: int
    trial_id: str
    status: str
    epochs: int
    best: float
    config: dict[str, Any]


def trial_configs(grid: ResultGrid) -> dict[str, dict[str, Any]]:
    """Each trial's config as Ray stored it (typed values, not the CSV's strings)."""
    return {t.trial_id: t.config for t in trial_records(grid)}


def load_leaderboard(experiment: str) -> tuple[pd.DataFrame, ResultGrid, ExperimentSettings]:
    """The experiment's leaderboard, its ResultGrid and settings; LensSearchError if no trials."""
    grid, settings = load_results(experiment)
    table = build_leaderboard(grid, settings.metric, settings.mode, settings.max_epochs)
    if table.empty:
        raise LensSearchError(f"{experiment} has no trials yet")
    return table, grid, settings


def pick_rank(
    table: pd.DataFrame, grid: ResultGrid, metric: str, rank: int, experiment: str = "experiment"
) -> RankedTrial:
    """The trial at ``rank`` (1 = best); LensSearchError if there is none or it has no score."""
    scored = table[table[f"best_{metric}"].notna()]
    if rank < 1:
        raise LensSearchError(f"--rank must be at least 1, got {rank}")
    if rank > len(table):
        raise LensSearchError(
            f"rank {rank} does not exist: {experiment} has {len(table)} trials "
            f"({len(scored)} with a {metric})"
        )
    if scored.empty:
        raise LensSearchError(f"no trial of {experiment} has reported {metric} yet")
    row = table[table["rank"] == rank].iloc[0]
    best = row[f"best_{metric}"]
    if best is None or (isinstance(best, float) and math.isnan(best)):
        raise LensSearchError(
            f"rank {rank} (trial {row['trial_id']}, {row['status']}) has reported no {metric}; "
            f"choose a rank from 1 to {len(scored)}"
        )
    return RankedTrial(
        rank=rank,
        trial_id=str(row["trial_id"]),
        status=str(row["status"]),
        epochs=int(row["epochs"]),
        best=float(best),
        config=trial_configs(grid)[row["trial_id"]],
    )

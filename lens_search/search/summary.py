"""The few lines a user reads when a search ends."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lens_search.experiments.trials import STATUS_ERRORED, STATUS_STOPPED
from lens_search.search.config import SearchConfig
from lens_search.search.outcome import (
    EXIT_ALL_ERRORED,
    TrialError,
    error_lines,
    exit_status,
    where_errors_are,
)


def summarize(
    table: pd.DataFrame,
    metric: str,
    config: SearchConfig,
    wall_s: float,
    experiment: str,
    leaderboard: str,
    errors: Sequence[TrialError] = (),
    orphans: str | None = None,
) -> str:
    """Best configuration and metric, early stops, errors, epochs spent, wall time.

    ``errors`` are the errored trials (one line per distinct error); ``orphans`` the line about
    trial folders set aside on ``--resume`` (see ``search.orphans``).
    """
    failed = exit_status(table) == EXIT_ALL_ERRORED
    ended = "failed: every trial errored," if failed else "finished"
    lines = ["", f"Search {config.name} {ended} in {wall_s / 60:.1f} min."]
    scored = table.dropna(subset=[f"best_{metric}"]) if not table.empty else table
    if scored.empty:
        lines.append("No trial reported a metric.")
    else:
        best = scored.iloc[0]
        params = {
            c.removeprefix("config/"): best[c] for c in table.columns if c.startswith("config/")
        }
        lines.append(f"Best {metric}: {best[f'best_{metric}']:.4f} (trial {best['trial_id']})")
        lines.append("Best configuration: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    counts = table["status"].value_counts() if not table.empty else pd.Series(dtype=int)
    spent = int(table["epochs"].sum()) if not table.empty else 0
    full = len(table) * config.max_epochs
    share = f" ({spent / full:.0%})" if full else ""
    lines.append(
        f"Trials: {len(table)}, stopped early by ASHA: {int(counts.get(STATUS_STOPPED, 0))}, "
        f"errored: {int(counts.get(STATUS_ERRORED, 0))}"
    )
    if errors:
        lines.append(f"Errored trials ({len(errors)} of {len(table)}):")
        lines += error_lines(errors)
        lines.append(where_errors_are(list(errors), experiment))
    if orphans:
        lines.append(orphans)
    lines.append(
        f"Epochs trained: {spent} of the {full} that training every trial to "
        f"{config.max_epochs} epochs would take{share}"
    )
    lines.append(f"Experiment: {experiment}")
    lines.append(f"Leaderboard: {leaderboard}")
    return "\n".join(lines)

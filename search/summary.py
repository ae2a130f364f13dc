"""The few lines a user reads when a search ends."""

from __future__ import annotations

import pandas as pd

from results.leaderboard import STATUS_ERRORED, STATUS_STOPPED
from search.config import SearchConfig


def summarize(
    table: pd.DataFrame,
    metric: str,
    config: SearchConfig,
    wall_s: float,
    experiment: str,
    leaderboard: str,
) -> str:
    """Best configuration and metric, early stops, epochs spent against a full budget, wall time."""
    lines = ["", f"Search {config.name} finished in {wall_s / 60:.1f} min."]
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
    lines.append(
        f"Epochs trained: {spent} of the {full} that training every trial to "
        f"{config.max_epochs} epochs would take{share}"
    )
    lines.append(f"Experiment: {experiment}")
    lines.append(f"Leaderboard: {leaderboard}")
    return "\n".join(lines)

"""The leaderboard of a search: one ranked row per trial. `python -m results.leaderboard EXP`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from ray.tune import ResultGrid

from lens_search.cli import console_script
from lens_search.errors import LensSearchError
from lens_search.experiments.ray_adapter import trial_records
from lens_search.experiments.settings import LEADERBOARD_FILE
from lens_search.experiments.storage import is_uri, write_text
from lens_search.experiments.trials import error_line, load_results, trial_status
from lens_search.results.outputs import (
    EXPERIMENT_HELP,
    check_apart_from_inputs,
    check_new_file,
    results_parser,
)

FIRST_COLUMNS = ["rank", "trial_id", "status", "epochs"]


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def build_leaderboard(grid: ResultGrid, metric: str, mode: str, max_epochs: int) -> pd.DataFrame:
    """One row per trial of ``grid``, best first by the best ``metric`` each trial reached."""
    rows = []
    for result, trial in zip(iter(grid), trial_records(grid), strict=True):
        history = result.metrics_dataframe
        # Ray restarts a trial's history after a restore; its kept checkpoints remember the best.
        scores = list(history[metric].dropna()) if history is not None and metric in history else []
        kept = [m.get(metric) for _, m in result.best_checkpoints or []]
        scores += [score for score in kept if _finite(score) is not None]
        best = (max(scores) if mode == "max" else min(scores)) if scores else None
        metrics = result.metrics or {}
        epochs = int(metrics.get("epoch", 0) or 0)
        best_ckpt = _best_checkpoint_path(result, metric, mode)
        rows.append(
            {
                "trial_id": trial.trial_id,
                "status": trial_status(trial.status, result.error, epochs, max_epochs),
                "epochs": epochs,
                f"best_{metric}": _finite(best),
                f"last_{metric}": _finite(metrics.get(metric)),
                "wall_time_s": _finite(metrics.get("time_total_s")),
                "node": metrics.get("node_id", ""),
                "node_ip": metrics.get("node_ip", ""),
                "hostname": metrics.get("hostname", ""),
                "checkpoint": best_ckpt,
                "error": error_line(result.error),
                **{f"config/{k}": v for k, v in sorted(trial.config.items())},
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(
        f"best_{metric}", ascending=(mode == "min"), na_position="last", kind="stable"
    )
    table.insert(0, "rank", range(1, len(table) + 1))
    return table.reset_index(drop=True)


def _best_checkpoint_path(result: Any, metric: str, mode: str) -> str:
    scored = [(c, m) for c, m in result.best_checkpoints if _finite(m.get(metric)) is not None]
    if scored:
        pick = max if mode == "max" else min
        return pick(scored, key=lambda cm: float(cm[1][metric]))[0].path
    return result.checkpoint.path if result.checkpoint else ""


def write_leaderboard(table: pd.DataFrame, path: str) -> None:
    """Write the leaderboard CSV to a local path or a storage URI."""
    write_text(path, table.to_csv(index=False))


def format_table(table: pd.DataFrame, metric: str, top: int | None = None) -> str:
    """A terminal view of the leaderboard: rank, status, metric and the hyperparameters."""
    if table.empty:
        return "(no trials)"
    shown = table.head(top) if top else table
    config_cols = [c for c in shown.columns if c.startswith("config/")]
    cols = FIRST_COLUMNS + [f"best_{metric}", "wall_time_s", "node_ip", *config_cols]
    view = shown[cols].rename(columns={c: c.removeprefix("config/") for c in config_cols})
    return view.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def validation_note(metric: str) -> str:
    """What the leaderboard's figures are: validation, selected on, so not a test figure."""
    return (
        f"best_{metric} and last_{metric} are validation figures: the split the search "
        "selected on, so optimistic; test figures come from python -m results.retrain "
        "(or results.evaluate on its folder)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser(
        "leaderboard",
        "Rank the trials of a search experiment (finished, interrupted or running).",
        experiment=f"{EXPERIMENT_HELP}, e.g. runs/classify-2026...",
    )
    parser.add_argument(
        "--csv",
        help="write the CSV here, refusing an existing file without --force "
        "(default: EXPERIMENT/leaderboard.csv, refreshed every time)",
    )
    parser.add_argument("--top", type=int, help="show only the best K trials in the terminal")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --csv file")
    args = parser.parse_args(argv)
    if args.top is not None and args.top < 1:
        raise LensSearchError(f"--top must be at least 1, got {args.top}")
    if args.csv and not is_uri(args.csv):
        check_apart_from_inputs(args.csv, {}, args.experiment, flag="--csv")
        check_new_file(args.csv, args.force)
    grid, settings = load_results(args.experiment)
    table = build_leaderboard(grid, settings.metric, settings.mode, settings.max_epochs)
    if table.empty:
        raise LensSearchError(f"{args.experiment} has no trials yet")
    csv_path = args.csv or f"{args.experiment.rstrip('/')}/{LEADERBOARD_FILE}"
    write_leaderboard(table, csv_path)
    print(format_table(table, settings.metric, args.top))
    print(f"\n{validation_note(settings.metric)}")
    print(f"{len(table)} trials; leaderboard written to {csv_path}")
    return 0


cli = console_script(main, prog="results.leaderboard")


if __name__ == "__main__":
    cli()

"""Plots of a search. ``python -m results.plots EXPERIMENT [--out DIR] [--top K]``.

Writes into ``--out`` (default ``EXPERIMENT/plots``), all at once at the end:

- ``learning_curves.png``: every trial's metric per epoch (trials ASHA stopped end early, with x);
- ``best_so_far.png``: the best metric reached against the epochs trained by all trials so far;
- ``importance.png`` (+ ``importance.csv``): fANOVA importance of each searched hyperparameter
  over the completed trials; with fewer than two, the PNG says so instead;
- ``top_trials.png``: parallel coordinates of the top K trials' hyperparameters, coloured by score;
- ``slice.png``: the score of each completed trial against each hyperparameter.

Where the experiment's Optuna study is on disk (``experiments.study``) with two or more completed
trials, the importance, parallel-coordinate and slice figures are Optuna's own
(``results.study_plots``); otherwise the first two are drawn here from the leaderboard.

Figures are ``matplotlib.figure.Figure`` objects rendered with Agg (no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from ray.tune import ResultGrid

from lens_search.cli import console_script
from lens_search.errors import LensSearchError
from lens_search.experiments.evaluation import save_figure as save
from lens_search.experiments.ray_adapter import trial_records
from lens_search.experiments.settings import ExperimentSettings
from lens_search.experiments.storage import default_out
from lens_search.experiments.tasks import task_named
from lens_search.experiments.trials import STATUS_STOPPED
from lens_search.results.importance import NotEnoughTrials, completed_study, param_importances
from lens_search.results.outputs import (
    add_output_flags,
    check_apart_from_inputs,
    check_writable,
    output_folder,
    results_parser,
)
from lens_search.results.select import load_leaderboard, trial_configs
from lens_search.results.study_plots import save_study_figures, stored_study
from lens_search.spaces import SearchSpace

DEFAULT_TOP = 10
PLOT_FILES = (
    "learning_curves.png",
    "best_so_far.png",
    "importance.png",
    "top_trials.png",
    "slice.png",
)


def trial_histories(grid: ResultGrid, metric: str) -> dict[str, pd.DataFrame]:
    """Each trial's reported rows (``epoch``, ``metric``, ``timestamp``) by trial id."""
    histories = {}
    for result, trial in zip(iter(grid), trial_records(grid), strict=True):
        frame = result.metrics_dataframe
        if frame is None or metric not in frame or "epoch" not in frame:
            continue
        columns = ["epoch", metric] + (["timestamp"] if "timestamp" in frame else [])
        histories[trial.trial_id] = frame[columns].dropna(subset=[metric]).reset_index(drop=True)
    return histories


def learning_curves_figure(
    histories: Mapping[str, pd.DataFrame], table: pd.DataFrame, metric: str, max_epochs: int
) -> Figure:
    """One line per trial; trials stopped early end with an x, well short of ``max_epochs``."""
    figure = Figure(figsize=(8, 5))
    axes = figure.add_subplot()
    status = dict(zip(table["trial_id"], table["status"], strict=True))
    for trial_id, history in histories.items():
        stopped = status.get(trial_id) == STATUS_STOPPED
        (line,) = axes.plot(
            history["epoch"],
            history[metric],
            marker=".",
            label=trial_id,
            alpha=0.6 if stopped else 1.0,
            linestyle="--" if stopped else "-",
        )
        if stopped:
            axes.plot(
                history["epoch"].iloc[-1:],
                history[metric].iloc[-1:],
                marker="x",
                color=line.get_color(),
                markersize=9,
                linestyle="none",
            )
    axes.set_xlim(0.5, max_epochs + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.set_title(f"learning curves of {len(histories)} trials (dashed, x: stopped early)")
    if 0 < len(histories) <= 20:
        axes.legend(fontsize="small", ncol=2)
    return figure


def best_so_far(histories: Mapping[str, pd.DataFrame], metric: str, mode: str) -> pd.DataFrame:
    """Every reported epoch in time order: cumulative epochs of all trials and the best metric."""
    frames = [h.assign(trial_id=t) for t, h in histories.items() if len(h)]
    if not frames:
        return pd.DataFrame(columns=["cumulative_epochs", metric, "best"])
    rows = pd.concat(frames, ignore_index=True)
    if "timestamp" in rows:
        rows = rows.sort_values("timestamp", kind="stable").reset_index(drop=True)
    rows["cumulative_epochs"] = np.arange(1, len(rows) + 1)
    rows["best"] = rows[metric].cummax() if mode == "max" else rows[metric].cummin()
    return rows


def best_so_far_figure(progress: pd.DataFrame, metric: str) -> Figure:
    """The best ``metric`` against the epochs trained by all trials together."""
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    axes.scatter(
        progress["cumulative_epochs"],
        progress[metric],
        s=12,
        color="grey",
        label="each reported epoch",
    )
    axes.step(progress["cumulative_epochs"], progress["best"], where="post", label="best so far")
    axes.set_xlabel("epochs trained, all trials together")
    axes.set_ylabel(metric)
    axes.set_title(f"best {metric} so far")
    axes.legend()
    return figure


def importance_figure(importances: Mapping[str, float] | None, note: str = "") -> Figure:
    """Horizontal bars, most important on top; or ``note`` when importance is not available."""
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    if not importances:
        axes.text(0.5, 0.5, note or "no importance", ha="center", va="center", wrap=True)
        axes.set_axis_off()
        return figure
    names = list(importances)[::-1]
    axes.barh(names, [importances[n] for n in names])
    axes.set_xlabel("fANOVA importance (sums to 1)")
    axes.set_title("hyperparameter importance, completed trials")
    return figure


def top_trials_figure(
    table: pd.DataFrame,
    configs: Mapping[str, dict[str, Any]],
    space: SearchSpace,
    metric: str,
    top: int,
) -> Figure:
    """Parallel coordinates of the ``top`` scored trials: one line each, coloured by score."""
    scored = table[table[f"best_{metric}"].notna()].head(top)
    names = space.searched()
    figure = Figure(figsize=(max(7, 1.1 * len(names)), 4.5))
    axes = figure.add_subplot()
    scores = scored[f"best_{metric}"].astype(float)
    low, high = scores.min(), scores.max()
    norm = Normalize(low, high if high > low else low + 1)
    cmap = colormaps["viridis"]
    for trial_id, score in zip(scored["trial_id"], scores, strict=True):
        config = configs[trial_id]
        ys = [space[n].to_unit(config[n]) if n in config else math.nan for n in names]
        axes.plot(range(len(names)), ys, color=cmap(norm(score)), marker="o", label=trial_id)
    for index, name in enumerate(names):
        low, high = space[name].range_labels()
        axes.annotate(
            low,
            (index, 0),
            xytext=(0, -14),
            textcoords="offset points",
            ha="center",
            fontsize="x-small",
        )
        axes.annotate(
            high,
            (index, 1),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            fontsize="x-small",
        )
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes.set_yticks([])
    axes.set_ylim(-0.15, 1.15)
    axes.set_title(f"top {len(scored)} trials by best {metric}")
    figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes, label=f"best {metric}")
    return figure


def experiment_space(settings: ExperimentSettings) -> SearchSpace:
    """The space the search sampled (``Task.searched_space``), overrides file permitting.

    When the search's ``--space`` file is gone or no longer valid, the task's space without it.
    """
    task = task_named(settings.task)
    overrides = settings.config.get("space")
    if not (overrides and Path(overrides).is_file()):
        overrides = None
    weights, backbone = settings.config.get("weights"), settings.config.get("backbone")
    try:
        return task.searched_space(overrides, weights=weights, backbone=backbone)
    except LensSearchError:
        return task.searched_space(None, weights=weights, backbone=backbone)


def make_plots(
    experiment: str, out: str | Path | None = None, top: int = DEFAULT_TOP, force: bool = False
) -> tuple[Path, str]:
    """Write the plots of ``experiment``; return the folder and the importance note ('' if ok)."""
    if top < 1:
        raise LensSearchError(f"--top must be at least 1, got {top}")
    target = out if out is not None else default_out(experiment, "plots")
    check_apart_from_inputs(target, {}, experiment)
    table, grid, settings = load_leaderboard(experiment)
    target = check_writable(target, force)
    metric, mode = settings.metric, settings.mode
    configs, space = trial_configs(grid), experiment_space(settings)
    histories = trial_histories(grid, metric)
    study = stored_study(experiment)
    note = ""
    try:
        importances: dict[str, float] | None = param_importances(
            study if study is not None else completed_study(table, configs, space, metric, mode)
        )
    except NotEnoughTrials as exc:
        importances, note = None, str(exc)
    with output_folder(target, force) as staging:
        save(
            learning_curves_figure(histories, table, metric, settings.max_epochs),
            staging / "learning_curves.png",
        )
        save(
            best_so_far_figure(best_so_far(histories, metric, mode), metric),
            staging / "best_so_far.png",
        )
        if study is not None:
            save_study_figures(study, top, staging)
        else:
            save(importance_figure(importances, note), staging / "importance.png")
            save(top_trials_figure(table, configs, space, metric, top), staging / "top_trials.png")
        if importances:
            pd.DataFrame(
                {"param": list(importances), "importance": list(importances.values())}
            ).to_csv(staging / "importance.csv", index=False)
    return target, note


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser(
        "plots", "Plot learning curves, progress, importance and top trials of a search."
    )
    add_output_flags(parser, "output folder (default: EXPERIMENT/plots)")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, help="trials in top_trials.png")
    args = parser.parse_args(argv)
    target, note = make_plots(args.experiment, args.out, args.top, args.force)
    if note:
        print(f"importance.png: {note}")
    written = sorted(p.name for p in Path(target).iterdir() if p.suffix == ".png")
    print(f"written to {target}: {', '.join(written)}")
    return 0


cli = console_script(main, prog="results.plots")


if __name__ == "__main__":
    cli()

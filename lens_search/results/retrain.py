"""Retrain the best (or k-th) configuration of a search from scratch and evaluate it.

``python -m results.retrain EXPERIMENT [--epochs 10] [--rank 1] [--out DIR] [--data PATH]
[--patience N] [--lr-patience N]``

``--epochs`` is the most it trains. ``--patience N`` stops after N epochs without a better
validation metric and evaluates the best epoch's weights; ``--lr-patience N`` halves the
learning rate after every N epochs without one (Keras' ``EarlyStopping(restore_best_weights=True)``
and ``ReduceLROnPlateau(factor=0.5)``). Both choose on the validation split, never on the test.

Writes into ``--out`` (default ``EXPERIMENT/retrain-rank{k}``), all at once at the end:
``model.keras`` (loads with ``keras.saving.load_model(path, safe_mode=True)`` once ``trainables``
is imported; see ``results.export``), ``history.csv`` (one row per epoch), ``metrics.json``
(metrics of the reloaded model with bootstrap 95 % intervals: on the validation split, which the
search selected on, and under ``test`` on the data set's ``test/`` split, which neither the search
nor this training reads) and PNGs: ``roc_curves.png`` and ``confusion_matrix.png`` for
classification, ``samples.png`` (LR / bicubic / model / HR) for super-resolution, each again
with a ``test_`` prefix for the test split.

The test split is read before training (bad files fail before anything is written) but handed
only to the evaluation after it: training runs the fixed ``--epochs`` on train and val alone.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from lens_search.cli import command_options, console_script
from lens_search.data.layout import TEST, has_test_split
from lens_search.errors import LensSearchError
from lens_search.experiments.settings import ExperimentSettings
from lens_search.experiments.storage import default_out
from lens_search.experiments.tasks import task_named
from lens_search.results.outputs import (
    add_output_flags,
    check_apart_from_inputs,
    check_writable,
    output_folder,
    quiet_keras_import,
    results_parser,
)
from lens_search.results.select import RankedTrial, load_leaderboard, pick_rank

MODEL_FILE = "model.keras"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
DEFAULT_EPOCHS = 10


def data_path(settings: ExperimentSettings, override: str | None) -> Path:
    """The data set to retrain on: ``--data`` or the one the search used."""
    where = override or settings.config.get("data")
    if not where:
        raise LensSearchError("the experiment's settings name no data set; pass --data PATH")
    path = Path(where).expanduser()
    if not path.exists():
        hint = "" if override else " (the search's data set; pass --data PATH to use another)"
        raise LensSearchError(f"{path}: no such data set folder{hint}")
    return path


def load_task_data(settings: ExperimentSettings, path: Path) -> Any:
    """The data set read exactly as the search read it (same validation split; no ``test/``)."""
    return task_named(settings.task).load_data(path, settings.config)


def load_task_test(settings: ExperimentSettings, path: Path) -> Any | None:
    """The ``test/`` split of ``path`` as the model takes it, or None when there is none."""
    if not has_test_split(path):
        return None
    return task_named(settings.task).load_test(path, settings.config)


def train_model(
    settings: ExperimentSettings,
    trial: RankedTrial,
    data: Any,
    *,
    epochs: int,
    seed: int,
    folder: Path,
    verbose: int = 1,
    patience: Any = None,
) -> tuple[list[dict[str, Any]], Any]:
    """Train ``trial.config`` from scratch; return the history and the trained Keras model.

    The model returned is rebuilt and loaded from the checkpoint left (``trainables.loop``): the
    last epoch's, or with a ``trainables.Patience`` the best epoch's, so ``model.keras`` holds
    the trained optimizer state as a trial checkpoint does.
    """
    from lens_search.training import load_checkpoint

    metric = settings.metric

    def report(metrics: dict[str, Any], _folder: Path | None) -> None:
        watched = ""
        if "best_epoch" in metrics:
            watched = f", lr {metrics['lr']:.3g}, best epoch {metrics['best_epoch']}"
        print(
            f"epoch {metrics['epoch']}/{epochs}: {metric} {metrics[metric]:.4f}, "
            f"loss {metrics['loss']:.4g}{watched} ({metrics['epoch_seconds']:.1f} s)",
            flush=True,
        )

    common: dict[str, Any] = {
        "epochs": epochs,
        "seed": seed,
        "checkpoint_dir": folder,
        "on_epoch": report,
        "verbose": verbose,
        "patience": patience,
    }
    task = task_named(settings.task)
    history = task.train(trial.config, data, settings.config, **common)
    model = task.build_model(trial.config, settings.config, data)
    load_checkpoint(model, folder)  # the trained weights, Adam state and seed generators
    return history, model


def evaluate_and_draw(
    settings: ExperimentSettings, model: Any, arrays: tuple[Any, Any], out: Path, split: str
) -> Any:
    """Evaluate ``split`` (its inputs and targets), write the task's PNGs, return the evaluation."""
    from lens_search.experiments.intervals import N_RESAMPLES

    evaluation = task_named(settings.task).evaluate(
        model, *arrays, split=split, resamples=N_RESAMPLES, seed=0
    )
    evaluation.draw(out, "" if split == "val" else f"{split}_")
    return evaluation


def split_arrays(settings: ExperimentSettings, data: Any, split: str) -> tuple[Any, Any]:
    """The inputs and targets of ``split`` (``val`` of the data set, or its ``test`` split)."""
    return task_named(settings.task).arrays(data, split)


def retrain(
    experiment: str,
    *,
    epochs: int = DEFAULT_EPOCHS,
    rank: int = 1,
    out: str | Path | None = None,
    data: str | None = None,
    seed: int | None = None,
    force: bool = False,
    verbose: int = 1,
    patience: int | None = None,
    lr_patience: int | None = None,
) -> Path:
    """Retrain the trial at ``rank`` for at most ``epochs`` epochs; return the output folder.

    ``patience``/``lr_patience``: see the module docstring (None: the fixed ``epochs``).
    """
    if epochs < 1:
        raise LensSearchError(f"--epochs must be at least 1, got {epochs}")
    for flag, value in (("--patience", patience), ("--lr-patience", lr_patience)):
        if value is not None and value < 1:
            raise LensSearchError(f"{flag} must be at least 1 epoch, got {value}")
    target = out if out is not None else default_out(experiment, f"retrain-rank{rank}")
    check_apart_from_inputs(target, {"data set": data}, experiment)
    table, grid, settings = load_leaderboard(experiment)
    trial = pick_rank(table, grid, settings.metric, rank, experiment)
    source = data_path(settings, data)
    check_apart_from_inputs(target, {"data set": source})
    target = check_writable(target, force)
    dataset = load_task_data(settings, source)
    test = load_task_test(settings, source)  # kept from training: only the evaluation sees it
    seed = int(settings.config.get("seed", 0)) if seed is None else seed
    watch = _patience(settings, patience, lr_patience)
    print(
        f"retraining rank {rank} (trial {trial.trial_id}, best {settings.metric} "
        f"{trial.best:.4f} after {trial.epochs} epochs in the search) for "
        f"{'at most ' if patience else ''}{epochs} epochs on {_device()}",
        flush=True,
    )
    from lens_search.results.export import load_model, save_model

    with output_folder(target, force) as staging, tempfile.TemporaryDirectory() as scratch:
        history, model = train_model(
            settings,
            trial,
            dataset,
            epochs=epochs,
            seed=seed,
            folder=Path(scratch),
            verbose=verbose,
            patience=watch,
        )
        _print_stop(history, epochs, settings.metric, watch)
        save_model(model, staging / MODEL_FILE)
        reloaded = load_model(staging / MODEL_FILE)
        evaluations = [
            evaluate_and_draw(
                settings, reloaded, split_arrays(settings, data, split), staging, split
            )
            for split, data in (("val", dataset), (TEST, test))
            if data is not None
        ]
        pd.DataFrame(history).to_csv(staging / HISTORY_FILE, index=False)
        summary = _summary(experiment, settings, trial, epochs, seed, source, dataset)
        summary.update(_trained(history, watch))
        tested = {TEST: evaluations[1].to_json() if test is not None else None}
        body = {**summary, **evaluations[0].to_json(), **tested}
        (staging / METRICS_FILE).write_text(json.dumps(body, indent=2))
    _print_metrics(evaluations, source, target)
    return target


def _patience(settings: ExperimentSettings, patience: int | None, lr_patience: int | None) -> Any:
    """The ``trainables.Patience`` the flags ask for on the search's metric (None: none)."""
    if patience is None and lr_patience is None:
        return None
    from lens_search.training import Patience

    return Patience(settings.metric, settings.mode, patience, lr_patience)


def _trained(history: list[dict[str, Any]], watch: Any) -> dict[str, Any]:
    """What ``metrics.json`` says of the epochs: trained, and (with a patience) the one kept."""
    trained: dict[str, Any] = {"epochs_trained": len(history)}
    if watch is not None:
        trained["best_epoch"] = history[-1]["best_epoch"]
        trained["patience"] = {
            "stop_after": watch.stop_after,
            "halve_lr_after": watch.halve_lr_after,
        }
    return trained


def _print_stop(history: list[dict[str, Any]], epochs: int, metric: str, watch: Any) -> None:
    if watch is None:
        return
    best = history[-1]["best_epoch"]
    if len(history) < epochs:
        print(
            f"stopped after epoch {len(history)}: no better {metric} for {watch.stop_after} "
            f"epoch{'' if watch.stop_after == 1 else 's'}; evaluating the weights of epoch {best}",
            flush=True,
        )
    elif best != len(history):
        print(f"evaluating the weights of epoch {best}, the best {metric}", flush=True)


def _device() -> str:
    from lens_search.training.runtime import choose_precision, gpu_count

    gpus = gpu_count()
    where = f"{gpus} GPU(s)" if gpus else "the CPU"
    return f"{where}, precision {choose_precision()}"


def _summary(
    experiment: str,
    settings: ExperimentSettings,
    trial: RankedTrial,
    epochs: int,
    seed: int,
    source: Path,
    data: Any,
) -> dict[str, Any]:
    n_train, n_val = task_named(settings.task).sizes(data)
    return {
        "task": settings.task,
        "experiment": experiment,
        "rank": trial.rank,
        "trial_id": trial.trial_id,
        "search": {
            "metric": settings.metric,
            "best": trial.best,
            "epochs": trial.epochs,
            "status": trial.status,
        },
        "config": trial.config,
        "epochs": epochs,
        "seed": seed,
        "data": str(source),
        "n_train": n_train,
        "n_val": n_val,
        "device": _device(),
    }


def _print_metrics(evaluations: list[Any], source: Path, out: Path) -> None:
    from lens_search.results.evaluate import interval_note, metric_line

    for evaluation in evaluations:
        print(metric_line(evaluation))
    if len(evaluations) == 1:
        print(
            f"test: none ({source} has no test/ folder; simulate with --test-fraction above 0 "
            "or add one, then run python -m results.evaluate on this folder)"
        )
    print(interval_note(evaluations[0].resamples))
    print(f"written to {out}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser(
        "retrain", "Retrain the best (or k-th) configuration of a search and evaluate it."
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=DEFAULT_EPOCHS,
        help="epochs to train (at most, with --patience)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        help="stop after this many epochs without a better validation metric and evaluate the "
        "best epoch's weights (default: train every --epochs)",
    )
    parser.add_argument(
        "--lr-patience",
        type=int,
        help="halve the learning rate after every this many epochs without a better validation "
        "metric (default: never)",
    )
    parser.add_argument("--rank", type=int, default=1, help="leaderboard rank to retrain (1=best)")
    add_output_flags(parser, "output folder (default: EXPERIMENT/retrain-rank{k})")
    parser.add_argument("--data", help="data set folder (default: the one the search used)")
    parser.add_argument("--seed", type=int, help="training seed (default: the search's)")
    options = command_options(parser.parse_args(argv))  # named as retrain's keywords
    quiet_keras_import()
    retrain(**options)
    return 0


cli = console_script(main, prog="results.retrain")


if __name__ == "__main__":
    cli()

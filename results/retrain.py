"""Retrain the best (or k-th) configuration of a search from scratch and evaluate it.

``python -m results.retrain EXPERIMENT [--epochs 10] [--rank 1] [--out DIR] [--data PATH]``

Writes into ``--out`` (default ``EXPERIMENT/retrain-rank{k}``), all at once at the end:
``model.keras`` (loads with ``keras.saving.load_model(path, safe_mode=True)`` once ``trainables``
is imported; see ``results.export``), ``history.csv`` (one row per epoch), ``metrics.json``
(held-out validation metrics of the reloaded model) and PNGs: ``roc_curves.png`` and
``confusion_matrix.png`` for classification, ``samples.png`` (LR / bicubic / model / HR) for
super-resolution.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from experiments.settings import ExperimentSettings
from experiments.storage import default_out
from experiments.tasks import CLASSIFY_NAME, TASKS
from lensing.cli import command_options, console_script
from lensing.errors import LensSearchError
from results.outputs import (
    add_output_flags,
    check_apart_from_inputs,
    check_writable,
    output_folder,
    quiet_keras_import,
    results_parser,
)
from results.select import RankedTrial, load_leaderboard, pick_rank

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
    """The data set read exactly as the search read it (same validation split)."""
    task = TASKS[settings.task]
    return task.load_data(
        path, image_size=settings.config.get("image_size") if task.has_backbone else None
    )


def train_model(
    settings: ExperimentSettings,
    trial: RankedTrial,
    data: Any,
    *,
    epochs: int,
    seed: int,
    folder: Path,
    verbose: int = 1,
) -> tuple[list[dict[str, Any]], Any]:
    """Train ``trial.config`` from scratch; return the history and the trained Keras model.

    The model returned is rebuilt and loaded from the last checkpoint (``trainables.loop``), so
    ``model.keras`` holds the trained optimizer state as a trial checkpoint does.
    """
    from trainables import (
        ClassifierConfig,
        SuperResConfig,
        build_classifier,
        build_superres,
        load_checkpoint,
        train_classifier,
        train_superres,
    )

    metric = settings.metric

    def report(metrics: dict[str, Any], _folder: Path | None) -> None:
        print(
            f"epoch {metrics['epoch']}/{epochs}: {metric} {metrics[metric]:.4f}, "
            f"loss {metrics['loss']:.4g} ({metrics['epoch_seconds']:.1f} s)",
            flush=True,
        )

    common: dict[str, Any] = {
        "epochs": epochs,
        "seed": seed,
        "checkpoint_dir": folder,
        "on_epoch": report,
        "verbose": verbose,
    }
    if settings.task == CLASSIFY_NAME:
        cfg = settings.config
        config = cast(ClassifierConfig, trial.config)  # sampled from the classify space
        history = train_classifier(
            config,
            data,
            backbone=cfg["backbone"],
            image_size=cfg["image_size"],
            weights=cfg.get("weights"),
            **common,
        )
        model = build_classifier(
            config,
            image_size=cfg["image_size"],
            backbone=cfg["backbone"],
            num_classes=len(data.classes),
        )
    else:
        sr_config = cast(SuperResConfig, trial.config)  # sampled from the superres space
        history = train_superres(sr_config, data, **common)
        model = build_superres(sr_config, lr_size=data.lr_train.shape[1:3])
    load_checkpoint(model, folder)  # the trained weights, Adam state and seed generators
    return history, model


def evaluate_and_draw(
    settings: ExperimentSettings, model: Any, data: Any, out: Path
) -> dict[str, Any]:
    """Evaluate on the validation set, write the task's PNGs, return the metrics JSON part."""
    from results.evaluate import evaluate_classifier, evaluate_superres
    from results.figures import confusion_figure, roc_figure, save, superres_samples_figure

    if settings.task == CLASSIFY_NAME:
        evaluation = evaluate_classifier(model, data.x_val, data.y_val, tuple(data.classes))
        save(roc_figure(evaluation), out / "roc_curves.png")
        save(confusion_figure(evaluation), out / "confusion_matrix.png")
        return evaluation.to_json()
    sr = evaluate_superres(model, data.lr_val, data.hr_val)
    save(superres_samples_figure(sr), out / "samples.png")
    return sr.to_json()


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
) -> Path:
    """Retrain the trial at ``rank`` for ``epochs`` epochs; return the output folder."""
    if epochs < 1:
        raise LensSearchError(f"--epochs must be at least 1, got {epochs}")
    target = out if out is not None else default_out(experiment, f"retrain-rank{rank}")
    check_apart_from_inputs(target, {"data set": data}, experiment)
    table, grid, settings = load_leaderboard(experiment)
    trial = pick_rank(table, grid, settings.metric, rank, experiment)
    source = data_path(settings, data)
    check_apart_from_inputs(target, {"data set": source})
    target = check_writable(target, force)
    dataset = load_task_data(settings, source)
    seed = int(settings.config.get("seed", 0)) if seed is None else seed
    print(
        f"retraining rank {rank} (trial {trial.trial_id}, best {settings.metric} "
        f"{trial.best:.4f} after {trial.epochs} epochs in the search) for {epochs} epochs "
        f"on {_device()}",
        flush=True,
    )
    from results.export import load_model, save_model

    with output_folder(target, force) as staging, tempfile.TemporaryDirectory() as scratch:
        history, model = train_model(
            settings,
            trial,
            dataset,
            epochs=epochs,
            seed=seed,
            folder=Path(scratch),
            verbose=verbose,
        )
        save_model(model, staging / MODEL_FILE)
        reloaded = load_model(staging / MODEL_FILE)
        evaluation = evaluate_and_draw(settings, reloaded, dataset, staging)
        pd.DataFrame(history).to_csv(staging / HISTORY_FILE, index=False)
        summary = _summary(experiment, settings, trial, epochs, seed, source, dataset)
        (staging / METRICS_FILE).write_text(json.dumps({**summary, **evaluation}, indent=2))
    _print_metrics(evaluation["metrics"], target)
    return target


def _device() -> str:
    from trainables.runtime import choose_precision, gpu_count

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
    n_val = len(data.y_val) if settings.task == CLASSIFY_NAME else len(data.lr_val)
    n_train = len(data.y_train) if settings.task == CLASSIFY_NAME else len(data.lr_train)
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


def _print_metrics(metrics: dict[str, float], out: Path) -> None:
    print("held-out validation: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()))
    print(f"written to {out}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser(
        "retrain", "Retrain the best (or k-th) configuration of a search and evaluate it."
    )
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help="epochs to train")
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

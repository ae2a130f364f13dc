"""Evaluate a trained model on a split, with bootstrap 95 % intervals, by the project's metrics.

``python -m results.evaluate MODEL_OR_FOLDER [--data PATH] [--split test|val] [--out DIR]``

MODEL_OR_FOLDER is a ``.keras`` model, a ``results.retrain`` output folder or an experiment (its
``retrain-rank{--rank}`` folder). ``--data`` defaults to the data set the retrain used. The
default split is ``test/``, which no search and no epoch choice reads: its figures are the honest
ones. Classification: macro and per-class AUC and accuracy with intervals, loss, the confusion
matrix; super-resolution: PSNR, SSIM and MSE with intervals, next to bicubic on the same images.
With ``--out`` the figures and ``metrics.json`` are written there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lens_search.cli import console_script
from lens_search.data.layout import TEST, existing_folder, has_test_split
from lens_search.errors import LensSearchError
from lens_search.experiments.evaluation import Evaluation
from lens_search.experiments.intervals import CONFIDENCE, N_RESAMPLES
from lens_search.experiments.tasks import Task, task_of_model
from lens_search.results.outputs import (
    add_output_flags,
    check_apart_from_inputs,
    check_writable,
    native_stderr_silenced,
    output_folder,
    quiet_keras_import,
    results_parser,
)

SPLITS = (TEST, "val")
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
SPLIT_WORDS = {
    "val": ("validation", "the search selected on it, so optimistic"),
    TEST: ("test", "read by no search and no epoch choice"),
}


def metric_line(evaluation: Evaluation) -> str:
    """``<split> (N images; what it is): name value [low, high], ...`` on one line, e.g.
    ``test (3000 images; read by no search and no epoch choice): test_auc 0.97 [0.96, 0.98]``."""
    count = evaluation.count
    parts = []
    for name, value in evaluation.metrics.items():
        bounds = evaluation.intervals.get(name)
        text = f"{name} {value:.4g}"
        parts.append(text + (f" [{bounds[0]:.4g}, {bounds[1]:.4g}]" if bounds else ""))
    label, note = SPLIT_WORDS[evaluation.split]
    return f"{label} ({count} images; {note}): " + ", ".join(parts)


def interval_note(resamples: int) -> str:
    return f"[low, high]: {CONFIDENCE:.0%} bootstrap interval over {resamples} resamples"


def find_model(target: str, rank: int) -> tuple[Path, dict[str, Any]]:
    """The ``.keras`` file ``target`` names and the retrain's ``metrics.json`` beside it ({} if
    there is none): ``target`` is the file, a retrain folder or an experiment."""
    path = Path(target).expanduser()
    if path.is_dir():
        folder = path if (path / MODEL_FILE).is_file() else path / f"retrain-rank{rank}"
        if not (folder / MODEL_FILE).is_file():
            raise LensSearchError(
                f"{path}: no {MODEL_FILE} in it nor in its retrain-rank{rank}/ (retrain the "
                f"configuration first: python -m results.retrain {target} --rank {rank})"
            )
        path = folder / MODEL_FILE
    elif not path.is_file():
        raise LensSearchError(f"{path}: no such model file, retrain folder or experiment")
    try:
        saved = json.loads((path.parent / METRICS_FILE).read_text())
    except (OSError, ValueError):
        saved = {}
    return path, saved if isinstance(saved, dict) else {}


def data_for(model_path: Path, saved: dict[str, Any], data: str | None) -> Path:
    """``--data``, else the data set the retrain beside the model used."""
    where = data or saved.get("data")
    if not where:
        raise LensSearchError(f"{model_path}: no metrics.json of a retrain beside it; pass --data")
    return existing_folder(where)


def evaluate(
    target: str,
    *,
    data: str | None = None,
    split: str = TEST,
    rank: int = 1,
    resamples: int = N_RESAMPLES,
    seed: int = 0,
    out: str | None = None,
    force: bool = False,
) -> Evaluation:
    """Evaluate the model ``target`` names on ``split`` of its data set; print the figures."""
    if split not in SPLITS:
        raise LensSearchError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    if resamples < 0:
        raise LensSearchError(f"--resamples must be at least 0, got {resamples}")
    model_path, saved = find_model(target, rank)
    source = data_for(model_path, saved, data)
    if split == TEST and not has_test_split(source):
        raise LensSearchError(
            f"{source}: no test/ folder to evaluate on (simulate with --test-fraction above 0, "
            "add DATA/test/, or pass --split val)"
        )
    if out is not None:
        check_apart_from_inputs(out, {"data set": source, "model": model_path})
        check_writable(out, force)
    from lens_search.results.export import load_model
    from lens_search.results.predict import check_task

    with native_stderr_silenced():  # TensorFlow's CUDA probe on first use
        model = load_model(model_path, compile=False)  # inference only
    task = task_of_model(model, model_path)
    check_task(task, source, model_path)
    evaluation = _evaluate_split(model, task, source, split, resamples, seed)
    lines = [metric_line(evaluation), *evaluation.detail_lines()]
    if resamples:
        lines.append(interval_note(resamples))
    print("\n".join(lines))
    if out is not None:
        with output_folder(out, force) as staging:
            evaluation.draw(staging)
            summary = {"model": str(model_path), "data": str(source), "seed": seed}
            text = json.dumps({**summary, **evaluation.to_json()}, indent=2)
            (staging / METRICS_FILE).write_text(text)
        print(f"written to {out}")
    return evaluation


def _evaluate_split(
    model: Any, task: Task, source: Path, split: str, resamples: int, seed: int
) -> Evaluation:
    """Load ``split`` of ``source`` as the model takes it and evaluate it."""
    settings = task.model_settings(model)
    data = task.load_test(source, settings) if split == TEST else task.load_data(source, settings)
    inputs, targets = task.arrays(data, split)
    return task.evaluate(model, inputs, targets, split=split, resamples=resamples, seed=seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser(
        "evaluate",
        "Evaluate a retrained model on the test split (or val), with bootstrap 95% intervals.",
        experiment=None,
    )
    parser.add_argument(
        "target", help="a .keras model, a results.retrain folder, or an experiment folder"
    )
    parser.add_argument("--data", help="data set folder (default: the one the retrain used)")
    parser.add_argument(
        "--split", choices=SPLITS, default=TEST, help="split to evaluate (default: test)"
    )
    parser.add_argument(
        "--rank", type=int, default=1, help="for an experiment: its retrain-rank{K} model"
    )
    parser.add_argument(
        "--resamples",
        type=int,
        default=N_RESAMPLES,
        help=f"bootstrap resamples of the intervals (default {N_RESAMPLES}; 0: no intervals)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    add_output_flags(parser, "also write metrics.json and the figures into this new folder")
    args = parser.parse_args(argv)
    quiet_keras_import()
    evaluate(
        args.target,
        data=args.data,
        split=args.split,
        rank=args.rank,
        resamples=args.resamples,
        seed=args.seed,
        out=args.out,
        force=args.force,
    )
    return 0


cli = console_script(main, prog="results.evaluate")


if __name__ == "__main__":
    cli()

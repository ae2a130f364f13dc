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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensing.cache import TASKS
from lensing.cli import console_script
from lensing.errors import LensSearchError
from lensing.layout import (
    CLASSES,
    TEST,
    SuperResLayout,
    existing_folder,
    find_layout,
    has_test_split,
)
from results.intervals import (
    CONFIDENCE,
    N_RESAMPLES,
    Interval,
    classification_intervals,
    mean_intervals,
)
from results.outputs import (
    add_output_flags,
    check_apart_from_inputs,
    check_writable,
    native_stderr_silenced,
    output_folder,
    quiet_keras_import,
    results_parser,
)

CLASSIFY, SUPERRES = TASKS
SPLITS = (TEST, "val")
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
SPLIT_WORDS = {
    "val": ("validation", "the search selected on it, so optimistic"),
    TEST: ("test", "read by no search and no epoch choice"),
}


@dataclass(frozen=True)
class ClassifierEvaluation:
    """Metrics of one split (``{split}_auc``, ...), their intervals, the confusion matrix and the
    probabilities."""

    metrics: dict[str, float]
    confusion: np.ndarray
    classes: tuple[str, ...]
    y_true: np.ndarray
    probs: np.ndarray
    split: str = "val"
    intervals: dict[str, Interval] = field(default_factory=dict)
    resamples: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "n": len(self.y_true),
            "metrics": self.metrics,
            **_intervals_json(self.intervals, self.resamples, "resampled within each class"),
            "classes": list(self.classes),
            "confusion_matrix": self.confusion.tolist(),
            "confusion_matrix_axes": "rows: true class, columns: predicted class",
        }


@dataclass(frozen=True)
class SuperResEvaluation:
    """Model and bicubic PSNR/SSIM/MSE on the same images of one split, intervals, the images."""

    metrics: dict[str, float]
    lr: np.ndarray
    bicubic: np.ndarray
    pred: np.ndarray
    hr: np.ndarray
    split: str = "val"
    intervals: dict[str, Interval] = field(default_factory=dict)
    resamples: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "n": len(self.hr),
            "metrics": self.metrics,
            **_intervals_json(self.intervals, self.resamples, "resampled over images"),
        }


Evaluation = ClassifierEvaluation | SuperResEvaluation


def _intervals_json(intervals: dict[str, Interval], resamples: int, how: str) -> dict[str, Any]:
    if not intervals:
        return {}
    return {
        "intervals": {name: list(bounds) for name, bounds in intervals.items()},
        "interval": f"{CONFIDENCE:.0%} bootstrap percentile, {resamples} resamples, {how}",
    }


def evaluate_classifier(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    classes: tuple[str, ...],
    *,
    split: str = "val",
    resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> ClassifierEvaluation:
    """Macro and per-class AUC, accuracy, loss and confusion matrix on ``(x, y)``; AUC and
    accuracy with bootstrap intervals over ``resamples`` resamples (none when 0)."""
    from sklearn.metrics import confusion_matrix

    from trainables.classify import PREDICT_BATCH, classification_metrics
    from trainables.loop import predict_in_batches

    probs = predict_in_batches(model, np.asarray(x, np.float32), PREDICT_BATCH)
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    metrics = _named(classification_metrics(y, probs, classes), split)
    matrix = confusion_matrix(y, probs.argmax(axis=1), labels=list(range(len(classes))))
    intervals = (
        classification_intervals(y, probs, classes, split, resamples, seed) if resamples else {}
    )
    return ClassifierEvaluation(
        metrics, matrix, tuple(classes), y, probs, split, intervals, resamples
    )


def evaluate_superres(
    model: Any,
    lr: np.ndarray,
    hr: np.ndarray,
    *,
    split: str = "val",
    resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> SuperResEvaluation:
    """PSNR, SSIM and MSE of the model and of bicubic upsampling on the same images, each with
    a bootstrap interval over ``resamples`` resamples of the images (none when 0)."""
    from trainables.metrics import mse, psnr, ssim
    from trainables.models import bicubic_upsample
    from trainables.superres import predict_hr

    pred = predict_hr(model, lr)
    bicubic = np.clip(bicubic_upsample(lr), 0.0, 1.0)
    outputs = {split: pred, "bicubic": bicubic}
    functions = {"psnr": psnr, "ssim": ssim, "mse": mse}
    metrics = {
        f"{who}_{name}": function(images, hr)
        for who, images in outputs.items()
        for name, function in functions.items()
    }
    intervals: dict[str, Interval] = {}
    if resamples:
        per_image = {
            f"{who}_{name}": np.array(
                [function(images[i : i + 1], hr[i : i + 1]) for i in range(len(hr))]
            )
            for who, images in outputs.items()
            for name, function in functions.items()
        }
        intervals = mean_intervals(per_image, resamples, seed)
    return SuperResEvaluation(
        metrics, np.asarray(lr), bicubic, pred, np.asarray(hr), split, intervals, resamples
    )


def _named(metrics: dict[str, float], split: str) -> dict[str, float]:
    """Training's ``val_*`` names with the evaluated split's prefix instead."""
    return {
        f"{split}_{k.removeprefix('val_')}" if k.startswith("val_") else k: v
        for k, v in metrics.items()
    }


def metric_line(evaluation: Evaluation) -> str:
    """``<split> (N images; what it is): name value [low, high], ...`` on one line, e.g.
    ``test (3000 images; read by no search and no epoch choice): test_auc 0.97 [0.96, 0.98]``."""
    count = (
        len(evaluation.hr) if isinstance(evaluation, SuperResEvaluation) else len(evaluation.y_true)
    )
    parts = []
    for name, value in evaluation.metrics.items():
        bounds = evaluation.intervals.get(name)
        text = f"{name} {value:.4g}"
        parts.append(text + (f" [{bounds[0]:.4g}, {bounds[1]:.4g}]" if bounds else ""))
    label, note = SPLIT_WORDS[evaluation.split]
    return f"{label} ({count} images; {note}): " + ", ".join(parts)


def interval_note(resamples: int) -> str:
    return f"[low, high]: {CONFIDENCE:.0%} bootstrap interval over {resamples} resamples"


def confusion_lines(evaluation: ClassifierEvaluation) -> list[str]:
    """The confusion matrix as text: one row per true class, one column per predicted class."""
    width = max(len(c) for c in evaluation.classes) + 2
    cells = max(len(str(v)) for v in evaluation.confusion.ravel()) + 2
    head = " " * width + "".join(c.rjust(max(cells, len(c) + 2)) for c in evaluation.classes)
    lines = [f"confusion matrix ({evaluation.split}; rows: true, columns: predicted)", head]
    for name, row in zip(evaluation.classes, evaluation.confusion, strict=True):
        values = "".join(
            str(v).rjust(max(cells, len(c) + 2))
            for v, c in zip(row, evaluation.classes, strict=True)
        )
        lines.append(name.ljust(width) + values)
    return lines


def draw(evaluation: Evaluation, out: Path, prefix: str = "") -> None:
    """The split's PNGs in ``out``: ROC curves and confusion matrix, or SR samples."""
    from results.figures import confusion_figure, roc_figure, save, superres_samples_figure

    if isinstance(evaluation, ClassifierEvaluation):
        save(roc_figure(evaluation), out / f"{prefix}roc_curves.png")
        save(confusion_figure(evaluation), out / f"{prefix}confusion_matrix.png")
    else:
        save(superres_samples_figure(evaluation), out / f"{prefix}samples.png")


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
    from results.export import load_model
    from results.predict import check_task, model_task

    with native_stderr_silenced():  # TensorFlow's CUDA probe on first use
        model = load_model(model_path, compile=False)  # inference only
    task = model_task(model, model_path)
    laid_out = SUPERRES if isinstance(find_layout(source), SuperResLayout) else CLASSIFY
    check_task(task, laid_out, model_path, source)
    evaluation = _evaluate_split(model, task, source, split, resamples, seed)
    lines = [metric_line(evaluation)]
    if isinstance(evaluation, ClassifierEvaluation):
        lines += confusion_lines(evaluation)
    if resamples:
        lines.append(interval_note(resamples))
    print("\n".join(lines))
    if out is not None:
        with output_folder(out, force) as staging:
            draw(evaluation, staging)
            summary = {"model": str(model_path), "data": str(source), "seed": seed}
            text = json.dumps({**summary, **evaluation.to_json()}, indent=2)
            (staging / METRICS_FILE).write_text(text)
        print(f"written to {out}")
    return evaluation


def _evaluate_split(
    model: Any, task: str, source: Path, split: str, resamples: int, seed: int
) -> Evaluation:
    """Load ``split`` of ``source`` as the model takes it and evaluate it."""
    from experiments.tasks import TASKS as REGISTRY

    registry = REGISTRY[task]
    size = int(model.input_shape[1]) if task == CLASSIFY else None
    if split == TEST:
        test = registry.load_test(source, image_size=size)
        arrays = (test.x_test, test.y_test) if task == CLASSIFY else (test.lr_test, test.hr_test)
    else:
        both = registry.load_data(source, image_size=size)
        arrays = (both.x_val, both.y_val) if task == CLASSIFY else (both.lr_val, both.hr_val)
    if task == CLASSIFY:
        return evaluate_classifier(
            model, *arrays, CLASSES, split=split, resamples=resamples, seed=seed
        )
    check_lr_size(model, arrays[0], source)
    return evaluate_superres(model, *arrays, split=split, resamples=resamples, seed=seed)


def check_lr_size(model: Any, lr: np.ndarray, source: Path) -> None:
    """Refuse LR images of another size than a model with a fixed input size takes."""
    expected = tuple(model.input_shape[1:3])
    if None not in expected and tuple(lr.shape[1:3]) != expected:
        raise LensSearchError(
            f"{source}: LR size {lr.shape[1]}x{lr.shape[2]} differs from the model's input "
            f"{expected[0]}x{expected[1]}"
        )


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

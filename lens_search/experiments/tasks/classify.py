"""Lens classification: no substructure / CDM subhalos / vortex, scored by validation ROC AUC.

The task's data are class folders (``lensing.layout``), its model a ``trainables`` classifier
(InceptionResNetV2 or the plain ``cnn``, ``--backbone``) at ``--image-size``; its evaluation is
macro and per-class AUC and accuracy with bootstrap intervals, the loss and the confusion matrix;
its predictions a CSV of class probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lens_search.data.layout import CLASSES
from lens_search.data.simulate import DEFAULT_PER_CLASS, DEFAULT_PRESET, DEFAULT_SIZE
from lens_search.errors import LensSearchError
from lens_search.experiments.evaluation import Evaluation, named
from lens_search.experiments.intervals import N_RESAMPLES, classification_intervals
from lens_search.experiments.tasks.base import PlannedData, Task, register
from lens_search.spaces import CLASSIFY_SPACE, FixedParam, SearchSpace
from lens_search.spaces.classify import BACKBONE_DEFAULTS
from lens_search.training.backbones import (
    BACKBONES,
    DEFAULT_BACKBONE,
    FROM_SCRATCH_FIXED,
    backbone_name,
    is_backbone,
    min_image_size,
    other_backbone_params,
)
from lens_search.training.footprint import shape_params

PREDICTIONS_FILE = "predictions.csv"
MIN_PER_CLASS = 10
MIN_SIM_SIZE = 16
CPU_BACKBONE, CPU_IMAGE_SIZE = "cnn", 64
"""What a classification search far too long for this machine is offered instead."""


@dataclass(frozen=True)
class ClassifierEvaluation(Evaluation):
    """AUC (macro and per class), accuracy and loss of one split with their intervals, the
    confusion matrix and the probabilities."""

    confusion: np.ndarray
    classes: tuple[str, ...]
    y_true: np.ndarray
    probs: np.ndarray

    resampled: ClassVar[str] = "resampled within each class"

    @property
    def count(self) -> int:
        return len(self.y_true)

    def extra_json(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "confusion_matrix": self.confusion.tolist(),
            "confusion_matrix_axes": "rows: true class, columns: predicted class",
        }

    def detail_lines(self) -> list[str]:
        """The confusion matrix as text: one row per true class, one column per predicted."""
        width = max(len(c) for c in self.classes) + 2
        cells = max(len(str(v)) for v in self.confusion.ravel()) + 2
        head = " " * width + "".join(c.rjust(max(cells, len(c) + 2)) for c in self.classes)
        lines = [f"confusion matrix ({self.split}; rows: true, columns: predicted)", head]
        for name, row in zip(self.classes, self.confusion, strict=True):
            values = "".join(
                str(v).rjust(max(cells, len(c) + 2)) for v, c in zip(row, self.classes, strict=True)
            )
            lines.append(name.ljust(width) + values)
        return lines

    def figures(self) -> dict[str, Any]:
        return {"roc_curves": roc_figure(self), "confusion_matrix": confusion_figure(self)}


def evaluate_classifier(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    classes: tuple[str, ...] = CLASSES,
    *,
    split: str = "val",
    resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> ClassifierEvaluation:
    """Macro and per-class AUC, accuracy, loss and confusion matrix on ``(x, y)``; AUC and
    accuracy with bootstrap intervals over ``resamples`` resamples (none when 0)."""
    from sklearn.metrics import confusion_matrix

    from lens_search.training.classify import PREDICT_BATCH, classification_metrics
    from lens_search.training.loop import predict_in_batches

    probs = predict_in_batches(model, np.asarray(x, np.float32), PREDICT_BATCH)
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    metrics = named(classification_metrics(y, probs, classes), split)
    matrix = confusion_matrix(y, probs.argmax(axis=1), labels=list(range(len(classes))))
    intervals = (
        classification_intervals(y, probs, classes, split, resamples, seed) if resamples else {}
    )
    return ClassifierEvaluation(
        metrics,
        matrix,
        tuple(classes),
        y,
        probs,
        split=split,
        intervals=intervals,
        resamples=resamples,
    )


def roc_figure(evaluation: ClassifierEvaluation) -> Any:
    """One-vs-rest ROC curve of each class, with its AUC, and the chance diagonal."""
    from matplotlib.figure import Figure
    from sklearn.metrics import roc_curve

    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot()
    for index, name in enumerate(evaluation.classes):
        positive = evaluation.y_true == index
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, evaluation.probs[:, index])
        auc = evaluation.metrics[f"{evaluation.split}_auc_{name}"]
        axes.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    macro = evaluation.metrics[f"{evaluation.split}_auc"]
    axes.set_title(f"ROC on {evaluation.split}, one vs rest (macro AUC {macro:.3f})")
    axes.legend(loc="lower right")
    return figure


def confusion_figure(evaluation: ClassifierEvaluation) -> Any:
    """The confusion matrix as counts (rows: true class, columns: predicted class)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.5, 4))
    axes = figure.add_subplot()
    matrix = evaluation.confusion
    axes.imshow(matrix, cmap="Blues")
    ticks = range(len(evaluation.classes))
    axes.set_xticks(ticks, evaluation.classes)
    axes.set_yticks(ticks, evaluation.classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=color)
    accuracy = evaluation.metrics[f"{evaluation.split}_accuracy"]
    axes.set_title(f"{evaluation.split}: accuracy {accuracy:.3f}")
    return figure


def predict_classes(model: Any, inputs: list[tuple[Path, str]], chunk: int = 256) -> Any:
    """Class probabilities and the predicted class of each input, resized to the model's size."""
    import pandas as pd

    from lens_search.data.images import read_images, stack

    size = model.input_shape[1]
    if model.output_shape[-1] != len(CLASSES):
        raise LensSearchError(
            f"the model has {model.output_shape[-1]} outputs; expected {len(CLASSES)} classes"
        )
    rows = []
    for start in range(0, len(inputs), chunk):
        part = inputs[start : start + chunk]
        files = read_images([path for path, _ in part], image_size=size)
        probs = model.predict(stack(files, (size, size)), verbose=0)
        for (_, name), p in zip(part, np.asarray(probs, dtype=np.float64), strict=True):
            row = {"file": name, **{f"p_{c}": float(v) for c, v in zip(CLASSES, p, strict=True)}}
            rows.append({**row, "predicted": CLASSES[int(np.argmax(p))]})
    return pd.DataFrame(rows, columns=["file", *(f"p_{c}" for c in CLASSES), "predicted"])


class ClassifyTask(Task):
    """Three lens classes, a backbone at an image size, AUC."""

    name = "classify"
    metric = "val_auc"
    mode = "max"
    space = CLASSIFY_SPACE
    default_simulation: ClassVar[Mapping[str, Any]] = {
        "preset": DEFAULT_PRESET,
        "per_class": DEFAULT_PER_CLASS,
        "size": DEFAULT_SIZE,
    }
    settings = frozenset({"per_class", "sim_size", "image_size", "backbone", "weights"})
    data_words = "class folders"
    model_words = "a classifier"
    trainer = "lens_search.training.classify:train_classifier"
    count_setting = "per_class"

    def searched_space(
        self,
        space_file: str | Path | None = None,
        *,
        weights: str | None = None,
        backbone: str | None = None,
    ) -> SearchSpace:
        """The task's space with ``--space`` overrides, for one backbone.

        Parameters of another backbone than ``backbone`` are left out, and an overrides file
        that sets one is refused. A backbone without pretrained weights (``weights`` None) trains
        every layer: ``FROM_SCRATCH_FIXED`` is left out too (the model builds with those values;
        a trial's config and the leaderboard then hold only what matters for the backbone), and
        an overrides file that sets it otherwise is refused (both rules are
        ``trainables.backbones``').
        """
        space, overrides = self.overridden(space_file)
        space = _for_backbone(space, overrides, space_file, backbone)
        if weights is not None:
            return space
        for name, value in FROM_SCRATCH_FIXED.items():
            if name in overrides and space[name] != FixedParam(name, value):
                raise LensSearchError(
                    f"space overrides file {space_file}: {name} must stay {value} without "
                    "pretrained weights (every backbone layer starts random); "
                    "remove it or pass --weights"
                )
        return SearchSpace(
            space.name, tuple(p for p in space.params if p.name not in FROM_SCRATCH_FIXED)
        )

    def check_settings(self, settings: Mapping[str, Any]) -> None:
        per_class, sim_size = settings.get("per_class"), settings.get("sim_size")
        backbone, image_size = settings.get("backbone", DEFAULT_BACKBONE), settings["image_size"]
        checks = [
            (
                settings.get("data") is None or (per_class is None and sim_size is None),
                "--per-class and --sim-size choose the simulated data set; "
                "they cannot be used with --data",
            ),
            (
                per_class is None or per_class >= MIN_PER_CLASS,
                f"--per-class must be at least {MIN_PER_CLASS}, got {per_class}",
            ),
            (
                sim_size is None or sim_size >= MIN_SIM_SIZE,
                f"--sim-size must be at least {MIN_SIM_SIZE}, got {sim_size}",
            ),
            (
                is_backbone(backbone),
                f"--backbone must be one of {', '.join(BACKBONES)}, got {backbone!r}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise LensSearchError(message)
        least = min_image_size(backbone)
        if image_size < least:
            raise LensSearchError(
                f"--image-size must be at least {least} for {backbone}, got {image_size}"
            )

    def simulation_changes(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        return {"per_class": settings.get("per_class"), "size": settings.get("sim_size")}

    def training_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "backbone": settings.get("backbone", DEFAULT_BACKBONE),
            "image_size": settings["image_size"],
            "weights": settings.get("weights"),
        }

    def prepare_training(self, settings: Mapping[str, Any]) -> None:
        if settings.get("weights") is not None:
            from lens_search.training.models import resolve_weights

            resolve_weights(settings.get("backbone", DEFAULT_BACKBONE), settings["weights"])

    def lighter_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The plain ``cnn`` at 64 px for another backbone."""
        if settings.get("backbone", DEFAULT_BACKBONE) == CPU_BACKBONE:
            return {}
        return {"backbone": CPU_BACKBONE, "image_size": CPU_IMAGE_SIZE}

    def batch_fit(self, settings: Mapping[str, Any], space: SearchSpace) -> Any:
        """(backbone, image size, largest batch, the cnn's largest shape or None)."""
        backbone = settings.get("backbone", DEFAULT_BACKBONE)
        largest = space["batch_size"].largest()
        if largest is None:
            return None
        shape = {name: int(space[name].largest()) for name in shape_params(backbone)}
        return backbone, int(settings["image_size"]), int(largest), shape or None

    def simulate(self, folder: Path, **settings: Any) -> Path:
        from lens_search.data.simulate import simulate_classification

        return simulate_classification(folder, **settings)

    def planned_data(self, simulation: Mapping[str, Any], folder: Path, sample: int) -> PlannedData:
        from lens_search.data.simulate import (
            DEFAULT_TEST_FRACTION,
            DEFAULT_VAL_FRACTION,
            size_of_test_split,
        )

        per_class, size = int(simulation["per_class"]), int(simulation["size"])
        val = round(per_class * DEFAULT_VAL_FRACTION)
        test = size_of_test_split(per_class, DEFAULT_TEST_FRACTION)
        classes = len(CLASSES)
        return PlannedData(
            description=f"to be simulated into {folder}: {per_class} lenses per class at "
            f"{size} px ({classes * (per_class - val)} train, {classes * val} val, "
            f"{classes * test} test)",
            train=classes * (per_class - val),
            val=classes * val,
            to_simulate=classes * (per_class + test),
            sample={"per_class": sample, "size": size, "preset": simulation["preset"]},
            sample_images=classes * sample,
        )

    def layout_sizes(self, folder: Path) -> tuple[int, int, str]:
        from lens_search.data.layout import ALL, ClassificationLayout, find_layout

        layout = find_layout(folder)
        if not isinstance(layout, ClassificationLayout):
            raise LensSearchError(
                f"--data {folder}: a super-resolution data set, not one for {self.name}"
            )
        counts = {s: sum(len(f) for f in by.values()) for s, by in layout.files.items()}
        if ALL in counts:
            from lens_search.data.simulate import DEFAULT_VAL_FRACTION

            val = round(counts[ALL] * DEFAULT_VAL_FRACTION)
            return counts[ALL] - val, val, "images"
        return counts.get("train", 0), counts.get("val", 0), "images"

    def load_data(self, path: Path, settings: Mapping[str, Any]) -> Any:
        from lens_search.data.load import load_classification

        return load_classification(path, image_size=settings.get("image_size"))

    def load_test(self, path: Path, settings: Mapping[str, Any]) -> Any:
        from lens_search.data.load import load_classification_test

        return load_classification_test(path, image_size=settings.get("image_size"))

    def arrays(self, data: Any, split: str) -> tuple[Any, Any]:
        return getattr(data, f"x_{split}"), getattr(data, f"y_{split}")

    def random_data(self, train: int, val: int, settings: Mapping[str, Any], seed: int = 0) -> Any:
        from lens_search.data.load import ClassificationData

        rng = np.random.default_rng(seed)
        size = int(settings["image_size"])
        return ClassificationData(
            x_train=rng.random((train, size, size, 1), dtype=np.float32),
            y_train=np.arange(train) % len(CLASSES),
            x_val=rng.random((val, size, size, 1), dtype=np.float32),
            y_val=np.arange(val) % len(CLASSES),
            paths_train=(),
            paths_val=(),
        )

    def build_model(self, config: Mapping[str, Any], settings: Mapping[str, Any], data: Any) -> Any:
        from lens_search.training.models import build_classifier

        return build_classifier(
            config,  # type: ignore[arg-type]  # sampled from the classify space
            image_size=settings["image_size"],
            backbone=settings.get("backbone", DEFAULT_BACKBONE),
            num_classes=len(data.classes),
        )

    def evaluate(
        self, model: Any, inputs: Any, targets: Any, *, split: str, resamples: int, seed: int
    ) -> ClassifierEvaluation:
        return evaluate_classifier(
            model, inputs, targets, CLASSES, split=split, resamples=resamples, seed=seed
        )

    def owns_model(self, model: Any) -> bool:
        return str(model.name).startswith("classifier_")

    def model_settings(self, model: Any) -> dict[str, Any]:
        return {"image_size": int(model.input_shape[1])}

    def claims(self, root: Path) -> bool:
        from lens_search.data.layout import ClassificationLayout, find_layout

        try:
            return isinstance(find_layout(root), ClassificationLayout)
        except LensSearchError:
            return False

    def inputs(self, root: Path) -> list[tuple[Path, str]]:
        from lens_search.data.layout import find_classification, find_test_classes, has_test_split

        layout = find_classification(root)
        groups = [*layout.files.values()]
        if has_test_split(root):
            groups.append(find_test_classes(root).files)
        paths = [p for by_class in groups for group in by_class.values() for p in group]
        return [(p, p.relative_to(root).as_posix()) for p in paths]

    def predict(self, model: Any, inputs: list[tuple[Path, str]], out: Path) -> str:
        table = predict_classes(model, inputs)
        table.to_csv(out / PREDICTIONS_FILE, index=False)
        counts = table["predicted"].value_counts().to_dict()
        return f"{len(table)} images classified: " + ", ".join(
            f"{c} {counts.get(c, 0)}" for c in CLASSES
        )


def _for_backbone(
    space: SearchSpace,
    overrides: dict[str, Any],
    space_file: str | Path | None,
    backbone: str | None,
) -> SearchSpace:
    """``space`` without the parameters of backbones other than ``backbone``, with that
    backbone's own defaults (``spaces.classify.BACKBONE_DEFAULTS``) where ``overrides`` leave
    the parameter alone."""
    chosen = backbone_name(backbone or DEFAULT_BACKBONE)
    others = other_backbone_params(chosen)
    refused = sorted(others & set(overrides))
    if refused:
        raise LensSearchError(
            f"space overrides file {space_file}: {', '.join(refused)} only apply to another "
            f"backbone than {chosen}; remove them or pass that --backbone"
        )
    kept = tuple(param for param in space.params if param.name not in others)
    own = {k: v for k, v in BACKBONE_DEFAULTS.get(chosen, {}).items() if k not in overrides}
    return SearchSpace(space.name, kept).with_overrides({k: {"default": v} for k, v in own.items()})


CLASSIFY = register(ClassifyTask())

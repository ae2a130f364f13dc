"""Train one lens classifier and report validation AUCs after every epoch.

``data`` is a ``trainables.contracts.ClassificationSplits`` (``lensing.load.ClassificationData``;
any object with ``x_train, x_val`` (float32 (N, H, W, 1) in [0, 1]), ``y_train, y_val`` (int
class indices) and optionally ``classes`` (default ``lensing.layout.CLASSES``) trains the same);
``config`` is a ``ClassifierConfig``, the parameters of ``spaces.CLASSIFY_SPACE``.
Checkpoints, resume, ``on_epoch`` and the test-only failure switch are described in
``trainables.loop``.

After every training epoch, before validation, the backbone's batch-norm moving statistics are
recomputed from un-augmented training images (``recalibrate_classifier``); the checkpoint holds
the recomputed statistics, so a reloaded model predicts as it was validated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Unpack

import keras
import numpy as np

from lens_search.data.layout import CLASSES
from lens_search.data.pixels import resize_image
from lens_search.training.backbones import DEFAULT_BACKBONE
from lens_search.training.contracts import ClassificationSplits, ClassifierConfig
from lens_search.training.loop import (
    BatchNormCalibrator,
    EpochRun,
    ShuffledBatches,
    predict_in_batches,
    run_epochs,
)
from lens_search.training.metrics import accuracy, cross_entropy, macro_auc, per_class_auc
from lens_search.training.models import backbone_inputs, build_classifier, classifier_backbone
from lens_search.training.runtime import prepare_backend

PREDICT_BATCH = 64
CALIBRATION_IMAGES = 512
"""Images whose batch statistics recalibrate the batch norms after each epoch (why 512 and not
more: bench/RESULTS.md)."""


def recalibrate_classifier(
    model: keras.Model,
    x_train: np.ndarray,
    *,
    batch_size: int,
    seed: int,
    calibrator: BatchNormCalibrator | None = None,
) -> int:
    """Precise batch-norm statistics for ``model``'s backbone from un-augmented training images.

    Uses a seeded subset of up to ``CALIBRATION_IMAGES`` training images in full batches of
    ``batch_size`` (``trainables.loop.BatchNormCalibrator``; pass the same ``calibrator`` on
    every call of a training run so its forward pass compiles once); returns the number of
    batch norm layers set. Without it, a small_cnn retrained for 10 epochs on the default data
    predicted one class for every validation image (accuracy 0.33) while ranking them fairly
    (AUC 0.64), because the moving means of its last block had drifted from the images' own.
    """
    count = min(len(x_train), CALIBRATION_IMAGES)
    batch_size = min(int(batch_size), count)
    rows = np.sort(np.random.default_rng([seed, 1]).permutation(len(x_train))[:count])
    rows = rows[: count // batch_size * batch_size]
    batches = (
        backbone_inputs(model, x_train[rows[i : i + batch_size]])
        for i in range(0, len(rows), batch_size)
    )
    if calibrator is None:
        calibrator = BatchNormCalibrator(classifier_backbone(model))
    return calibrator(batches)


def at_size(x: np.ndarray, image_size: int) -> np.ndarray:
    """Float32 (N, S, S, C) images ``x`` at ``image_size``, resized by ``lensing.pixels``.

    Data loaded with ``image_size`` (as the search and retraining load it) is already that size
    and is returned as it is; other data is resized as prediction resizes its inputs.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.shape[1:3] == (image_size, image_size):
        return x
    return np.stack([resize_image(image, image_size) for image in x])


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, classes: Sequence[str]
) -> dict[str, float]:
    """Validation metrics of predicted probabilities; a diverged model (NaN) scores as chance."""
    probs = np.asarray(probs, dtype=np.float64)
    if not np.isfinite(probs).all():
        probs = np.where(np.isfinite(probs).all(axis=1, keepdims=True), probs, 1.0 / len(classes))
    metrics = {"val_auc": macro_auc(y_true, probs)}
    metrics.update(
        {f"val_auc_{name}": auc for name, auc in per_class_auc(y_true, probs, classes).items()}
    )
    metrics["val_loss"] = cross_entropy(y_true, probs)
    metrics["val_accuracy"] = accuracy(y_true, probs)
    return metrics


def train_classifier(
    config: ClassifierConfig,
    data: ClassificationSplits,
    *,
    backbone: str = DEFAULT_BACKBONE,
    image_size: int = 128,
    weights: str | Path | None = None,
    seed: int = 0,
    **run: Unpack[EpochRun],
) -> list[dict[str, Any]]:
    """Train for ``epochs`` epochs in all (resumed ones included); return one metrics dict each.

    ``run``: ``epochs`` and the loop's other options (``trainables.loop.EpochRun``).

    Metrics: ``epoch, val_auc, val_auc_<class>..., val_loss, val_accuracy, loss, epoch_seconds``.
    """
    prepare_backend(seed)
    classes = tuple(getattr(data, "classes", CLASSES))
    x_train = at_size(data.x_train, image_size)
    x_val = at_size(data.x_val, image_size)
    y_train = np.asarray(data.y_train, dtype=np.int64)
    y_val = np.asarray(data.y_val, dtype=np.int64)
    model = build_classifier(
        config,
        image_size=image_size,
        backbone=backbone,
        weights=None if run.get("resume_from") is not None else weights,
        num_classes=len(classes),
    )

    calibrator = BatchNormCalibrator(classifier_backbone(model))

    def batches(epoch: int) -> ShuffledBatches:
        return ShuffledBatches(
            x_train, y_train, batch_size=int(config["batch_size"]), seed=seed, epoch=epoch
        )

    def evaluate() -> dict[str, float]:
        recalibrate_classifier(
            model, x_train, batch_size=int(config["batch_size"]), seed=seed, calibrator=calibrator
        )
        probs = predict_in_batches(model, x_val, PREDICT_BATCH)
        return classification_metrics(y_val, probs, classes)

    return run_epochs(model, batches=batches, evaluate=evaluate, **run)

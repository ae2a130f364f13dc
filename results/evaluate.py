"""Held-out evaluation of a trained model with the project's one set of metric functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from trainables.classify import PREDICT_BATCH, classification_metrics
from trainables.loop import predict_in_batches
from trainables.metrics import mse, psnr, ssim
from trainables.models import bicubic_upsample
from trainables.superres import predict_hr


@dataclass(frozen=True)
class ClassifierEvaluation:
    """Validation metrics (training's names), the confusion matrix and the probabilities."""

    metrics: dict[str, float]
    confusion: np.ndarray
    classes: tuple[str, ...]
    y_true: np.ndarray
    probs: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "classes": list(self.classes),
            "confusion_matrix": self.confusion.tolist(),
            "confusion_matrix_axes": "rows: true class, columns: predicted class",
        }


@dataclass(frozen=True)
class SuperResEvaluation:
    """Model and bicubic PSNR/SSIM/MSE on the same validation images, and the images."""

    metrics: dict[str, float]
    lr: np.ndarray
    bicubic: np.ndarray
    pred: np.ndarray
    hr: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {"metrics": self.metrics}


def evaluate_classifier(
    model: Any, x_val: np.ndarray, y_val: np.ndarray, classes: tuple[str, ...]
) -> ClassifierEvaluation:
    """Macro and per-class AUC, accuracy, loss and confusion matrix on ``(x_val, y_val)``."""
    probs = predict_in_batches(model, np.asarray(x_val, np.float32), PREDICT_BATCH)
    probs = np.asarray(probs, dtype=np.float64)
    y_val = np.asarray(y_val, dtype=np.int64)
    metrics = classification_metrics(y_val, probs, classes)
    matrix = confusion_matrix(y_val, probs.argmax(axis=1), labels=list(range(len(classes))))
    return ClassifierEvaluation(metrics, matrix, tuple(classes), y_val, probs)


def evaluate_superres(model: Any, lr_val: np.ndarray, hr_val: np.ndarray) -> SuperResEvaluation:
    """PSNR, SSIM and MSE of the model and of bicubic upsampling on the same images."""
    pred = predict_hr(model, lr_val)
    bicubic = np.clip(bicubic_upsample(lr_val), 0.0, 1.0)
    metrics = {
        "val_psnr": psnr(pred, hr_val),
        "val_ssim": ssim(pred, hr_val),
        "val_mse": mse(pred, hr_val),
        "bicubic_psnr": psnr(bicubic, hr_val),
        "bicubic_ssim": ssim(bicubic, hr_val),
        "bicubic_mse": mse(bicubic, hr_val),
    }
    return SuperResEvaluation(metrics, np.asarray(lr_val), bicubic, pred, np.asarray(hr_val))

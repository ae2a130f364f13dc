"""How one trial trains and what it reports: Keras 3 models, metrics, checkpoints, the Tune wrapper.

Importing this package imports Keras (and so TensorFlow); Ray is imported only by
``make_tune_trainable``.
"""

from __future__ import annotations

from trainables.classify import CLASSES, classification_metrics, resize_images, train_classifier
from trainables.loop import STATE_FILE, WEIGHTS_FILE, load_checkpoint, read_state
from trainables.metrics import accuracy, cross_entropy, macro_auc, mse, per_class_auc, psnr, ssim
from trainables.models import (
    BACKBONES,
    MIN_IMAGE_SIZE,
    bicubic_upsample,
    build_classifier,
    build_superres,
)
from trainables.runtime import prepare_backend
from trainables.superres import bicubic_baseline, predict_hr, train_superres
from trainables.tune import TASKS, make_tune_trainable

__all__ = [
    "BACKBONES",
    "CLASSES",
    "MIN_IMAGE_SIZE",
    "STATE_FILE",
    "TASKS",
    "WEIGHTS_FILE",
    "accuracy",
    "bicubic_baseline",
    "bicubic_upsample",
    "build_classifier",
    "build_superres",
    "classification_metrics",
    "cross_entropy",
    "load_checkpoint",
    "macro_auc",
    "make_tune_trainable",
    "mse",
    "per_class_auc",
    "predict_hr",
    "prepare_backend",
    "psnr",
    "read_state",
    "resize_images",
    "ssim",
    "train_classifier",
    "train_superres",
]

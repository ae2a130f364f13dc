"""How one trial trains and what it reports: Keras 3 models, metrics, checkpoints, the Tune wrapper.

Names are imported on first use: ``import trainables`` loads neither Keras (and so TensorFlow) nor
Ray, so command lines can validate their flags and fail fast without them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "BACKBONES": "trainables.backbones",
    "MIN_IMAGE_SIZE": "trainables.backbones",
    "CLASSES": "trainables.classify",
    "classification_metrics": "trainables.classify",
    "resize_images": "trainables.classify",
    "train_classifier": "trainables.classify",
    "STATE_FILE": "trainables.loop",
    "WEIGHTS_FILE": "trainables.loop",
    "load_checkpoint": "trainables.loop",
    "read_state": "trainables.loop",
    "accuracy": "trainables.metrics",
    "cross_entropy": "trainables.metrics",
    "macro_auc": "trainables.metrics",
    "mse": "trainables.metrics",
    "per_class_auc": "trainables.metrics",
    "psnr": "trainables.metrics",
    "ssim": "trainables.metrics",
    "bicubic_upsample": "trainables.models",
    "build_classifier": "trainables.models",
    "build_superres": "trainables.models",
    "prepare_backend": "trainables.runtime",
    "bicubic_baseline": "trainables.superres",
    "predict_hr": "trainables.superres",
    "train_superres": "trainables.superres",
    "TASKS": "trainables.tune",
    "make_tune_trainable": "trainables.tune",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'trainables' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return __all__

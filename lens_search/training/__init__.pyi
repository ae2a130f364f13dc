from .backbones import BACKBONES, MIN_IMAGE_SIZE
from .classify import classification_metrics, train_classifier
from .contracts import ClassificationSplits, ClassifierConfig, SuperResConfig, SuperResSplits
from .loop import STATE_FILE, WEIGHTS_FILE, Patience, load_checkpoint, read_state
from .metrics import (
    accuracy,
    binary_auc,
    cross_entropy,
    macro_auc,
    mean_auc,
    mse,
    per_class_auc,
    psnr,
    ssim,
)
from .models import bicubic_upsample, build_classifier, build_superres
from .runtime import prepare_backend
from .superres import bicubic_baseline, predict_hr, train_superres
from .tune import TRAINERS, make_tune_trainable

__all__ = [
    "BACKBONES",
    "ClassificationSplits",
    "ClassifierConfig",
    "MIN_IMAGE_SIZE",
    "Patience",
    "STATE_FILE",
    "SuperResConfig",
    "SuperResSplits",
    "TRAINERS",
    "WEIGHTS_FILE",
    "accuracy",
    "bicubic_baseline",
    "bicubic_upsample",
    "binary_auc",
    "build_classifier",
    "build_superres",
    "classification_metrics",
    "cross_entropy",
    "load_checkpoint",
    "macro_auc",
    "make_tune_trainable",
    "mean_auc",
    "mse",
    "per_class_auc",
    "predict_hr",
    "prepare_backend",
    "psnr",
    "read_state",
    "ssim",
    "train_classifier",
    "train_superres",
]

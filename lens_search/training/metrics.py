"""The one implementation of every metric: training, retraining and reports all call these.

Numpy arrays in, Python floats out. Images are in [0, 1] (``data_range=1``), shaped (N, H, W) or
(N, H, W, 1); image metrics are means over the N images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata
from skimage.metrics import structural_similarity
from sklearn.metrics import roc_auc_score

DATA_RANGE = 1.0
_EPS = 1e-7  # same clipping as Keras' cross-entropy


def per_class_auc(
    y_true: np.ndarray, probs: np.ndarray, classes: Sequence[str]
) -> dict[str, float]:
    """One-vs-rest ROC AUC of each class; NaN for a class absent (or alone) in ``y_true``."""
    y_true = np.asarray(y_true).astype(int).ravel()
    probs = np.asarray(probs, dtype=np.float64)
    result = {}
    for index, name in enumerate(classes):
        positive = y_true == index
        if positive.all() or not positive.any():
            result[name] = float("nan")
        else:
            result[name] = binary_auc(positive, probs[:, index])
    return result


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` for the boolean labels ``positive`` (both kinds present).

    The Mann-Whitney form, ties counted as half, which is the area ``roc_auc_score`` integrates;
    without sklearn's input checks, so that a bootstrap can afford it a thousand times.
    """
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    ranks = rankdata(np.asarray(scores, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def macro_auc(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Macro one-vs-rest ROC AUC (sklearn's ``roc_auc_score(..., multi_class="ovr")``).

    With a class missing from ``y_true`` the mean runs over the classes present (NaN if none).
    """
    y_true = np.asarray(y_true).astype(int).ravel()
    probs = np.asarray(probs, dtype=np.float64)
    n_classes = probs.shape[1]
    if len(np.unique(y_true)) == n_classes:
        if n_classes == 2:
            return float(roc_auc_score(y_true, probs[:, 1]))
        return float(
            roc_auc_score(
                y_true, probs, multi_class="ovr", average="macro", labels=list(range(n_classes))
            )
        )
    return mean_auc(per_class_auc(y_true, probs, [str(i) for i in range(n_classes)]))


def mean_auc(per_class: dict[str, float]) -> float:
    """The macro AUC from ``per_class_auc``'s values: their mean over the classes present.

    With every class present this is ``macro_auc`` (sklearn's macro one-vs-rest is that mean),
    without a second pass over the images.
    """
    aucs = [a for a in per_class.values() if not np.isnan(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def cross_entropy(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean categorical cross-entropy of class indices under predicted probabilities."""
    y_true = np.asarray(y_true).astype(int).ravel()
    probs = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1.0 - _EPS)
    return float(-np.mean(np.log(probs[np.arange(len(y_true)), y_true])))


def accuracy(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Fraction of images whose most probable class is the true one."""
    y_true = np.asarray(y_true).astype(int).ravel()
    return float(np.mean(np.argmax(probs, axis=1) == y_true))


def _images(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ValueError(f"expected images (N, H, W[, 1]), got shape {array.shape}")
    return array


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error over all pixels of all images."""
    return float(np.mean((_images(pred) - _images(target)) ** 2))


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean over images of skimage's ``peak_signal_noise_ratio(target, pred, data_range=1)``."""
    pred, target = _images(pred), _images(target)
    per_image = np.mean((pred - target) ** 2, axis=(1, 2))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(DATA_RANGE**2 / per_image)
    return float(np.mean(values))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean over images of ``skimage.metrics.structural_similarity(..., data_range=1)``."""
    pred, target = _images(pred), _images(target)
    pairs = zip(pred, target, strict=True)
    return float(np.mean([structural_similarity(t, p, data_range=DATA_RANGE) for p, t in pairs]))

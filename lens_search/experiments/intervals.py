"""Bootstrap 95 % intervals of the project's metrics (``trainables.metrics``, the one set).

Each resample draws the evaluated images again with replacement (seeded; for classification
within each class, so every resample keeps every class and its count) and recomputes the metric
with the same function that scored the whole set; the interval is the 2.5th and 97.5th
percentile of those values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lens_search.training.metrics import accuracy, mean_auc, per_class_auc

N_RESAMPLES = 1000
CONFIDENCE = 0.95
Interval = tuple[float, float]


def resample_indices(groups: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, N) indices drawn with replacement within each value of ``groups``."""
    groups = np.asarray(groups).ravel()
    rng = np.random.default_rng(seed)
    draws = np.empty((n_resamples, len(groups)), dtype=np.int64)
    for value in np.unique(groups):
        members = np.flatnonzero(groups == value)
        draws[:, members] = rng.choice(members, size=(n_resamples, len(members)))
    return draws


def percentile_interval(values: Sequence[float] | np.ndarray) -> Interval:
    """The central ``CONFIDENCE`` range of ``values`` (NaN values left out; NaN if all are)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return (float("nan"), float("nan"))
    tail = 100.0 * (1.0 - CONFIDENCE) / 2.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return (float(low), float(high))


def bootstrap(
    statistic: Callable[[np.ndarray], dict[str, float]],
    groups: np.ndarray,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> dict[str, Interval]:
    """Interval of each value ``statistic(indices)`` returns, over seeded resamples of indices."""
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    values: dict[str, list[float]] = {}
    for indices in resample_indices(groups, n_resamples, seed):
        for name, value in statistic(indices).items():
            values.setdefault(name, []).append(value)
    return {name: percentile_interval(column) for name, column in values.items()}


def classification_intervals(
    y_true: np.ndarray,
    probs: np.ndarray,
    classes: Sequence[str],
    prefix: str,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> dict[str, Interval]:
    """Intervals of ``{prefix}_auc`` (macro), ``{prefix}_auc_<class>`` and ``{prefix}_accuracy``,
    resampling within each class."""
    y_true = np.asarray(y_true).astype(int).ravel()
    probs = np.asarray(probs, dtype=np.float64)

    def statistic(indices: np.ndarray) -> dict[str, float]:
        y, p = y_true[indices], probs[indices]
        per_class = per_class_auc(y, p, classes)
        return {
            f"{prefix}_auc": mean_auc(per_class),  # macro_auc: every class is in a resample
            **{f"{prefix}_auc_{name}": auc for name, auc in per_class.items()},
            f"{prefix}_accuracy": accuracy(y, p),
        }

    return bootstrap(statistic, y_true, n_resamples, seed)


def mean_intervals(
    per_image: dict[str, np.ndarray], n_resamples: int = N_RESAMPLES, seed: int = 0
) -> dict[str, Interval]:
    """Intervals of metrics that are means over images, from each image's own value.

    ``per_image[name][i]`` is the metric of image ``i`` alone; the mean over a resample is then
    exactly the metric of the resampled images (``psnr``, ``ssim``, ``mse`` are such means), at
    the cost of one evaluation per image instead of one per image and resample.
    """
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in per_image.items()}
    count = len(next(iter(columns.values())))

    def statistic(indices: np.ndarray) -> dict[str, float]:
        return {name: float(np.mean(values[indices])) for name, values in columns.items()}

    return bootstrap(statistic, np.zeros(count), n_resamples, seed)

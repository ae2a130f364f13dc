"""Bootstrap intervals: seeded, stratified by class, around the metric the one function gives."""

from __future__ import annotations

import numpy as np
import pytest

from lens_search.experiments.intervals import (
    classification_intervals,
    mean_intervals,
    percentile_interval,
    resample_indices,
)
from lens_search.training.metrics import macro_auc, per_class_auc, psnr

CLASSES = ("no", "sphere", "vort")


def scored(n_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    logits = rng.normal(size=(len(y), 3))
    logits[np.arange(len(y)), y] += 1.5
    return y, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_resamples_keep_every_class_and_its_count() -> None:
    y = np.array([0] * 5 + [1] * 3 + [2] * 2)
    draws = resample_indices(y, 200, seed=1)
    assert draws.shape == (200, 10)
    assert all(np.bincount(y[row], minlength=3).tolist() == [5, 3, 2] for row in draws)
    assert len({tuple(row) for row in draws}) > 150  # with replacement, not a permutation
    np.testing.assert_array_equal(draws, resample_indices(y, 200, seed=1))


def test_classification_intervals_hold_the_point_estimate_and_shrink_with_data() -> None:
    y, probs = scored(100)
    intervals = classification_intervals(y, probs, CLASSES, "test", n_resamples=300)
    assert set(intervals) == {
        "test_auc", "test_auc_no", "test_auc_sphere", "test_auc_vort", "test_accuracy",
    }  # fmt: skip
    point = {"test_auc": macro_auc(y, probs)} | {
        f"test_auc_{c}": v for c, v in per_class_auc(y, probs, CLASSES).items()
    }
    for name, value in point.items():
        low, high = intervals[name]
        assert low < value < high and high - low < 0.2, name
    big_y, big_probs = scored(1000)
    wide = np.diff(intervals["test_auc"])[0]
    narrow = np.diff(classification_intervals(big_y, big_probs, CLASSES, "t", 300)["t_auc"])[0]
    assert narrow < wide / 2  # ~1/sqrt(10) as wide
    again = classification_intervals(y, probs, CLASSES, "test", n_resamples=300)
    assert again == intervals  # seeded


def test_mean_intervals_are_the_metric_of_resampled_images() -> None:
    rng = np.random.default_rng(3)
    hr = rng.random((12, 8, 8))
    pred = np.clip(hr + rng.normal(0, 0.05, hr.shape), 0, 1)
    per_image = np.array([psnr(pred[i : i + 1], hr[i : i + 1]) for i in range(12)])
    assert per_image.mean() == pytest.approx(psnr(pred, hr))
    (low, high) = mean_intervals({"psnr": per_image}, n_resamples=500, seed=4)["psnr"]
    draws = resample_indices(np.zeros(12), 500, seed=4)
    direct = [psnr(pred[row], hr[row]) for row in draws]  # the metric on each resample
    assert (low, high) == pytest.approx(percentile_interval(direct), rel=1e-12)
    assert low < psnr(pred, hr) < high


def test_percentile_interval_skips_nan() -> None:
    values = np.r_[np.arange(101.0), np.nan]
    assert percentile_interval(values) == pytest.approx((2.5, 97.5))
    assert np.isnan(percentile_interval([np.nan])[0])

"""trainables.metrics against independent computations (sklearn, skimage)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn.metrics import log_loss, roc_auc_score

from lens_search.training.metrics import (
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


def random_probs(rng: np.random.Generator, n: int, k: int = 3) -> np.ndarray:
    logits = rng.normal(size=(n, k))
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_auc_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    probs = random_probs(rng, 60)
    probs[np.arange(60), y] += 0.3 * rng.random(60)
    probs /= probs.sum(axis=1, keepdims=True)
    expected = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert macro_auc(y, probs) == pytest.approx(expected, abs=1e-12)
    per_class = per_class_auc(y, probs, ("no", "sphere", "vort"))
    for index, name in enumerate(("no", "sphere", "vort")):
        assert per_class[name] == pytest.approx(roc_auc_score(y == index, probs[:, index]))
    assert np.mean(list(per_class.values())) == pytest.approx(expected)


def test_binary_auc_is_sklearns_area_ties_included() -> None:
    rng = np.random.default_rng(2)
    for decimals in (1, 2, 6):  # coarse scores: many ties, counted as half by both
        y = rng.integers(0, 2, 300).astype(bool)
        scores = np.round(rng.random(300) + 0.2 * y, decimals)
        assert binary_auc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    y = rng.integers(0, 3, 90)
    probs = random_probs(rng, 90)
    expected = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    assert mean_auc(per_class_auc(y, probs, "abc")) == pytest.approx(expected, abs=1e-12)


def test_auc_with_a_missing_class_uses_the_present_ones() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 40)
    probs = random_probs(rng, 40)
    per_class = per_class_auc(y, probs, ("a", "b", "c"))
    assert np.isnan(per_class["c"])
    assert macro_auc(y, probs) == pytest.approx(np.mean([per_class["a"], per_class["b"]]))


def test_loss_and_accuracy_match_independent_computations() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 50)
    probs = random_probs(rng, 50)
    assert cross_entropy(y, probs) == pytest.approx(log_loss(y, probs, labels=[0, 1, 2]))
    assert accuracy(y, probs) == pytest.approx(np.mean(probs.argmax(axis=1) == y))


def test_image_metrics_match_skimage() -> None:
    rng = np.random.default_rng(3)
    target = rng.random((5, 24, 24, 1)).astype(np.float32)
    pred = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1).astype(np.float32)
    pairs = list(
        zip(pred[..., 0].astype(np.float64), target[..., 0].astype(np.float64), strict=True)
    )
    expected_psnr = np.mean([peak_signal_noise_ratio(t, p, data_range=1) for p, t in pairs])
    expected_ssim = np.mean([structural_similarity(t, p, data_range=1) for p, t in pairs])
    assert psnr(pred, target) == pytest.approx(expected_psnr, rel=1e-9)
    assert ssim(pred, target) == pytest.approx(expected_ssim, rel=1e-9)
    assert mse(pred, target) == pytest.approx(np.mean((pred.astype(np.float64) - target) ** 2))
    assert psnr(pred[..., 0], target[..., 0]) == pytest.approx(expected_psnr)
    assert ssim(target, target) == pytest.approx(1.0)

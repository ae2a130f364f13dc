"""train_superres on tiny synthetic LR/HR pairs: metrics vs skimage, paired augmentation, resume,
also after a failure injected by the test harness (``tests.harness.failures``)."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lens_search.spaces import SUPERRES_SPACE
from lens_search.training.loop import STATE_FILE, WEIGHTS_FILE
from lens_search.training.models import bicubic_upsample, build_superres
from lens_search.training.superres import augment_pairs, train_superres
from tests.harness.failures import FAIL_MARKER, FailureSwitch, failing_on_epoch

KEYS = {
    "epoch",
    "val_psnr",
    "val_ssim",
    "val_mse",
    "bicubic_psnr",
    "bicubic_ssim",
    "loss",
    "epoch_seconds",
}
CONFIG = {
    **SUPERRES_SPACE.defaults(),
    "num_layers": 2,
    "filters_1": 16,
    "filters_2": 16,
    "batch_size": 8,
    "translation": 0.1,
}


def downsample(hr: np.ndarray) -> np.ndarray:
    n, h, w, c = hr.shape
    return hr.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def pairs(n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """HR: a few Gaussian arcs/blobs; LR: the 2x2 mean of HR plus noise."""
    yy, xx = np.mgrid[:size, :size] / size
    hr = np.zeros((n, size, size, 1), np.float32)
    for i in range(n):
        for _ in range(3):
            cy, cx, w = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.03, 0.15)
            hr[i, ..., 0] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * w**2))
    hr = np.clip(hr / hr.max(axis=(1, 2, 3), keepdims=True), 0, 1)
    lr = np.clip(downsample(hr) + rng.normal(0, 0.01, (n, size // 2, size // 2, 1)), 0, 1)
    return lr.astype(np.float32), hr


@pytest.fixture(scope="module")
def data() -> types.SimpleNamespace:
    rng = np.random.default_rng(0)
    lr, hr = pairs(40, 32, rng)
    return types.SimpleNamespace(lr_train=lr[:32], hr_train=hr[:32], lr_val=lr[32:], hr_val=hr[32:])


def skimage_mean(metric, pred: np.ndarray, target: np.ndarray) -> float:
    return float(
        np.mean(
            [
                metric(t[..., 0].astype(np.float64), p[..., 0].astype(np.float64), data_range=1)
                for p, t in zip(pred, target, strict=True)
            ]
        )
    )


def test_two_epochs_metrics_match_skimage(data, tmp_path: Path) -> None:
    history = train_superres(CONFIG, data, epochs=2, checkpoint_dir=tmp_path)
    assert [m["epoch"] for m in history] == [1, 2]
    assert all(set(m) == KEYS for m in history)
    model = build_superres(CONFIG)
    model.load_weights(str(tmp_path / WEIGHTS_FILE))
    pred = np.clip(model.predict(data.lr_val, verbose=0), 0, 1)
    last = history[-1]
    assert last["val_psnr"] == pytest.approx(
        skimage_mean(peak_signal_noise_ratio, pred, data.hr_val), abs=1e-6
    )
    assert last["val_ssim"] == pytest.approx(
        skimage_mean(structural_similarity, pred, data.hr_val), abs=1e-6
    )
    bicubic = np.clip(bicubic_upsample(data.lr_val), 0, 1)
    assert last["bicubic_psnr"] == pytest.approx(
        skimage_mean(peak_signal_noise_ratio, bicubic, data.hr_val)
    )
    assert history[0]["bicubic_ssim"] == last["bicubic_ssim"]
    assert np.isfinite(last["loss"]) and last["val_mse"] > 0


def test_augmentation_is_identical_on_lr_and_hr() -> None:
    rng = np.random.default_rng(1)
    hr = rng.random((16, 16, 16, 1)).astype(np.float32)
    lr = downsample(hr)
    augment = augment_pairs({"flip": True, "rot90": True, "translation": 0.25})
    lr_aug, hr_aug = augment(lr, hr, np.random.default_rng(2))
    np.testing.assert_allclose(downsample(hr_aug), lr_aug, atol=1e-6)
    assert not np.allclose(lr_aug, lr)
    assert augment_pairs({"flip": False, "rot90": False, "translation": 0.0}) is None


def test_injected_failure_once_then_resume(data, tmp_path: Path) -> None:
    switch = FailureSwitch(fail_at=1, once=True)
    reported = []
    with pytest.raises(RuntimeError, match="injected failure at epoch 1"):
        train_superres(
            CONFIG,
            data,
            epochs=3,
            checkpoint_dir=tmp_path / "a",
            on_epoch=failing_on_epoch(switch, lambda m, d: reported.append(m["epoch"])),
        )
    assert reported == [1] and (tmp_path / "a" / FAIL_MARKER).exists()
    first = json.loads((tmp_path / "a" / STATE_FILE).read_text())
    assert first["epochs_done"] == 1
    history = train_superres(
        CONFIG,
        data,
        epochs=3,
        checkpoint_dir=tmp_path / "b",
        resume_from=tmp_path / "a",
        on_epoch=failing_on_epoch(switch, resume_from=tmp_path / "a"),
    )
    assert [m["epoch"] for m in history] == [1, 2, 3]
    assert history[0] == first["history"][0]
    assert json.loads((tmp_path / "b" / STATE_FILE).read_text())["epochs_done"] == 3
    assert (tmp_path / "b" / FAIL_MARKER).exists()


def test_injected_failure_without_once_leaves_no_marker(data, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="injected failure at epoch 1"):
        train_superres(
            CONFIG,
            data,
            epochs=3,
            checkpoint_dir=tmp_path,
            on_epoch=failing_on_epoch(FailureSwitch(fail_at=1)),
        )
    assert not (tmp_path / FAIL_MARKER).exists()

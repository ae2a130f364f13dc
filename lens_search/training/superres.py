"""Train one x2 super-resolution model and report PSNR/SSIM/MSE after every epoch.

``data`` is a ``trainables.contracts.SuperResSplits`` (``lensing.load.SuperResData``; any
object with ``lr_train, lr_val`` (float32 (N, h, w, 1)) and ``hr_train, hr_val`` (float32
(N, 2h, 2w, 1)), all in [0, 1], trains the same); ``config`` is a ``SuperResConfig``.
Augmentation (flip, rot90, translation) is done in numpy per batch, identically on each LR/HR
pair. Checkpoints, resume, ``on_epoch`` and the test-only failure switch are described in
``trainables.loop``.
"""

from __future__ import annotations

from typing import Any, Unpack

import keras
import numpy as np

from lens_search.training.contracts import SuperResConfig, SuperResSplits
from lens_search.training.loop import (
    Augment,
    EpochRun,
    ShuffledBatches,
    predict_in_batches,
    run_epochs,
)
from lens_search.training.metrics import mse, psnr, ssim
from lens_search.training.models import bicubic_upsample, build_superres
from lens_search.training.runtime import prepare_backend

PREDICT_BATCH = 32


def augment_pairs(config: SuperResConfig) -> Augment | None:
    """Per-pair random flips, quarter turns and shifts, the same on LR and its HR (or None)."""
    flip, rot90 = bool(config.get("flip", False)), bool(config.get("rot90", False))
    translation = float(config.get("translation", 0.0))
    if not (flip or rot90 or translation > 0):
        return None

    def augment(
        lr: np.ndarray, hr: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        lr, hr = lr.copy(), hr.copy()
        square = lr.shape[1] == lr.shape[2]
        max_shift = int(round(translation * min(lr.shape[1:3])))
        for i in range(len(lr)):
            a, b = lr[i], hr[i]
            if flip and rng.random() < 0.5:
                a, b = a[:, ::-1], b[:, ::-1]
            if flip and rng.random() < 0.5:
                a, b = a[::-1], b[::-1]
            if rot90:
                k = int(rng.integers(0, 4)) if square else 2 * int(rng.integers(0, 2))
                a, b = np.rot90(a, k), np.rot90(b, k)
            if max_shift:
                dy, dx = (int(s) for s in rng.integers(-max_shift, max_shift + 1, size=2))
                a, b = np.roll(a, (dy, dx), axis=(0, 1)), np.roll(b, (2 * dy, 2 * dx), axis=(0, 1))
            lr[i], hr[i] = a, b
        return lr, hr

    return augment


def predict_hr(model: keras.Model, lr: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
    """The model's HR images for ``lr``, clipped to [0, 1] (non-finite values become 0)."""
    hr = predict_in_batches(model, np.asarray(lr, dtype=np.float32), batch_size)
    return np.clip(np.nan_to_num(hr, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def bicubic_baseline(lr: np.ndarray, hr: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM of plain bicubic upsampling on the same images."""
    up = np.clip(bicubic_upsample(lr), 0.0, 1.0)
    return {"bicubic_psnr": psnr(up, hr), "bicubic_ssim": ssim(up, hr)}


def train_superres(
    config: SuperResConfig,
    data: SuperResSplits,
    *,
    seed: int = 0,
    **run: Unpack[EpochRun],
) -> list[dict[str, Any]]:
    """Train for ``epochs`` epochs in all (resumed ones included); return one metrics dict each.

    ``run``: ``epochs`` and the loop's other options (``trainables.loop.EpochRun``).

    Metrics: ``epoch, val_psnr, val_ssim, val_mse, bicubic_psnr, bicubic_ssim, loss,
    epoch_seconds``.
    """
    prepare_backend(seed)
    lr_train = np.asarray(data.lr_train, dtype=np.float32)
    hr_train = np.asarray(data.hr_train, dtype=np.float32)
    lr_val = np.asarray(data.lr_val, dtype=np.float32)
    hr_val = np.asarray(data.hr_val, dtype=np.float32)
    model = build_superres(config, lr_size=lr_train.shape[1:3])
    augment = augment_pairs(config)
    baseline = bicubic_baseline(lr_val, hr_val)

    def batches(epoch: int) -> ShuffledBatches:
        return ShuffledBatches(
            lr_train,
            hr_train,
            batch_size=int(config["batch_size"]),
            seed=seed,
            epoch=epoch,
            augment=augment,
        )

    def evaluate() -> dict[str, float]:
        pred = predict_hr(model, lr_val)
        return {
            "val_psnr": psnr(pred, hr_val),
            "val_ssim": ssim(pred, hr_val),
            "val_mse": mse(pred, hr_val),
            **baseline,
        }

    return run_epochs(model, batches=batches, evaluate=evaluate, **run)

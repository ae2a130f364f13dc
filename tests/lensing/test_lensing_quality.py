"""What the data are good for: bicubic leaves room for SR; ``varied`` hides linear cues."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from skimage.transform import resize
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from lens_search.data.load import load_classification, load_superres
from lens_search.data.simulate import simulate_classification, simulate_superres


def bicubic_scores(lr: np.ndarray, hr: np.ndarray) -> tuple[float, float]:
    """Mean PSNR and SSIM (data range 1) of bicubic x2 upsampling against HR."""
    psnrs, ssims = [], []
    for low, high in zip(lr[..., 0], hr[..., 0], strict=True):
        up = np.clip(resize(low, high.shape, order=3, mode="edge", anti_aliasing=False), 0, 1)
        psnrs.append(peak_signal_noise_ratio(high, up, data_range=1.0))
        ssims.append(structural_similarity(high, up, data_range=1.0))
    return float(np.mean(psnrs)), float(np.mean(ssims))


def test_bicubic_is_well_below_perfect_on_noisy_pairs(tmp_path: Path) -> None:
    noisy = load_superres(simulate_superres(tmp_path / "on", pairs=12, progress=False), 0.0)
    clean = load_superres(
        simulate_superres(tmp_path / "off", pairs=12, noise=False, progress=False), 0.0
    )
    psnr, ssim = bicubic_scores(noisy.lr_train, noisy.hr_train)
    clean_psnr, _ = bicubic_scores(clean.lr_train, clean.hr_train)
    print(f"bicubic x2: noisy LR {psnr:.2f} dB SSIM {ssim:.3f}; noise-free LR {clean_psnr:.2f} dB")
    assert 15.0 < psnr < 35.0 and ssim < 0.9
    assert clean_psnr > psnr + 5.0


def linear_auc(path: Path) -> float:
    """Macro one-vs-rest AUC of logistic regression on raw pixels (train split -> val split)."""
    data = load_classification(path)
    model = LogisticRegression(max_iter=300).fit(
        data.x_train.reshape(len(data.x_train), -1), data.y_train
    )
    scores = model.predict_proba(data.x_val.reshape(len(data.x_val), -1))
    return float(roc_auc_score(data.y_val, scores, multi_class="ovr", average="macro"))


def test_linear_auc_per_preset(tmp_path: Path) -> None:
    aucs = {}
    for preset in ("model1", "varied"):
        out = simulate_classification(
            tmp_path / preset,
            preset,
            per_class=100,
            size=40,
            val_fraction=0.3,
            seed=11,
            test_fraction=0.0,  # scored on val: a test split would only cost simulation time
            progress=False,
        )
        aucs[preset] = linear_auc(out)
    print("linear-on-pixels macro AUC:", {k: round(v, 3) for k, v in aucs.items()})
    assert aucs["varied"] <= 0.65
    assert aucs["model1"] > aucs["varied"]  # the fixed Model I geometry is a linear cue

"""One simulated sample from (seed, index): a classification image or a super-resolution pair.

Each sample draws from its own generator, ``SeedSequence(seed, spawn_key=(task, class, index))``, so
the bytes depend only on the seed and the index, never on the worker count or order.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from lens_search.data.layout import CLASSES
from lens_search.data.physics import render_observed, render_surface_brightness
from lens_search.data.pixels import min_max
from lens_search.data.presets import (
    FIELD_OF_VIEW,
    SR_HR_PIXEL,
    SR_HR_SIZE,
    SR_SCALE,
    draw_lens_params,
)
from lens_search.data.substructure import PointMasses, draw_substructure

_TASK_KEYS = {"classify": 0, "superres": 1}


def sample_rng(seed: int, task: str, class_index: int, index: int) -> np.random.Generator:
    """The generator of one sample, independent of every other sample's."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_TASK_KEYS[task], class_index, index))
    return np.random.default_rng(sequence)


def classification_image(
    seed: int, cls: str, index: int, preset: str, size: int
) -> tuple[np.ndarray, dict[str, float]]:
    """A (1, size, size) float32 image in [0, 1] of class ``cls`` and its physical parameters."""
    rng = sample_rng(seed, "classify", CLASSES.index(cls), index)
    params = draw_lens_params(rng, preset)
    masses = draw_substructure(rng, cls)
    observed = render_observed(params, masses, size, FIELD_OF_VIEW / size, rng)
    return min_max(observed)[None], _row(asdict(params), masses)


def superres_pair(
    seed: int, index: int, preset: str, noise: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """LR (1, 75, 75) and HR (1, 150, 150) of one lens, both in [0, 1] on the HR's scale.

    HR: noise-free and PSF-free at 0.025"/pixel. LR: 0.05"/pixel with the PSF and, if ``noise``,
    Poisson and background noise. Both are surface brightness (per arcsec**2), then scaled by the
    HR's min and max, so the ideal upscaler maps LR to HR; LR is clipped to [0, 1].
    """
    rng = sample_rng(seed, "superres", 0, index)
    params = draw_lens_params(rng, preset)
    masses = PointMasses()
    hr = render_surface_brightness(params, masses, SR_HR_SIZE, SR_HR_PIXEL, psf_fwhm=None)
    lr_size, lr_pixel = SR_HR_SIZE // SR_SCALE, SR_HR_PIXEL * SR_SCALE
    if noise:
        lr = render_observed(params, masses, lr_size, lr_pixel, rng) / lr_pixel**2
    else:
        lr = render_surface_brightness(params, masses, lr_size, lr_pixel)
    low, high = float(hr.min()), float(hr.max())
    lr_unit = min_max(np.clip(lr, low, high), (low, high))  # clipped to [0, 1] on the HR's scale
    return lr_unit[None], min_max(hr)[None], _row(asdict(params), masses)


def _row(params: dict[str, float], masses: PointMasses) -> dict[str, float]:
    row = dict(params)
    row["n_point_masses"] = len(masses)
    row.update(masses.info)
    return row

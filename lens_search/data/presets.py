"""Simulation presets: the instrument and the ranges of the main lens and source parameters.

A preset value is either a number (fixed) or a ``(low, high)`` pair (uniform per image). The
tables in docs/DATA.md are these dictionaries, written out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lens_search.errors import LensSearchError

Value = float | tuple[float, float]

Z_LENS = 0.5
Z_SOURCE = 1.0
FIELD_OF_VIEW = 7.5  # arcsec: 150 pixels at 0.05"/pixel, kept when --size changes
PSF_FWHM = 0.087  # arcsec
BACKGROUND_RMS = 0.01
LOG10_EXPOSURE = (3.0, 3.5)  # exposure time 10**U(3, 3.5) s
SR_HR_SIZE = 150
SR_HR_PIXEL = 0.025  # arcsec; LR is 75 pixels at 0.05" over the same 3.75" field
SR_SCALE = 2

# DeepLense "Model I" (mwt5345/DeepLenseSim): fixed lens and source except the source centre.
MODEL1: dict[str, Value] = {
    "theta_E": 1.28,  # arcsec; the SIE of a 1e12 Msun halo at z 0.5 seen from z 1.0
    "lens_e1": 0.1,
    "lens_e2": 0.0,
    "gamma1": 0.05,
    "gamma2": 0.0,
    "source_amp": 20.0,
    "source_R_sersic": 0.25,
    "source_n_sersic": 1.0,
    "source_e1": -0.1,
    "source_e2": 0.1,
    "source_x": (-0.35, 0.35),
    "source_y": (-0.35, 0.35),
}

# Every lens and source parameter drawn per image, so no fixed geometry leaks the class.
VARIED: dict[str, Value] = {
    "theta_E": (0.9, 1.7),
    "lens_e1": (-0.25, 0.25),
    "lens_e2": (-0.25, 0.25),
    "gamma1": (-0.1, 0.1),
    "gamma2": (-0.1, 0.1),
    "source_amp": (10.0, 40.0),
    "source_R_sersic": (0.1, 0.5),
    "source_n_sersic": (0.5, 3.0),
    "source_e1": (-0.3, 0.3),
    "source_e2": (-0.3, 0.3),
    "source_x": (-0.5, 0.5),
    "source_y": (-0.5, 0.5),
}

PRESETS: dict[str, dict[str, Value]] = {"model1": MODEL1, "varied": VARIED}


@dataclass(frozen=True)
class LensParams:
    """One image's main lens (SIE + external shear), Sersic source and exposure."""

    theta_E: float
    lens_e1: float
    lens_e2: float
    gamma1: float
    gamma2: float
    source_amp: float
    source_R_sersic: float
    source_n_sersic: float
    source_e1: float
    source_e2: float
    source_x: float
    source_y: float
    exposure_time: float


def preset_table(name: str) -> dict[str, Value]:
    """The parameter table of preset ``name``; a LensSearchError names the known presets."""
    if name not in PRESETS:
        raise LensSearchError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    return PRESETS[name]


def draw_lens_params(rng: np.random.Generator, preset: str) -> LensParams:
    """Draw one image's parameters from ``preset`` (fixed values stay fixed)."""
    table = preset_table(preset)
    values = {key: _draw(rng, value) for key, value in table.items()}
    exposure_time = float(10.0 ** rng.uniform(*LOG10_EXPOSURE))
    return LensParams(**values, exposure_time=exposure_time)


def _draw(rng: np.random.Generator, value: Value) -> float:
    if isinstance(value, tuple):
        return float(rng.uniform(*value))
    return float(value)

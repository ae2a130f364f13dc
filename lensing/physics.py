"""Render lensed images with lenstronomy: SIE + shear + point masses, Sersic source, PSF, noise."""

from __future__ import annotations

import numpy as np
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import simulation_util

from lensing.presets import BACKGROUND_RMS, PSF_FWHM, LensParams
from lensing.substructure import PointMasses

SUPERSAMPLING = 2


def lens_kwargs(params: LensParams, masses: PointMasses) -> list[dict[str, float]]:
    """Keyword arguments of SIE, SHEAR and one POINT_MASS per mass, in that order."""
    kwargs = [
        {
            "theta_E": params.theta_E,
            "e1": params.lens_e1,
            "e2": params.lens_e2,
            "center_x": 0.0,
            "center_y": 0.0,
        },
        {"gamma1": params.gamma1, "gamma2": params.gamma2, "ra_0": 0.0, "dec_0": 0.0},
    ]
    kwargs += [
        {"theta_E": float(t), "center_x": float(x), "center_y": float(y)}
        for t, x, y in zip(masses.theta_E, masses.x, masses.y, strict=True)
    ]
    return kwargs


def source_kwargs(params: LensParams) -> list[dict[str, float]]:
    """Keyword arguments of the SERSIC_ELLIPSE source."""
    return [
        {
            "amp": params.source_amp,
            "R_sersic": params.source_R_sersic,
            "n_sersic": params.source_n_sersic,
            "e1": params.source_e1,
            "e2": params.source_e2,
            "center_x": params.source_x,
            "center_y": params.source_y,
        }
    ]


def render_surface_brightness(
    params: LensParams,
    masses: PointMasses,
    num_pix: int,
    pixel_scale: float,
    psf_fwhm: float | None = PSF_FWHM,
) -> np.ndarray:
    """Noise-free lensed source in counts/s per arcsec**2 (independent of the pixel size)."""
    data = ImageData(**simulation_util.data_configure_simple(num_pix, pixel_scale))
    psf = PSF(psf_type="GAUSSIAN", fwhm=psf_fwhm, pixel_size=pixel_scale) if psf_fwhm else PSF()
    names = ["SIE", "SHEAR"] + ["POINT_MASS"] * len(masses)
    model = ImageModel(
        data,
        psf,
        lens_model_class=LensModel(names),
        source_model_class=LightModel(["SERSIC_ELLIPSE"]),
        kwargs_numerics={"supersampling_factor": SUPERSAMPLING},
    )
    image = model.image(
        kwargs_lens=lens_kwargs(params, masses), kwargs_source=source_kwargs(params)
    )
    return np.asarray(image, dtype=np.float64) / pixel_scale**2


def add_noise(
    counts_per_s: np.ndarray,
    exposure_time: float,
    rng: np.random.Generator,
    background_rms: float = BACKGROUND_RMS,
) -> np.ndarray:
    """Poisson photon noise and Gaussian background, drawn from ``rng`` (reproducible per image).

    Same model as lenstronomy's ``image_util.add_poisson`` / ``add_background``, which draw from
    NumPy's global state and so could not give per-image seeds.
    """
    photons = rng.poisson(np.clip(counts_per_s, 0.0, None) * exposure_time) / exposure_time
    return photons + rng.normal(0.0, background_rms, size=counts_per_s.shape)


def render_observed(
    params: LensParams,
    masses: PointMasses,
    num_pix: int,
    pixel_scale: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """An observed image in counts/s per pixel: PSF-convolved, with Poisson and background noise."""
    counts = render_surface_brightness(params, masses, num_pix, pixel_scale) * pixel_scale**2
    return add_noise(counts, params.exposure_time, rng)


def min_max(image: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] as float32 (a constant image becomes zeros)."""
    low, high = float(image.min()), float(image.max())
    scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return scaled.astype(np.float32)

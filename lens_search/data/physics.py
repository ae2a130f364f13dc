"""Render lensed images with lenstronomy: SIE + shear + point masses, Sersic source, PSF, noise.

The point masses (25 subhalos, or a vortex's 100) are added in one compiled loop instead of one
lenstronomy POINT_MASS profile each, with the same floating-point operations in the same order,
so the images are bit for bit those of ``LensModel(["SIE", "SHEAR"] + ["POINT_MASS"] * n)``
(``plain=True`` renders with that model; tests/lensing/test_lensing_fast_lens.py compares them).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numba
import numpy as np
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel
from lenstronomy.Util import simulation_util

from lens_search.data.presets import BACKGROUND_RMS, PSF_FWHM, LensParams
from lens_search.data.substructure import PointMasses

SUPERSAMPLING = 2
MAIN_LENS = ["SIE", "SHEAR"]
POINT_MASS_R_MIN = 1e-25  # lenstronomy's PointMass.r_min: radii below it are raised to it


@numba.njit(
    "void(f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1], f8[::1])",
    cache=True,
    nogil=True,
)
def _add_point_masses(
    x: np.ndarray,
    y: np.ndarray,
    theta_e_squared: np.ndarray,
    center_x: np.ndarray,
    center_y: np.ndarray,
    alpha_x: np.ndarray,
    alpha_y: np.ndarray,
) -> None:
    """Add each point mass's deflection to ``alpha_x``/``alpha_y``, one mass after the other.

    The operations are lenstronomy's ``PointMass.derivatives`` (r = max(|x - c|, r_min),
    theta_E**2 / r * dx / r) and its ``SinglePlane.alpha`` sum, in the same order; without
    fastmath, LLVM neither reorders nor fuses them, so every sum rounds as lenstronomy's does.
    """
    for i in range(theta_e_squared.shape[0]):
        for p in range(x.shape[0]):
            dx = x[p] - center_x[i]
            dy = y[p] - center_y[i]
            a = np.sqrt(dx**2 + dy**2)
            r = a if a > POINT_MASS_R_MIN else POINT_MASS_R_MIN
            alpha = theta_e_squared[i] / r
            alpha_x[p] += alpha * dx / r
            alpha_y[p] += alpha * dy / r


class SieShearPointMasses(LensModel):
    """``LensModel(["SIE", "SHEAR"] + ["POINT_MASS"] * n)`` for ray shooting, with any n.

    Takes the same keyword list (SIE, SHEAR, then one dict per mass). lenstronomy evaluates each
    POINT_MASS as a profile of its own (masks and temporaries over the whole grid, ~4 ms per mass
    at 300 x 300), which made the vortex class 5x slower than the class without substructure.
    The main lens's deflections are kept from the last call and reused when its parameters and
    the grid are the same to the bit: every image of the ``model1`` preset shares them.
    """

    def __init__(self) -> None:
        super().__init__(MAIN_LENS)
        self._last_main: tuple[Any, ...] | None = None

    def alpha(
        self, x: Any, y: Any, kwargs: list[dict[str, float]], k: None = None, diff: None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Deflection angles (arcsec) of the main lens and every point mass."""
        if k is not None or diff is not None:
            raise NotImplementedError("SieShearPointMasses evaluates the whole model only")
        main, masses = kwargs[: len(MAIN_LENS)], kwargs[len(MAIN_LENS) :]
        flat_x, flat_y = _flat(x), _flat(y)
        alpha_x, alpha_y = self._main_alpha(flat_x, flat_y, main)
        if masses and alpha_x.shape != flat_x.shape:
            raise ValueError(f"expected 1-D coordinates, got shape {np.shape(x)}")
        _add_point_masses(
            flat_x,
            flat_y,
            np.array([m["theta_E"] ** 2 for m in masses], dtype=np.float64),
            np.array([m["center_x"] for m in masses], dtype=np.float64),
            np.array([m["center_y"] for m in masses], dtype=np.float64),
            alpha_x,
            alpha_y,
        )
        return alpha_x, alpha_y

    def _main_alpha(
        self, x: np.ndarray, y: np.ndarray, main: list[dict[str, float]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """SIE + SHEAR deflections (fresh arrays), from the last call's if nothing changed."""
        key = tuple((name, float(value).hex()) for kw in main for name, value in kw.items())
        last = self._last_main
        if last and last[0] == key and np.array_equal(last[1], x) and np.array_equal(last[2], y):
            return last[3].copy(), last[4].copy()
        alpha_x, alpha_y = self.lens_model.alpha(x, y, main)
        self._last_main = (key, x.copy(), y.copy(), alpha_x.copy(), alpha_y.copy())
        return alpha_x, alpha_y

    def ray_shooting(
        self, x: Any, y: Any, kwargs: list[dict[str, float]], k: None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Source-plane positions of the image-plane positions (x, y)."""
        alpha_x, alpha_y = self.alpha(x, y, kwargs, k=k)
        return np.asarray(x, dtype=float) - alpha_x, np.asarray(y, dtype=float) - alpha_y


def _flat(values: Any) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


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


def image_model(
    num_pix: int, pixel_scale: float, psf_fwhm: float | None, plain_masses: int | None = None
) -> ImageModel:
    """The lenstronomy model of a num_pix image: fast point masses, built once per geometry.

    ``plain_masses=n`` builds instead, afresh, lenstronomy's own model with n POINT_MASS
    profiles: the reference the fast one is compared with (and what every image used before).
    """
    if plain_masses is None:
        return _cached_image_model(num_pix, pixel_scale, psf_fwhm)
    return _build_image_model(
        num_pix, pixel_scale, psf_fwhm, LensModel(MAIN_LENS + ["POINT_MASS"] * plain_masses)
    )


@lru_cache(maxsize=8)
def _cached_image_model(num_pix: int, pixel_scale: float, psf_fwhm: float | None) -> ImageModel:
    return _build_image_model(num_pix, pixel_scale, psf_fwhm, SieShearPointMasses())


def _build_image_model(
    num_pix: int, pixel_scale: float, psf_fwhm: float | None, lens_model: LensModel
) -> ImageModel:
    data = ImageData(**simulation_util.data_configure_simple(num_pix, pixel_scale))
    psf = PSF(psf_type="GAUSSIAN", fwhm=psf_fwhm, pixel_size=pixel_scale) if psf_fwhm else PSF()
    return ImageModel(
        data,
        psf,
        lens_model_class=lens_model,
        source_model_class=LightModel(["SERSIC_ELLIPSE"]),
        kwargs_numerics={"supersampling_factor": SUPERSAMPLING},
    )


def render_surface_brightness(
    params: LensParams,
    masses: PointMasses,
    num_pix: int,
    pixel_scale: float,
    psf_fwhm: float | None = PSF_FWHM,
    plain: bool = False,
) -> np.ndarray:
    """Noise-free lensed source in counts/s per arcsec**2 (independent of the pixel size).

    ``plain=True`` renders with lenstronomy's own POINT_MASS profiles (slower, same numbers).
    """
    lens, source = lens_kwargs(params, masses), source_kwargs(params)
    if plain:
        model = image_model(num_pix, pixel_scale, psf_fwhm, plain_masses=len(masses))
        image = model.image(kwargs_lens=lens, kwargs_source=source)
    else:  # no lens light, no point source: lenstronomy would add zeros it takes 10 ms to render
        model = image_model(num_pix, pixel_scale, psf_fwhm)
        image = model.image(
            kwargs_lens=lens, kwargs_source=source, lens_light_add=False, point_source_add=False
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
    plain: bool = False,
) -> np.ndarray:
    """An observed image in counts/s per pixel: PSF-convolved, with Poisson and background noise."""
    surface = render_surface_brightness(params, masses, num_pix, pixel_scale, plain=plain)
    counts = surface * pixel_scale**2
    return add_noise(counts, params.exposure_time, rng)

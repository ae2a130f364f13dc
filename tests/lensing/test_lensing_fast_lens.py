"""The compiled point masses give lenstronomy's POINT_MASS numbers, bit for bit, in every class.

A data set simulated before the fast path must stay valid in the cache (its key does not change),
so the comparison is exact equality, not a tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from lenstronomy.LensModel.lens_model import LensModel

from lens_search.data.layout import CLASSES
from lens_search.data.physics import (
    MAIN_LENS,
    SieShearPointMasses,
    lens_kwargs,
    render_observed,
    render_surface_brightness,
)
from lens_search.data.pixels import min_max
from lens_search.data.presets import FIELD_OF_VIEW, draw_lens_params
from lens_search.data.samples import classification_image, sample_rng
from lens_search.data.substructure import PointMasses, draw_substructure


def draws(cls: str, index: int, preset: str = "varied") -> tuple:
    """The generator, lens parameters and point masses of one classification image."""
    rng = sample_rng(0, "classify", CLASSES.index(cls), index)
    params = draw_lens_params(rng, preset)
    return rng, params, draw_substructure(rng, cls)


@pytest.mark.parametrize("cls", ["sphere", "vort"])
def test_deflections_equal_lenstronomy_point_masses(cls: str) -> None:
    _, params, masses = draws(cls, 1)
    kwargs = lens_kwargs(params, masses)
    grid = np.linspace(-3.0, 3.0, 61)
    x, y = (axis.ravel() for axis in np.meshgrid(grid, grid))
    # Exactly on a mass: lenstronomy raises r to its r_min there instead of dividing by zero.
    x, y = np.append(x, masses.x[0]), np.append(y, masses.y[0])
    plain = LensModel(MAIN_LENS + ["POINT_MASS"] * len(masses))
    fast = SieShearPointMasses()
    got, expected = fast.ray_shooting(x, y, kwargs), plain.ray_shooting(x, y, kwargs)
    assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(got, expected)
    main_only = fast.ray_shooting(x, y, kwargs[: len(MAIN_LENS)])
    assert not np.array_equal(main_only[0], plain.ray_shooting(x, y, kwargs)[0])


@pytest.mark.parametrize("cls", CLASSES)
def test_images_equal_plain_lenstronomy_per_class(cls: str) -> None:
    size = 64
    for index in range(2):
        _, params, masses = draws(cls, index)
        noise_free = [
            render_surface_brightness(params, masses, size, 0.1, plain=plain)
            for plain in (True, False)
        ]
        np.testing.assert_array_equal(noise_free[0], noise_free[1])
        observed = []
        for plain in (True, False):
            rng, params, masses = draws(cls, index)
            pixel = FIELD_OF_VIEW / size
            observed.append(render_observed(params, masses, size, pixel, rng, plain=plain))
        np.testing.assert_array_equal(observed[0], observed[1])


def test_classification_image_is_the_plain_render_at_full_size() -> None:
    size = 150
    image, _ = classification_image(0, "vort", 3, "model1", size)
    rng, params, masses = draws("vort", 3, preset="model1")
    plain = render_observed(params, masses, size, FIELD_OF_VIEW / size, rng, plain=True)
    assert image.tobytes() == min_max(plain)[None].tobytes()


def test_reused_main_lens_deflections_stay_exact_across_classes() -> None:
    # model1 fixes the SIE and shear, so every image after the first reuses their deflections;
    # a vortex's masses added in place must not leak into the next image's.
    size = 48
    for cls in ["vort", "no", "sphere", "no", "vort"]:
        image, _ = classification_image(0, cls, 0, "model1", size)
        rng, params, masses = draws(cls, 0, preset="model1")
        plain = render_observed(params, masses, size, FIELD_OF_VIEW / size, rng, plain=True)
        assert image.tobytes() == min_max(plain)[None].tobytes(), cls


def test_superres_renders_equal_plain_lenstronomy() -> None:
    # Super-resolution pairs have no point masses but go through the same fast model.
    for index in range(2):
        renders = []
        for plain in (True, False):
            rng = sample_rng(0, "superres", 0, index)
            params = draw_lens_params(rng, "model1")
            hr = render_surface_brightness(params, PointMasses(), 150, 0.025, None, plain=plain)
            lr = render_observed(params, PointMasses(), 75, 0.05, rng, plain=plain)
            renders.append((hr.tobytes(), lr.tobytes()))
        assert renders[0] == renders[1]

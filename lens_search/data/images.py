"""Read many image files on a thread pool and check that they form one consistent data set."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lens_search.data.files import read_image_with_mass, to_unit_range
from lens_search.data.pixels import resize_image
from lens_search.data.presets import SR_SCALE
from lens_search.errors import LensSearchError

READ_THREADS = 8
SHOWN_CONSTANT = 3
"""How many constant images a warning names (then a count of the others)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageFile:
    """One file's stored shape, dtype and value range; ``pixels`` in [0, 1] when kept.

    ``mass`` is the number stored next to the image in an ``[image, mass]`` file, else None.
    """

    path: Path
    shape: tuple[int, int]
    dtype: str
    low: float
    high: float
    pixels: np.ndarray | None = None
    mass: float | None = None


def read_images(
    paths: Sequence[Path], keep: bool = True, image_size: int | None = None
) -> list[ImageFile]:
    """Read and check ``paths`` in order; ``keep`` float32 pixels, resized to ``image_size``."""

    def read_one(path: Path) -> ImageFile:
        raw, mass = read_image_with_mass(path)
        pixels = None
        if keep:
            pixels = to_unit_range(raw)
            if image_size is not None and pixels.shape != (image_size, image_size):
                pixels = resize_image(pixels, image_size)
        return ImageFile(
            path, raw.shape, str(raw.dtype), float(raw.min()), float(raw.max()), pixels, mass
        )

    with ThreadPoolExecutor(READ_THREADS) as pool:
        return list(pool.map(read_one, paths))


def warn_constant(files: Sequence[ImageFile]) -> list[Path]:
    """Warn, in one line naming them, about images whose every pixel has one value; return them.

    A blank (all-zero) or otherwise constant image holds no lens: most often a simulation or an
    export that failed. It is kept, not refused (one bad file should not stop a search of
    thousands), and trains as a flat image: min-max scaling maps a constant image to zeros,
    and one already in [0, 1] keeps its value.
    """
    constant = [f.path for f in files if f.low == f.high]
    if constant:
        named = ", ".join(str(p) for p in constant[:SHOWN_CONSTANT])
        more = len(constant) - SHOWN_CONSTANT
        log.warning(
            "%d constant image%s (every pixel has one value: no lens to learn from; check what "
            "wrote %s): %s%s",
            len(constant),
            "" if len(constant) == 1 else "s",
            "it" if len(constant) == 1 else "them",
            named,
            f" and {more} more" if more > 0 else "",
        )
    return constant


def check_same_size(files: Sequence[ImageFile], what: str = "image") -> tuple[int, int]:
    """The one (H, W) of all ``files``; a LensSearchError names the first file that differs."""
    first = files[0]
    for item in files:
        if item.shape != first.shape:
            raise LensSearchError(
                f"{item.path}: {what} size {_hw(item.shape)} differs from {_hw(first.shape)} of "
                f"{first.path} (inconsistent image sizes)"
            )
    return first.shape


def check_scale(lr: Sequence[ImageFile], hr: Sequence[ImageFile]) -> tuple[tuple, tuple]:
    """LR and HR sizes, checked to be uniform and HR exactly twice LR in both directions."""
    lr_shape, hr_shape = check_same_size(lr, "LR"), check_same_size(hr, "HR")
    if hr_shape != (lr_shape[0] * SR_SCALE, lr_shape[1] * SR_SCALE):
        raise LensSearchError(
            f"{hr[0].path}: HR size {_hw(hr_shape)} is not {SR_SCALE}x the LR size "
            f"{_hw(lr_shape)} of {lr[0].path}"
        )
    return lr_shape, hr_shape


def stack(files: Sequence[ImageFile], shape: tuple[int, int]) -> np.ndarray:
    """Kept pixels as float32 (N, H, W, 1); (0, H, W, 1) when there are none."""
    if not files:
        return np.zeros((0, *shape, 1), np.float32)
    pixels = [f.pixels for f in files if f.pixels is not None]
    if len(pixels) != len(files):
        raise ValueError("stack() needs files read with keep=True")
    return np.stack(pixels)[..., None]


def masses(files: Sequence[ImageFile]) -> np.ndarray:
    """The mass of each file as float64, NaN where the file holds none."""
    return np.array([np.nan if f.mass is None else f.mass for f in files], dtype=np.float64)


def _hw(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)

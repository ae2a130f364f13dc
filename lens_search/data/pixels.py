"""Pixel values and sizes: the project's one min-max scaling and its one image resizer.

Simulation, file reading, training and prediction all scale and resize through these two
functions, so an image is prepared the same way wherever it comes from.
"""

from __future__ import annotations

import numpy as np


def min_max(image: np.ndarray, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """``image`` as float32 with ``value_range`` (default: its own min and max) mapped to [0, 1].

    Computed in float64; a constant range (max == min) gives zeros.
    """
    values = np.asarray(image, dtype=np.float64)
    low, high = value_range or (float(values.min()), float(values.max()))
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return scaled.astype(np.float32)


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` (H, W) or (H, W, C) resized to ``size`` x ``size``, float32 clipped to [0, 1].

    Bilinear (scikit-image, order 1), anti-aliased when shrinking.
    """
    from skimage.transform import resize  # imported on first use: scikit-image loads slowly

    shrinking = size < max(image.shape[:2])
    out = resize(image, (size, size), order=1, anti_aliasing=shrinking, preserve_range=True)
    return np.clip(out, 0.0, 1.0).astype(np.float32)

"""Read one image file safely: ``.npy`` without pickles, or PNG/JPEG via PIL; one source of checks.

Every problem with a file (unreadable, truncated, pickled, object dtype, NaN, inf, several channels)
is a LensSearchError that names the file, raised here for the loaders and ``lensing.inspect`` alike.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image

from lensing.errors import LensSearchError

NPY_SUFFIXES = frozenset({".npy"})
PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
IMAGE_SUFFIXES = NPY_SUFFIXES | PICTURE_SUFFIXES
_WIDE_PICTURE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "F"})
# np.load parses each header with ast.literal_eval; CPython 3.11 raises "SystemError: AST
# constructor recursion depth mismatch" when threads parse at once (seen in CI): loads queue here.
_NPY_LOCK = threading.Lock()


def is_image_file(path: Path) -> bool:
    """True for a visible file with an image suffix (``.npy``, ``.png``, ``.jpg``, ``.jpeg``)."""
    return (
        path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES
    )


def read_image(path: Path) -> np.ndarray:
    """The 2-D array stored in ``path``, in its own dtype, checked to be one finite image."""
    raw = read_npy(path) if path.suffix.lower() in NPY_SUFFIXES else read_picture(path)
    return check_image(raw, path)


def read_npy(path: Path) -> np.ndarray:
    """``np.load`` with ``allow_pickle=False``: a pickled file is refused, never unpickled."""
    try:
        with _NPY_LOCK:
            loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # any failure here is a property of the user's file
        if "pickle" in str(exc).lower():
            raise LensSearchError(
                f"{path}: holds pickled Python objects; refused (arrays are read with "
                "allow_pickle=False; save plain numeric arrays with np.save)"
            ) from None
        raise LensSearchError(f"{path}: unreadable .npy file ({_reason(exc)})") from None
    if not isinstance(loaded, np.ndarray):
        loaded.close()
        raise LensSearchError(f"{path}: is an .npz archive; expected one array per .npy file")
    return loaded


def read_picture(path: Path) -> np.ndarray:
    """A PNG/JPEG as grayscale: uint8 for 8-bit pictures, raw values for 16-bit or float ones."""
    try:
        with Image.open(path) as picture:
            picture.load()
            if picture.mode in _WIDE_PICTURE_MODES:
                return np.asarray(picture)
            return np.asarray(picture.convert("L"))
    except Exception as exc:  # truncated or not a picture: the user's file
        raise LensSearchError(f"{path}: unreadable image file ({_reason(exc)})") from None


def check_image(array: np.ndarray, path: Path) -> np.ndarray:
    """``array`` as (H, W) if it is one numeric, finite image of shape (1,H,W), (H,W) or (H,W,1)."""
    if array.dtype.kind not in "uif":
        raise LensSearchError(
            f"{path}: dtype {array.dtype} is not a numeric image; expected float or int"
        )
    image = _squeeze_channel(array, path)
    if image.size == 0:
        raise LensSearchError(f"{path}: empty image of shape {array.shape}")
    if image.dtype.kind == "f":
        if np.isnan(image).any():
            raise LensSearchError(f"{path}: contains NaN values")
        if np.isinf(image).any():
            raise LensSearchError(f"{path}: contains infinite values")
    return image


def to_unit_range(image: np.ndarray) -> np.ndarray:
    """float32 in [0, 1]: uint8 divided by 255; other values min-max scaled if outside [0, 1]."""
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    values = image.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if low < 0.0 or high > 1.0:
        values = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return values.astype(np.float32)


def _squeeze_channel(array: np.ndarray, path: Path) -> np.ndarray:
    if array.ndim == 2:
        return array
    if array.ndim == 3 and array.shape[0] == 1:
        return array[0]
    if array.ndim == 3 and array.shape[-1] == 1:
        return array[..., 0]
    raise LensSearchError(
        f"{path}: shape {array.shape} is not one single-channel image; "
        "expected (1, H, W), (H, W) or (H, W, 1)"
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

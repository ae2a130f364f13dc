"""Read one image file safely: ``.npy`` or PNG/JPEG via PIL; one source of checks.

Plain ``.npy`` arrays are read with ``allow_pickle=False``; object arrays (``[image, mass]`` of
DeepLense Model II/III) only through the restricted unpickler of ``lensing.npy_objects``. Every
problem with a file (unreadable, truncated, a refused pickle, NaN, inf, several channels) is a
LensSearchError that names the file, raised here for the loaders and ``lensing.inspect`` alike.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from lens_search.data.npy_objects import holds_objects, read_object_array
from lens_search.data.pixels import min_max
from lens_search.errors import LensSearchError, one_line

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
    return read_image_with_mass(path)[0]


def read_image_with_mass(path: Path) -> tuple[np.ndarray, float | None]:
    """``read_image`` and the mass of an ``[image, mass]`` file (None for plain images)."""
    if path.suffix.lower() in NPY_SUFFIXES:
        raw, mass = read_npy_with_mass(path)
    else:
        raw, mass = read_picture(path), None
    return check_image(raw, path), mass


def read_npy(path: Path) -> np.ndarray:
    """The array of an ``.npy`` file (the image of an ``[image, mass]`` file), never unpickled."""
    return read_npy_with_mass(path)[0]


def read_npy_with_mass(path: Path) -> tuple[np.ndarray, float | None]:
    """A plain array with ``allow_pickle=False``, or ``[image, mass]`` by the safe unpickler."""
    try:
        with open(path, "rb") as stream:
            return _read_npy_stream(stream, path)
    except LensSearchError:
        raise
    except Exception as exc:  # any failure here is a property of the user's file
        if "pickle" in str(exc).lower():
            raise LensSearchError(
                f"{path}: holds pickled Python objects; refused (arrays are read with "
                "allow_pickle=False; save plain numeric arrays with np.save)"
            ) from None
        reason = one_line(exc, typed=True)
        raise LensSearchError(f"{path}: unreadable .npy file ({reason})") from None


def _read_npy_stream(stream: BinaryIO, path: Path) -> tuple[np.ndarray, float | None]:
    with _NPY_LOCK:
        objects = holds_objects(stream)
        if not objects:
            stream.seek(0)
            loaded = np.load(stream, allow_pickle=False)
    if objects:
        return read_object_array(stream, path)
    if not isinstance(loaded, np.ndarray):
        loaded.close()
        raise LensSearchError(f"{path}: is an .npz archive; expected one array per .npy file")
    return loaded, None


def read_picture(path: Path) -> np.ndarray:
    """A PNG/JPEG as grayscale: uint8 for 8-bit pictures, raw values for 16-bit or float ones."""
    try:
        with Image.open(path) as picture:
            picture.load()
            if picture.mode in _WIDE_PICTURE_MODES:
                return np.asarray(picture)
            return np.asarray(picture.convert("L"))
    except Exception as exc:  # truncated or not a picture: the user's file
        reason = one_line(exc, typed=True)
        raise LensSearchError(f"{path}: unreadable image file ({reason})") from None


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
    if float(image.min()) < 0.0 or float(image.max()) > 1.0:
        return min_max(image)
    return image.astype(np.float32)


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

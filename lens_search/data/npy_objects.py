"""Read object-array ``.npy`` files (DeepLense's ``[image, axion_mass]``) without running code.

NumPy's own loader, with pickles allowed, unpickles anything, and unpickling can call any
function; it is never used here. The payload is unpickled by ``NumpyOnlyUnpickler``, which
resolves only the globals that a NumPy array of numbers needs (array reconstruction, dtype,
NumPy scalars, ``float``, ``int``) and refuses any other one before it is called. What it returns
is then accepted only as ``[image, mass]``. ``save_with_mass`` writes that form (the simulator's
``--with-mass``).
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from lens_search.errors import LensSearchError, one_line

try:  # NumPy 2.x
    _multiarray = importlib.import_module("numpy._core.multiarray")
except ImportError:  # NumPy 1.x
    _multiarray = importlib.import_module("numpy.core.multiarray")

# Files written by NumPy 2.x name numpy._core, files written by NumPy 1.x name numpy.core.
_MULTIARRAY_MODULES = ("numpy._core.multiarray", "numpy.core.multiarray")
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    **{(module, "_reconstruct"): _multiarray._reconstruct for module in _MULTIARRAY_MODULES},
    **{(module, "scalar"): _multiarray.scalar for module in _MULTIARRAY_MODULES},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "float"): float,
    ("builtins", "int"): int,
}


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside ``ALLOWED_GLOBALS``; ``name`` is ``module.qualname``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays of numbers and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def save_with_mass(path: str | Path, image: np.ndarray, mass: float) -> None:
    """Write ``[image, mass]`` as DeepLense Model II/III axion files are: a pickled object array.

    The bytes ``np.save`` writes for it (a version 1.0 header, then the array pickled with
    protocol 4), written here directly: the project calls no NumPy function with pickles
    allowed, reading or writing. Reading it back never unpickles freely (``read_object_array``).
    """
    array = np.empty(2, dtype=object)
    array[0], array[1] = image, np.float64(mass)
    with open(path, "wb") as handle:
        npy_format.write_array_header_1_0(handle, npy_format.header_data_from_array_1_0(array))
        pickle.dump(array, handle, protocol=4)


def holds_objects(stream: IO[bytes]) -> bool:
    """True when ``stream`` starts with an ``.npy`` header of an object dtype (then a pickle).

    On True the stream is left at the pickled payload; on False its position is unspecified.
    """
    if stream.read(len(npy_format.MAGIC_PREFIX)) != npy_format.MAGIC_PREFIX:
        return False
    stream.seek(0)
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        _, _, dtype = npy_format.read_array_header_1_0(stream)
    else:  # 2.0 and 3.0 share the 4-byte header length; object dtypes have ASCII headers
        _, _, dtype = npy_format.read_array_header_2_0(stream)
    return dtype.hasobject


def read_object_array(stream: IO[bytes], path: object) -> tuple[np.ndarray, float]:
    """The image and the mass of the ``[image, mass]`` pickled at the stream's position."""
    try:
        loaded = NumpyOnlyUnpickler(stream, encoding="latin1").load()
    except RefusedGlobal as refused:
        raise LensSearchError(
            f"{path}: holds pickled Python objects; refused the global {refused.name} (only "
            "NumPy arrays of numbers are unpickled, nothing else is run)"
        ) from None
    except Exception as exc:  # truncated or malformed: a property of the user's file
        raise LensSearchError(
            f"{path}: unreadable object array in .npy file ({one_line(exc, typed=True)})"
        ) from None
    return image_and_mass(loaded, path)


def image_and_mass(loaded: Any, path: object) -> tuple[np.ndarray, float]:
    """``loaded`` as (image, mass) if it is a 2-element object array [numeric array, number]."""
    if not (isinstance(loaded, np.ndarray) and loaded.dtype.hasobject and loaded.shape == (2,)):
        shape = getattr(loaded, "shape", None)
        what = f"an object array of shape {shape}" if shape is not None else type(loaded).__name__
        raise LensSearchError(
            f"{path}: holds pickled Python objects that are not [image, mass] ({what}); refused "
            "(save plain numeric arrays with np.save)"
        )
    image, mass = loaded
    if isinstance(image, np.ndarray) and image.dtype.hasobject:
        raise LensSearchError(
            f"{path}: holds an object array inside its object array; refused (expected "
            "[image, mass] with a numeric image)"
        )
    number = _number(mass)
    if not isinstance(image, np.ndarray) or number is None:
        raise LensSearchError(
            f"{path}: holds pickled Python objects that are not [image, mass] "
            f"([{type(image).__name__}, {type(mass).__name__}]); refused"
        )
    return image, number


def _number(value: Any) -> float | None:
    """``value`` as a float if it is one real number (a NumPy array of one element too)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "uif":
        return float(value.reshape(()))
    return None

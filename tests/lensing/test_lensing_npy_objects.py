"""Object-array ``.npy`` files: ``[image, mass]`` is read, every other pickled global is refused.

Each crafted file would create a marker file if it were unpickled the way ``np.load(path,
allow_pickle=True)`` does it; the test asserts the refusal names the file and the global, and that
the marker never appears, through the loader and through ``python -m lensing.inspect``.
"""

from __future__ import annotations

import builtins
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.testing._private.utils as numpy_testing_utils
import pytest

from lens_search.data.files import read_npy_with_mass
from lens_search.data.load import load_classification
from lens_search.data.npy_objects import save_with_mass
from lens_search.errors import LensSearchError

REPO = Path(__file__).resolve().parents[2]
IMAGE = np.linspace(0.0, 1.0, 64).reshape(8, 8)


class Payload:
    """Pickles as ``function(*args)``: what a crafted file runs when it is unpickled."""

    def __init__(self, function: Callable[..., Any], *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return self.function, self.args


def save_objects(path: Path, *items: Any) -> Path:
    """``np.save`` of the object array ``[*items]``, as a public loader's files are written."""
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    np.save(path, array, allow_pickle=True)
    return path


def os_system(marker: Path) -> tuple[Any, str]:
    return Payload(os.system, f"touch {marker}"), f"{os.system.__module__}.system"


def builtins_eval(marker: Path) -> tuple[Any, str]:
    return Payload(builtins.eval, f"open({str(marker)!r}, 'w').close()"), "builtins.eval"


def subprocess_popen(marker: Path) -> tuple[Any, str]:
    return Payload(subprocess.Popen, ["touch", str(marker)]), "subprocess.Popen"


def numpy_save(marker: Path) -> tuple[Any, str]:
    """A NumPy function that is not array reconstruction: it writes a file."""
    return Payload(np.save, str(marker), np.zeros(1)), "numpy.save"


def numpy_runstring(marker: Path) -> tuple[Any, str]:
    """NumPy's own ``exec`` helper in ``numpy.testing``."""
    code = f"open({str(marker)!r}, 'w').close()"
    return (
        Payload(numpy_testing_utils.runstring, code, {}),
        "numpy.testing._private.utils.runstring",
    )


def nested_bomb(marker: Path) -> tuple[Any, str]:
    """An object array inside the object array, holding the ``os.system`` payload."""
    inner = np.empty(2, dtype=object)
    inner[0], inner[1] = IMAGE, os_system(marker)[0]
    return inner, f"{os.system.__module__}.system"


BOMBS = [os_system, builtins_eval, subprocess_popen, numpy_save, numpy_runstring, nested_bomb]


def bomb_file(folder: Path, bomb: Callable[[Path], tuple[Any, str]]) -> tuple[Path, Path, str]:
    """An ``[image, payload]`` file in ``folder``; its marker; the global the payload names."""
    marker = folder.parent / f"created-by-{bomb.__name__}"
    payload, refused = bomb(marker)
    return save_objects(folder / "axion_000001.npy", IMAGE, payload), marker, refused


def small_dataset(root: Path, classes: tuple[str, ...] = ("no_sub", "cdm", "axion")) -> Path:
    """Three 8x8 images per class folder; the last folder's files are ``[image, mass]``."""
    for cls in classes:
        (root / cls).mkdir(parents=True)
        for i in range(3):
            image = np.roll(IMAGE, i + len(cls))
            if cls == classes[-1]:
                save_with_mass(root / cls / f"{cls}_{i}.npy", image, 1e-23 * (i + 1))
            else:
                np.save(root / cls / f"{cls}_{i}.npy", image)
    return root


def inspect_cli(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lensing.inspect", str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_image_and_mass_are_read_without_allow_pickle(tmp_path: Path) -> None:
    for mass in (np.float64(2.5e-23), 2.5e-23, 3, np.float32(0.5)):
        path = save_objects(tmp_path / "axion.npy", IMAGE, mass)
        image, read_mass = read_npy_with_mass(path)
        np.testing.assert_array_equal(image, IMAGE)
        assert read_mass == pytest.approx(float(mass))


def test_a_numpy_1_file_loads(tmp_path: Path) -> None:
    """Files written by NumPy 1.x (protocol 3) name ``numpy.core.multiarray``; they load."""
    array = np.empty(2, dtype=object)
    array[0], array[1] = IMAGE, np.float64(4e-24)
    payload = pickle.dumps(array, protocol=3)
    assert b"numpy._core.multiarray\n" in payload
    payload = payload.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
    path = tmp_path / "axion_old.npy"
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "|O", "fortran_order": False, "shape": (2,)}
        )
        handle.write(payload)
    image, mass = read_npy_with_mass(path)
    np.testing.assert_array_equal(image, IMAGE)
    assert mass == 4e-24


@pytest.mark.parametrize("bomb", BOMBS, ids=lambda b: b.__name__)
def test_loader_refuses_the_global_and_runs_nothing(tmp_path: Path, bomb: Callable) -> None:
    root = small_dataset(tmp_path / "data")
    path, marker, refused = bomb_file(root / "axion", bomb)
    with pytest.raises(LensSearchError) as error:
        load_classification(root, val_fraction=0.5)
    message = str(error.value)
    assert message.startswith(f"{path}: holds pickled Python objects; refused the global {refused}")
    assert "\n" not in message
    assert not marker.exists() and not marker.with_suffix(".npy").exists()


def test_inspect_cli_refuses_each_crafted_file_in_one_line(tmp_path: Path) -> None:
    for bomb in BOMBS:
        root = small_dataset(tmp_path / bomb.__name__ / "data")
        path, marker, refused = bomb_file(root / "axion", bomb)
        result = inspect_cli(root)
        assert result.returncode == 2, (bomb.__name__, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (bomb.__name__, result.stderr)
        assert lines[0].startswith(f"lensing.inspect: error: {path}: holds pickled Python objects")
        assert f"refused the global {refused}" in lines[0]
        assert result.stdout == ""
        assert not marker.exists() and not marker.with_suffix(".npy").exists()


def test_nested_object_array_without_bad_globals_is_refused(tmp_path: Path) -> None:
    """Nested object arrays are refused (decided in docs/DATA.md), even when harmless."""
    inner = np.empty(2, dtype=object)
    inner[0], inner[1] = IMAGE, 1e-23
    path = save_objects(tmp_path / "axion.npy", inner, 1e-23)
    with pytest.raises(LensSearchError, match="object array inside its object array; refused"):
        read_npy_with_mass(path)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ((np.zeros((1, 8, 8)).astype(object),), "not [image, mass] (an object array of shape"),
        ((IMAGE, "heavy"), "not [image, mass] ([ndarray, str])"),
        ((IMAGE, 1.0, 2.0), "not [image, mass] (an object array of shape (3,))"),
    ],
)
def test_other_object_arrays_are_refused(tmp_path: Path, items: tuple, message: str) -> None:
    path = tmp_path / "x.npy"
    if len(items) == 1:
        np.save(path, items[0], allow_pickle=True)
    else:
        save_objects(path, *items)
    with pytest.raises(LensSearchError) as error:
        read_npy_with_mass(path)
    assert str(error.value).startswith(f"{path}: holds pickled Python objects")
    assert message in str(error.value)


def test_truncated_object_array_is_unreadable(tmp_path: Path) -> None:
    path = save_objects(tmp_path / "axion.npy", IMAGE, 1e-23)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(LensSearchError, match="axion.npy: unreadable object array in .npy file"):
        read_npy_with_mass(path)


def test_plain_layout_pickles_are_still_refused(tmp_path: Path) -> None:
    """A raw pickle in a ``no/`` folder and an object array in ``sphere/``: one line, exit 2."""
    raw = small_dataset(tmp_path / "raw", ("no", "sphere", "vort"))
    raw_marker = tmp_path / "raw-marker"
    (raw / "no" / "no_0.npy").write_bytes(pickle.dumps(os_system(raw_marker)[0]))
    objects = small_dataset(tmp_path / "objects", ("no", "sphere", "vort"))
    objects_marker = tmp_path / "objects-marker"
    save_objects(objects / "sphere" / "sphere_1.npy", IMAGE, builtins_eval(objects_marker)[0])
    cases = [
        (raw, "no_0.npy: holds pickled Python objects; refused (arrays are read with allow_pickle"),
        (objects, "sphere_1.npy: holds pickled Python objects; refused the global builtins.eval"),
    ]
    for root, message in cases:
        result = inspect_cli(root)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and message in lines[0], result.stderr
    assert not raw_marker.exists() and not objects_marker.exists()


def test_an_axion_file_is_the_bytes_np_save_writes(tmp_path: Path) -> None:
    array = np.empty(2, dtype=object)
    array[0], array[1] = IMAGE, np.float64(2.5e-23)
    np.save(tmp_path / "numpy.npy", array, allow_pickle=True)  # how the public files were made

    save_with_mass(tmp_path / "ours.npy", IMAGE, 2.5e-23)

    assert (tmp_path / "ours.npy").read_bytes() == (tmp_path / "numpy.npy").read_bytes()

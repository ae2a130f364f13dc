"""Bad data sets: the loaders raise LensSearchError and ``lensing.inspect`` prints one line, exit 2.

Each case builds a small broken data set; both the loader and the CLI must name the problem.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lens_search.data.inspect import inspect_dataset
from lens_search.data.layout import CLASSES
from lens_search.data.load import load_classification, load_superres
from lens_search.errors import LensSearchError

REPO = Path(__file__).resolve().parents[2]


def classification_set(root: Path, size: int = 8, per_class: int = 5) -> Path:
    for cls in CLASSES:
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            np.save(root / cls / f"{cls}{i}.npy", np.random.default_rng(i).random((1, size, size)))
    return root


def superres_set(root: Path, lr: int = 8, hr: int = 16, pairs: int = 3) -> Path:
    for kind, size in (("LR", lr), ("HR", hr)):
        (root / kind).mkdir(parents=True)
        for i in range(pairs):
            np.save(root / kind / f"sample{i}.npy", np.zeros((1, size, size), np.float32))
    return root


def missing(root: Path) -> tuple[Path, str]:
    return root / "nowhere", "no such data set folder"


def no_class_folders(root: Path) -> tuple[Path, str]:
    root.mkdir()
    np.save(root / "loose.npy", np.zeros((4, 4)))
    return root, "no class folders"


def empty_class(root: Path) -> tuple[Path, str]:
    classification_set(root)
    for file in (root / "vort").iterdir():
        file.unlink()
    return root, "vort: empty class folder"


def unknown_class(root: Path) -> tuple[Path, str]:
    classification_set(root)
    (root / "cats").mkdir()
    return root, "cats: unknown class folder"


def truncated(root: Path) -> tuple[Path, str]:
    classification_set(root)
    path = root / "sphere" / "sphere1.npy"
    path.write_bytes(path.read_bytes()[:-40])
    return root, "sphere1.npy: unreadable .npy"


def pickled(root: Path) -> tuple[Path, str]:
    classification_set(root)
    marker = root / "unpickled"
    payload = np.array([{"a": 1}, PickleBomb(marker)], dtype=object)
    np.save(root / "no" / "no1.npy", payload, allow_pickle=True)
    return root, "no1.npy: holds pickled Python objects"


def with_nan(root: Path) -> tuple[Path, str]:
    classification_set(root)
    np.save(root / "no" / "no2.npy", np.full((1, 8, 8), np.nan))
    return root, "no2.npy: contains NaN"


def with_inf(root: Path) -> tuple[Path, str]:
    classification_set(root)
    image = np.zeros((1, 8, 8))
    image[0, 3, 3] = np.inf
    np.save(root / "vort" / "vort0.npy", image)
    return root, "vort0.npy: contains infinite"


def text_dtype(root: Path) -> tuple[Path, str]:
    classification_set(root)
    np.save(root / "no" / "no0.npy", np.array([["a", "b"], ["c", "d"]]))
    return root, "no0.npy: dtype <U1 is not a numeric image"


def rgb_array(root: Path) -> tuple[Path, str]:
    classification_set(root)
    np.save(root / "no" / "no0.npy", np.zeros((3, 8, 8)))
    return root, "no0.npy: shape (3, 8, 8) is not one single-channel image"


def mixed_sizes(root: Path) -> tuple[Path, str]:
    classification_set(root)
    np.save(root / "sphere" / "sphere2.npy", np.zeros((1, 9, 9)))
    return root, "sphere2.npy: image size 9x9 differs from 8x8"


def broken_png(root: Path) -> tuple[Path, str]:
    classification_set(root)
    (root / "no" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root, "bad.png: unreadable image file"


def val_without_train(root: Path) -> tuple[Path, str]:
    classification_set(root / "val")
    return root, "has a val/ folder but no train/ folder"


def lr_hr_name_mismatch(root: Path) -> tuple[Path, str]:
    superres_set(root)
    (root / "HR" / "sample2.npy").rename(root / "HR" / "sample9.npy")
    return root, "LR/sample2.npy: no HR file of the same name"


def lr_hr_ratio(root: Path) -> tuple[Path, str]:
    superres_set(root, lr=8, hr=24)
    return root, "HR size 24x24 is not 2x the LR size 8x8"


def lr_hr_mixed(root: Path) -> tuple[Path, str]:
    superres_set(root)
    np.save(root / "LR" / "sample1.npy", np.zeros((1, 9, 9)))
    return root, "LR/sample1.npy: LR size 9x9 differs"


def only_lr(root: Path) -> tuple[Path, str]:
    superres_set(root)
    for file in (root / "HR").iterdir():
        file.unlink()
    (root / "HR").rmdir()
    return root, "HR: missing"


class PickleBomb:
    """Creates ``marker`` if it is ever unpickled: the loaders must never do that."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return (os.mkdir, (str(self.marker),))


CLASSIFICATION_CASES = [
    missing,
    no_class_folders,
    empty_class,
    unknown_class,
    truncated,
    pickled,
    with_nan,
    with_inf,
    text_dtype,
    rgb_array,
    mixed_sizes,
    broken_png,
    val_without_train,
]
SUPERRES_CASES = [lr_hr_name_mismatch, lr_hr_ratio, lr_hr_mixed, only_lr]


@pytest.mark.parametrize("case", CLASSIFICATION_CASES, ids=lambda c: c.__name__)
def test_classification_loader_names_the_problem(tmp_path: Path, case) -> None:
    path, message = case(tmp_path / "data")
    with pytest.raises(LensSearchError, match=re.escape(message)):
        load_classification(path)
    assert not (tmp_path / "data" / "unpickled").exists()


@pytest.mark.parametrize("case", SUPERRES_CASES, ids=lambda c: c.__name__)
def test_superres_loader_names_the_problem(tmp_path: Path, case) -> None:
    path, message = case(tmp_path / "data")
    with pytest.raises(LensSearchError, match=re.escape(message)):
        load_superres(path)


@pytest.mark.parametrize("case", CLASSIFICATION_CASES + SUPERRES_CASES, ids=lambda c: c.__name__)
def test_inspect_function_agrees_with_the_loaders(tmp_path: Path, case) -> None:
    path, message = case(tmp_path / "data")
    with pytest.raises(LensSearchError) as error:
        inspect_dataset(path)
    assert message in str(error.value)


def test_inspect_cli_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    """Every case through the real CLI, one interpreter per case."""
    for case in CLASSIFICATION_CASES + SUPERRES_CASES:
        path, message = case(tmp_path / case.__name__)
        result = subprocess.run(
            [sys.executable, "-m", "lensing.inspect", str(path)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, (case.__name__, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (case.__name__, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert not any(tmp_path.rglob("unpickled"))


def test_inspect_cli_summarises_a_good_data_set(tmp_path: Path) -> None:
    path = classification_set(tmp_path / "ok", size=8, per_class=4)
    result = subprocess.run(
        [sys.executable, "-m", "lensing.inspect", str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no 4, sphere 4, vort 4" in result.stdout and "image size 8x8" in result.stdout
    assert "float64" in result.stdout and "value range [" in result.stdout

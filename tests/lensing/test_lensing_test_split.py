"""The test split: simulated beyond train and val, read in every layout, left out by the loaders."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lens_search.data.cache import cache_root, dataset_key, default_dataset
from lens_search.data.layout import CLASSES
from lens_search.data.load import (
    load_classification,
    load_classification_test,
    load_superres,
    load_superres_test,
)
from lens_search.data.simulate import (
    DEFAULT_PER_CLASS,
    DEFAULT_TEST_FRACTION,
    simulate_classification,
    simulate_superres,
    size_of_test_split,
)
from lens_search.errors import LensSearchError

REPO = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def fingerprint(folder: Path, pattern: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob(pattern)):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def with_test(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 per class (4 train, 2 val) and, by the default fraction, 2 per class in test/."""
    out = tmp_path_factory.mktemp("split") / "cls"
    return simulate_classification(out, per_class=6, size=24, val_fraction=0.34, progress=False)


def test_default_fraction_gives_1000_test_images_per_class_of_the_default_set() -> None:
    assert size_of_test_split(DEFAULT_PER_CLASS, DEFAULT_TEST_FRACTION) == 1000
    assert size_of_test_split(6, 0.25) == 2 and size_of_test_split(6, 0.0) == 0


def test_simulator_writes_test_beyond_unchanged_train_and_val(with_test: Path, tmp_path: Path):
    manifest = json.loads((with_test / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 4, "val": 2, "test": 2}
    assert manifest["request"]["test_fraction"] == DEFAULT_TEST_FRACTION
    for cls in CLASSES:
        names = sorted(p.name for p in (with_test / "test" / cls).iterdir())
        assert names == [f"{cls}_000006.npy", f"{cls}_000007.npy"]  # indices after train+val
    rows = (with_test / "parameters.csv").read_text().splitlines()
    assert sum(",test," in row for row in rows) == 6
    # The same seed without a test split: train and val are the same bytes, test/ is absent.
    plain = simulate_classification(
        tmp_path / "plain", per_class=6, size=24, val_fraction=0.34, test_fraction=0.0,
        progress=False,
    )  # fmt: skip
    assert not (plain / "test").exists()
    assert "test_fraction" not in json.loads((plain / "manifest.json").read_text())["request"]
    for split in ("train", "val"):
        assert fingerprint(plain, f"{split}/*/*.npy") == fingerprint(with_test, f"{split}/*/*.npy")


def test_loaders_leave_test_out_and_load_test_reads_it(with_test: Path) -> None:
    data = load_classification(with_test)
    seen = {p.parent.parent.name for p in (*data.paths_train, *data.paths_val)}
    assert seen == {"train", "val"} and len(data.y_train) + len(data.y_val) == 18
    test = load_classification_test(with_test, image_size=16)
    assert test.x_test.shape == (6, 16, 16, 1) and test.x_test.dtype == np.float32
    assert list(test.y_test) == [0, 0, 1, 1, 2, 2]
    assert all(p.parts[-3] == "test" and p.parent.name == CLASSES[y]
               for p, y in zip(test.paths_test, test.y_test, strict=True))  # fmt: skip
    first = np.load(test.paths_test[0], allow_pickle=False)
    np.testing.assert_array_equal(load_classification_test(with_test).x_test[0, ..., 0], first[0])


def test_model2_flat_and_root_class_folder_layouts_have_their_test(tmp_path: Path) -> None:
    model2 = simulate_classification(
        tmp_path / "m2", layout="model2", per_class=3, size=16, progress=False
    )
    assert sorted(p.name for p in (model2 / "test").iterdir()) == ["axion", "cdm", "no_sub"]
    test = load_classification_test(model2)
    assert test.x_test.shape == (3, 16, 16, 1)  # 1 per class: round(3 * 0.25 / 0.75)
    assert np.isfinite(test.masses_test).tolist() == [False, False, True]  # [image, m_axion]

    # Class folders at the root (no train/val) and class-prefixed files in test/.
    root = tmp_path / "root"
    shutil.copytree(model2 / "train", root)
    (root / "test").mkdir()
    for path in (model2 / "test").glob("*/*.npy"):
        shutil.copy(path, root / "test" / path.name)
    data = load_classification(root, val_fraction=0.5)
    assert not any("test" in p.parts for p in (*data.paths_train, *data.paths_val))
    flat_test = load_classification_test(root)
    assert list(flat_test.y_test) == [0, 1, 2]
    np.testing.assert_array_equal(flat_test.x_test, test.x_test)

    # A flat folder of class-prefixed files with a test/ folder beside them.
    flat = tmp_path / "flat"
    shutil.copytree(root / "test", flat / "test")
    for path in (model2 / "train").glob("*/*.npy"):
        shutil.copy(path, flat / path.name)
    assert len(load_classification(flat, val_fraction=0.0).y_train) == 6
    assert list(load_classification_test(flat).y_test) == [0, 1, 2]


def test_superres_test_pairs(tmp_path: Path) -> None:
    out = simulate_superres(tmp_path / "sr", pairs=6, progress=False)
    assert sorted(p.name for p in (out / "test" / "LR").iterdir()) == [
        "sample6.npy",
        "sample7.npy",
    ]
    data = load_superres(out, val_fraction=0.5)
    assert sorted(data.names_train + data.names_val) == sorted(f"sample{i}.npy" for i in range(6))
    test = load_superres_test(out)
    assert test.lr_test.shape == (2, 75, 75, 1) and test.hr_test.shape == (2, 150, 150, 1)
    np.testing.assert_array_equal(test.hr_test[1, ..., 0], np.load(out / "test/HR/sample7.npy")[0])
    inspected = run_module("lensing.inspect", str(out))
    assert inspected.returncode == 0, inspected.stderr
    assert "test: 2 LR/HR pairs (read by no search;" in inspected.stdout


def test_no_test_folder_is_one_clear_error(tmp_path: Path) -> None:
    out = simulate_classification(
        tmp_path / "c", per_class=2, size=16, test_fraction=0.0, progress=False
    )
    with pytest.raises(LensSearchError, match=r"c/test: no test split \(simulate with"):
        load_classification_test(out)


def test_cli_flag_and_its_bad_values(tmp_path: Path) -> None:
    out = tmp_path / "d"
    args = ["lensing.simulate", "classify", "--per-class", "3", "--size", "16", "--no-progress"]
    assert run_module(*args, "--out", str(out), "--test-fraction", "0.5").returncode == 0
    assert json.loads((out / "manifest.json").read_text())["counts"]["test"] == 3
    inspected = run_module("lensing.inspect", str(out))
    assert "test: no 3, sphere 3, vort 3 (total 9) (read by no search;" in inspected.stdout
    for bad in ("1", "-0.1"):
        refused = run_module(*args, "--out", str(tmp_path / "x"), "--test-fraction", bad)
        assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
            f"lensing.simulate: error: --test-fraction must be in [0, 1), got {float(bad)}"
        ]
        assert not (tmp_path / "x").exists()


def test_cache_made_before_the_test_split_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENS_SEARCH_CACHE", str(tmp_path))
    old = cache_root() / f"superres-{dataset_key('superres', {'pairs': 2})}"  # the key before
    simulate_superres(old, pairs=2, test_fraction=0.0, progress=False)
    folder = default_dataset("superres", pairs=2, progress=False)
    assert folder != old and (folder / "test" / "HR" / "sample2.npy").is_file()

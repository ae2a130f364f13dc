"""DeepLense Model II/III data as users hold them: ``no_sub/cdm/axion``, 64x64, ``[image, mass]``.

The data set is written by the real simulator (``--layout model2``), then loaded, inspected through
the CLI and trained for one epoch of a real search, all as a user would run them.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens_search.data.layout import CLASS_ALIASES, CLASSES, canonical_class
from lens_search.data.load import load_classification
from lens_search.data.simulate import LAYOUTS, simulate_classification
from lens_search.data.simulate import main as simulate_main

REPO = Path(__file__).resolve().parents[2]
FOLDERS = {"no": "no_sub", "sphere": "cdm", "vort": "axion"}


@pytest.fixture(scope="module")
def model2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 images per class (4 train, 2 val; 2 more in test/) in the Model II form, by the CLI."""
    out = tmp_path_factory.mktemp("model2") / "ds"
    argv = ["classify", "--out", str(out), "--layout", "model2", "--per-class", "6"]
    assert simulate_main([*argv, "--val-fraction", "0.34", "--no-progress"]) == 0
    return out


def axion_masses(root: Path) -> dict[str, float]:
    """``m_axion`` of each vort file in ``parameters.csv``, by file name."""
    with open(root / "parameters.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["class"] == "vort"]
    return {Path(row["file"]).name: float(row["m_axion"]) for row in rows}


def run_module(*argv: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_simulator_writes_the_model2_file_structure(model2_dir: Path) -> None:
    assert LAYOUTS["model2"].folders == FOLDERS
    assert all(canonical_class(folder) == cls for cls, folder in FOLDERS.items())
    for split, count in (("train", 4), ("val", 2)):
        assert sorted(p.name for p in (model2_dir / split).iterdir()) == sorted(FOLDERS.values())
        for folder in FOLDERS.values():
            files = sorted((model2_dir / split / folder).glob(f"{folder}_*.npy"))
            assert len(files) == count
    plain = np.load(next((model2_dir / "train" / "cdm").iterdir()), allow_pickle=False)
    assert plain.shape == (64, 64) and plain.dtype == np.float64
    assert plain.min() == 0.0 and plain.max() == 1.0
    axion = next((model2_dir / "train" / "axion").iterdir())
    with pytest.raises(ValueError, match="allow_pickle=False"):
        np.load(axion, allow_pickle=False)  # an object array: a pickle, as in the public sets
    image, mass = np.load(axion, allow_pickle=True)  # how public loaders read it
    assert image.shape == (64, 64) and image.dtype == np.float64
    assert mass == axion_masses(model2_dir)[axion.name] and 1e-24 <= mass <= 1e-22


def test_model2_loads_with_the_masses_kept(model2_dir: Path) -> None:
    data = load_classification(model2_dir, image_size=64)
    assert data.x_train.shape == (12, 64, 64, 1) and data.x_val.shape == (6, 64, 64, 1)
    assert data.classes == CLASSES
    expected = axion_masses(model2_dir)
    for paths, labels, masses in (
        (data.paths_train, data.y_train, data.masses_train),
        (data.paths_val, data.y_val, data.masses_val),
    ):
        for path, label, mass in zip(paths, labels, masses, strict=True):
            assert path.parent.name == FOLDERS[CLASSES[label]]
            if CLASSES[label] == "vort":
                assert mass == expected[path.name]
            else:
                assert np.isnan(mass)
    first_vort = int(np.flatnonzero(data.y_train == 2)[0])
    image, _ = np.load(data.paths_train[first_vort], allow_pickle=True)
    np.testing.assert_allclose(data.x_train[first_vort, :, :, 0], image, atol=1e-7)


def test_inspect_cli_reports_the_mapping_and_the_masses(model2_dir: Path) -> None:
    result = run_module("lensing.inspect", str(model2_dir))
    assert result.returncode == 0, result.stderr
    assert "class folders: no_sub -> no, cdm -> sphere, axion -> vort" in result.stdout
    masses = sorted(axion_masses(model2_dir).values())
    assert (
        f"masses: 8 files hold [image, mass] (vort 8); mass range "  # 2 of them in test/
        f"[{masses[0]:.4g}, {masses[-1]:.4g}]" in result.stdout
    )
    assert "image size 64x64; files .npy; dtypes float64" in result.stdout
    assert result.stdout.strip().endswith("ok")


def test_one_epoch_search_trains_on_model2(model2_dir: Path, tmp_path: Path) -> None:
    storage = tmp_path / "runs"
    result = run_module(
        "search.classify", "--data", str(model2_dir), "--image-size", "64",
        "--backbone", "small_cnn", "--samples", "1", "--max-epochs", "1",
        "--storage", str(storage), "--name", "m2",
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = pd.read_csv(storage / "m2" / "leaderboard.csv")
    assert len(table) == 1 and table["status"][0] == "completed" and table["epochs"][0] == 1
    assert 0.0 <= table["best_val_auc"][0] <= 1.0


def test_flat_folder_of_class_prefixed_files_loads(model2_dir: Path, tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for path in model2_dir.glob("*/*/*.npy"):
        shutil.copy(path, flat / path.name)
    data = load_classification(flat, val_fraction=0.5)
    # 6 per class in train and val, 2 more in test/
    assert np.bincount(np.concatenate([data.y_train, data.y_val])).tolist() == [8, 8, 8]
    masses = np.concatenate([data.masses_train, data.masses_val])
    labels = np.concatenate([data.y_train, data.y_val])
    assert np.isfinite(masses[labels == 2]).all() and np.isnan(masses[labels != 2]).all()
    result = run_module("lensing.inspect", str(flat))
    assert result.returncode == 0, result.stderr
    assert "file-name prefixes: no_sub -> no, cdm -> sphere, axion -> vort" in result.stdout


@pytest.mark.parametrize("name", ["nosub", "no_substructure", "No_Sub"])
def test_every_no_substructure_alias_is_read_as_no(model2_dir: Path, tmp_path: Path, name: str):
    assert CLASS_ALIASES[name.lower()] == "no"
    root = tmp_path / "ds"
    shutil.copytree(model2_dir / "train", root)
    (root / "no_sub").rename(root / name)
    data = load_classification(root, val_fraction=0.5)
    no_class = [p for p, y in zip(data.paths_train, data.y_train, strict=True) if y == 0]
    assert no_class and all(p.parent.name == name for p in no_class)


def test_with_mass_writes_vort_files_of_the_default_layout(tmp_path: Path) -> None:
    out = simulate_classification(
        tmp_path / "m1",
        per_class=1,
        size=16,
        val_fraction=0.0,
        with_mass=True,
        workers=1,
        progress=False,
    )
    image, mass = np.load(out / "train" / "vort" / "vort_000000.npy", allow_pickle=True)
    assert image.shape == (1, 16, 16) and image.dtype == np.float32
    assert mass == axion_masses(out)["vort_000000.npy"]
    plain = np.load(out / "train" / "sphere" / "sphere_000000.npy", allow_pickle=False)
    assert plain.shape == (1, 16, 16)
    data = load_classification(out, val_fraction=0.0)
    assert np.isfinite(data.masses_train).tolist() == [False, False, True]

"""Loaders read every supported layout and format back as float32 in [0, 1]."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lensing.layout import CLASSES
from lensing.load import load_classification, load_superres
from lensing.simulate import simulate_classification, simulate_superres


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("load") / "cls"
    return simulate_classification(out, per_class=5, size=32, val_fraction=0.4, progress=False)


def write_class_folders(root: Path, names: tuple[str, ...], per_class: int, make) -> None:
    for c, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            make(root / name, i, c)


def test_public_layout_round_trips(simulated: Path) -> None:
    data = load_classification(simulated)
    assert data.x_train.shape == (9, 32, 32, 1) and data.x_val.shape == (6, 32, 32, 1)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.classes == CLASSES == ("no", "sphere", "vort")
    assert list(np.bincount(data.y_val)) == [2, 2, 2]
    first = np.load(data.paths_train[0], allow_pickle=False)
    np.testing.assert_array_equal(data.x_train[0, ..., 0], first[0])
    assert data.paths_train[0].parent.name == CLASSES[data.y_train[0]]


def test_image_size_resizes(simulated: Path) -> None:
    data = load_classification(simulated, image_size=20)
    assert data.x_train.shape == (9, 20, 20, 1) and data.x_val.shape == (6, 20, 20, 1)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0


def test_alias_folders_without_split_get_a_seeded_stratified_split(tmp_path: Path) -> None:
    def make(folder: Path, i: int, c: int) -> None:
        np.save(folder / f"{i}.npy", np.full((16, 16), c + i / 100.0))  # float64 (H, W)

    write_class_folders(tmp_path, ("no", "cdm", "axion"), 10, make)
    data = load_classification(tmp_path, val_fraction=0.2, seed=1)
    again = load_classification(tmp_path, val_fraction=0.2, seed=1)
    other = load_classification(tmp_path, val_fraction=0.2, seed=2)
    assert list(np.bincount(data.y_val)) == [2, 2, 2] and len(data.y_train) == 24
    assert data.paths_val == again.paths_val != other.paths_val
    assert not set(data.paths_val) & set(data.paths_train)
    assert data.x_train.dtype == np.float32
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0  # min-max scaled: values > 1


def test_uint8_and_channel_last_arrays_are_accepted(tmp_path: Path) -> None:
    def make(folder: Path, i: int, c: int) -> None:
        np.save(folder / f"{i}.npy", np.full((12, 12, 1), 51 * (c + 1), dtype=np.uint8))

    write_class_folders(tmp_path, CLASSES, 3, make)
    data = load_classification(tmp_path, val_fraction=0.0)
    assert data.x_val.shape == (0, 12, 12, 1) and data.x_train.shape == (9, 12, 12, 1)
    assert sorted(np.unique(data.x_train)) == pytest.approx([0.2, 0.4, 0.6])  # uint8 / 255


def test_png_and_jpeg_class_folders_are_read_as_grayscale(tmp_path: Path) -> None:
    def make(folder: Path, i: int, c: int) -> None:
        rgb = np.zeros((24, 24, 3), np.uint8)
        rgb[..., c] = 200
        suffix = "png" if i % 2 else "jpg"
        Image.fromarray(rgb).save(folder / f"img{i}.{suffix}")

    write_class_folders(tmp_path / "train", CLASSES, 4, make)
    write_class_folders(tmp_path / "val", CLASSES, 1, make)
    data = load_classification(tmp_path, image_size=16)
    assert data.x_train.shape == (12, 16, 16, 1) and data.x_val.shape == (3, 16, 16, 1)
    red_gray = np.asarray(Image.new("RGB", (1, 1), (200, 0, 0)).convert("L"))[0, 0] / 255
    assert data.x_val[0].mean() == pytest.approx(red_gray, abs=0.02)


def test_superres_layouts_round_trip(tmp_path: Path) -> None:
    out = simulate_superres(tmp_path / "sr", pairs=10, progress=False)
    data = load_superres(out, val_fraction=0.2, seed=0)
    assert data.lr_train.shape == (8, 75, 75, 1) and data.hr_train.shape == (8, 150, 150, 1)
    assert data.lr_val.shape == (2, 75, 75, 1) and data.hr_val.dtype == np.float32
    name = data.names_val[0]
    np.testing.assert_array_equal(data.hr_val[0, ..., 0], np.load(out / "HR" / name)[0])
    np.testing.assert_array_equal(data.lr_val[0, ..., 0], np.load(out / "LR" / name)[0])

    split = tmp_path / "split"
    for part, count in (("train", 3), ("val", 2)):
        for kind, size in (("LR", 8), ("HR", 16)):
            (split / part / kind).mkdir(parents=True)
            for i in range(count):
                np.save(split / part / kind / f"{part}{i}.npy", np.full((size, size), 0.5))
    folder_split = load_superres(split)
    assert folder_split.lr_train.shape == (3, 8, 8, 1) and folder_split.hr_val.shape == (
        2,
        16,
        16,
        1,
    )
    assert folder_split.names_val == ("val0.npy", "val1.npy")


def test_many_files_load_through_the_thread_pool(tmp_path: Path) -> None:
    def make(folder: Path, i: int, c: int) -> None:
        np.save(folder / f"{i}.npy", np.zeros((1, 32, 32), np.float32))

    write_class_folders(tmp_path, CLASSES, 1000, make)
    data = load_classification(tmp_path)
    assert len(data.y_train) + len(data.y_val) == 3000

"""Loaders read every supported layout and format back as float32 in [0, 1]."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lens_search.data.layout import CLASSES
from lens_search.data.load import load_classification, load_superres
from lens_search.data.simulate import simulate_classification, simulate_superres

REPO = Path(__file__).resolve().parents[2]


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


def constant_images_set(root: Path) -> Path:
    """Random class images, plus an all-zero one, a constant 5.0 and a constant 0.5."""

    def make(folder: Path, i: int, c: int) -> None:
        np.save(folder / f"{folder.name}{i}.npy", np.random.default_rng(i + 10 * c).random((8, 8)))

    write_class_folders(root, CLASSES, 4, make)
    np.save(root / "no" / "no0.npy", np.zeros((1, 8, 8), np.float32))
    np.save(root / "sphere" / "sphere1.npy", np.full((8, 8), 5.0))
    np.save(root / "vort" / "vort2.npy", np.full((8, 8), 0.5))
    return root


def test_constant_images_are_kept_with_one_warning_naming_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = constant_images_set(tmp_path)
    with caplog.at_level("WARNING", logger="lens_search.data"):
        data = load_classification(root, val_fraction=0.0)
    (record,) = caplog.records
    assert record.getMessage() == (
        "3 constant images (every pixel has one value: no lens to learn from; check what wrote "
        f"them): {root}/no/no0.npy, {root}/sphere/sphere1.npy, {root}/vort/vort2.npy"
    )
    assert np.isfinite(data.x_train).all() and len(data.x_train) == 12
    image = dict(zip(data.paths_train, data.x_train[..., 0], strict=True))
    # Min-max scaling maps a constant image to zeros (never 0/0 = NaN); one in [0, 1] is kept.
    assert (image[root / "no" / "no0.npy"] == 0).all()
    assert (image[root / "sphere" / "sphere1.npy"] == 0).all()
    assert (image[root / "vort" / "vort2.npy"] == 0.5).all()


def test_inspect_warns_about_a_constant_image_in_one_line_and_accepts_the_data(
    tmp_path: Path,
) -> None:
    root = constant_images_set(tmp_path)
    for extra in ("sphere/sphere1.npy", "vort/vort2.npy"):
        np.save(root / extra, np.random.default_rng(7).random((8, 8)))
    result = subprocess.run(
        [sys.executable, "-m", "lensing.inspect", str(root)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.splitlines()[-1] == "ok", result.stderr
    assert result.stderr.splitlines() == [
        "1 constant image (every pixel has one value: no lens to learn from; check what wrote "
        f"it): {root}/no/no0.npy"
    ]

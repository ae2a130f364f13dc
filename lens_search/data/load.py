"""Load lens data sets as float32 arrays in [0, 1] (the contract in docs/ARCHITECTURE.md).

>>> data = load_classification("dataset", image_size=128)
>>> data.x_train.shape, data.classes
((24000, 128, 128, 1), ('no', 'sphere', 'vort'))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.model_selection import train_test_split

from lens_search.data.images import (
    check_same_size,
    check_scale,
    masses,
    read_images,
    stack,
    warn_constant,
)
from lens_search.data.layout import (
    CLASSES,
    find_classification,
    find_superres,
    find_test_classes,
    find_test_pairs,
)
from lens_search.errors import LensSearchError

__all__ = [
    "ClassificationData",
    "ClassificationTest",
    "SuperResData",
    "SuperResTest",
    "load_classification",
    "load_classification_test",
    "load_superres",
    "load_superres_test",
]


@dataclass(frozen=True)
class ClassificationData:
    """Images (N, H, W, 1) float32 in [0, 1], int64 class indices into ``classes``, source files.

    ``masses_*`` (N,) float64: the mass stored with each image by ``[image, mass]`` files (the
    axion mass of DeepLense Model II/III), NaN for images stored alone; None when the data were not
    read from files. Training ignores them.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    classes: ClassVar[tuple[str, ...]] = CLASSES
    """Every data set has the three classes (``lensing.layout``; aliases resolved on reading)."""
    paths_train: tuple[Path, ...]
    paths_val: tuple[Path, ...]
    masses_train: np.ndarray | None = None
    masses_val: np.ndarray | None = None


@dataclass(frozen=True)
class SuperResData:
    """LR (N, h, w, 1) and HR (N, 2h, 2w, 1) float32 in [0, 1]; ``names_*`` are the file names."""

    lr_train: np.ndarray
    hr_train: np.ndarray
    lr_val: np.ndarray
    hr_val: np.ndarray
    names_train: tuple[str, ...]
    names_val: tuple[str, ...]


@dataclass(frozen=True)
class ClassificationTest:
    """The ``test/`` split, in ``ClassificationData``'s form; never part of what a search reads."""

    x_test: np.ndarray
    y_test: np.ndarray
    classes: ClassVar[tuple[str, ...]] = CLASSES
    paths_test: tuple[Path, ...]
    masses_test: np.ndarray | None = None


@dataclass(frozen=True)
class SuperResTest:
    """The ``test/LR``, ``test/HR`` pairs, in ``SuperResData``'s form."""

    lr_test: np.ndarray
    hr_test: np.ndarray
    names_test: tuple[str, ...]


def load_classification(
    path: str | Path, image_size: int | None = None, val_fraction: float = 0.2, seed: int = 0
) -> ClassificationData:
    """Read a classification data set; its own train/val folders win over a seeded split.

    Without train/val folders (or with ``train`` only) a stratified split of ``val_fraction``
    seeded by ``seed`` is made. With ``image_size`` every image is resized to that square size (so
    mixed sizes are accepted); without it, all images must have one size.
    """
    layout = find_classification(path)
    paths = {split: _flatten(by_class)[0] for split, by_class in layout.files.items()}
    labels = {split: _flatten(by_class)[1] for split, by_class in layout.files.items()}
    if not layout.has_val_folder:
        split = next(iter(layout.files))
        train_idx, val_idx = split_indices(labels[split], val_fraction, seed, stratify=True)
        all_paths, all_labels = paths[split], labels[split]
        paths = {"train": [all_paths[i] for i in train_idx], "val": [all_paths[i] for i in val_idx]}
        labels = {"train": all_labels[train_idx], "val": all_labels[val_idx]}
    files = {split: read_images(paths[split], image_size=image_size) for split in ("train", "val")}
    everything = files["train"] + files["val"]
    shape = (image_size, image_size) if image_size else check_same_size(everything)
    warn_constant(everything)
    return ClassificationData(
        x_train=stack(files["train"], shape),
        y_train=labels["train"],
        x_val=stack(files["val"], shape),
        y_val=labels["val"],
        paths_train=tuple(paths["train"]),
        paths_val=tuple(paths["val"]),
        masses_train=masses(files["train"]),
        masses_val=masses(files["val"]),
    )


def load_superres(path: str | Path, val_fraction: float = 0.1, seed: int = 0) -> SuperResData:
    """Read LR/HR pairs matched by name; their own train/val folders win over a seeded split."""
    layout = find_superres(path)
    pairs = dict(layout.pairs)
    if not layout.has_val_folder:
        everything = pairs.pop(next(iter(pairs)))
        train_idx, val_idx = split_indices(np.zeros(len(everything)), val_fraction, seed)
        pairs = {
            "train": [everything[i] for i in train_idx],
            "val": [everything[i] for i in val_idx],
        }
    lr = {split: read_images([p[0] for p in pairs[split]]) for split in ("train", "val")}
    hr = {split: read_images([p[1] for p in pairs[split]]) for split in ("train", "val")}
    lr_shape, hr_shape = check_scale(lr["train"] + lr["val"], hr["train"] + hr["val"])
    warn_constant(lr["train"] + lr["val"] + hr["train"] + hr["val"])
    return SuperResData(
        lr_train=stack(lr["train"], lr_shape),
        hr_train=stack(hr["train"], hr_shape),
        lr_val=stack(lr["val"], lr_shape),
        hr_val=stack(hr["val"], hr_shape),
        names_train=tuple(p[0].name for p in pairs["train"]),
        names_val=tuple(p[0].name for p in pairs["val"]),
    )


def load_classification_test(path: str | Path, image_size: int | None = None) -> ClassificationTest:
    """Read ``path/test/`` (class folders or class-prefixed files) as ``load_classification``
    reads a split; a LensSearchError when there is no ``test/`` folder."""
    paths, labels = _flatten(find_test_classes(path).files)
    files = read_images(paths, image_size=image_size)
    shape = (image_size, image_size) if image_size else check_same_size(files)
    return ClassificationTest(
        x_test=stack(files, shape),
        y_test=labels,
        paths_test=tuple(paths),
        masses_test=masses(files),
    )


def load_superres_test(path: str | Path) -> SuperResTest:
    """Read the pairs of ``path/test/{LR,HR}``; a LensSearchError when there are none."""
    pairs = find_test_pairs(path)
    lr = read_images([p[0] for p in pairs])
    hr = read_images([p[1] for p in pairs])
    lr_shape, hr_shape = check_scale(lr, hr)
    return SuperResTest(
        lr_test=stack(lr, lr_shape),
        hr_test=stack(hr, hr_shape),
        names_test=tuple(p[0].name for p in pairs),
    )


def split_indices(
    labels: np.ndarray, val_fraction: float, seed: int, stratify: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train and validation indices (stratified by ``labels`` when asked), each sorted."""
    if not 0.0 <= val_fraction < 1.0:
        raise LensSearchError(f"val_fraction must be in [0, 1), got {val_fraction}")
    indices = np.arange(len(labels))
    if val_fraction == 0.0:
        return indices, indices[:0]
    try:
        train, val = train_test_split(
            indices,
            test_size=val_fraction,
            random_state=seed,
            stratify=labels if stratify else None,
        )
    except ValueError as exc:
        raise LensSearchError(
            f"cannot split {len(labels)} samples with val_fraction={val_fraction}: {exc}"
        ) from None
    return np.sort(train), np.sort(val)


def _flatten(by_class: dict[str, list[Path]]) -> tuple[list[Path], np.ndarray]:
    """All files of ``by_class`` in class order, and their class indices."""
    paths = [p for c in CLASSES for p in by_class[c]]
    labels = [i for i, c in enumerate(CLASSES) for _ in by_class[c]]
    return paths, np.asarray(labels, dtype=np.int64)

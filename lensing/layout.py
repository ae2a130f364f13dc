"""Find the files of a data set on disk: classification class folders or super-resolution LR/HR.

Classification: ``ROOT/{train,val}/<class>/*`` or ``ROOT/<class>/*`` with classes ``no/sphere/vort``
(or ``no/cdm/axion``). Super-resolution: ``ROOT/{LR,HR}/*`` or ``ROOT/{train,val}/{LR,HR}/*``,
LR and HR files matched by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lensing.errors import LensSearchError
from lensing.files import is_image_file

CLASSES = ("no", "sphere", "vort")
CLASS_ALIASES = {"cdm": "sphere", "axion": "vort"}
SPLITS = ("train", "val")
ALL = "all"


@dataclass(frozen=True)
class ClassificationLayout:
    """Files per split and class; the split is ``all`` when there are no train/val folders."""

    root: Path
    files: dict[str, dict[str, list[Path]]]

    @property
    def has_val_folder(self) -> bool:
        return "val" in self.files


@dataclass(frozen=True)
class SuperResLayout:
    """(LR, HR) file pairs per split; the split is ``all`` without train/val folders."""

    root: Path
    pairs: dict[str, list[tuple[Path, Path]]]

    @property
    def has_val_folder(self) -> bool:
        return "val" in self.pairs


def natural_key(path: Path) -> list[int | str]:
    """Sort key so that ``sample2`` comes before ``sample10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def find_layout(path: str | Path) -> ClassificationLayout | SuperResLayout:
    """The layout of ``path``: super-resolution when it has LR/HR folders, else classification."""
    root = existing_folder(path)
    if _is_superres(root):
        return find_superres(root)
    return find_classification(root)


def existing_folder(path: str | Path) -> Path:
    """``path`` as a Path, or a LensSearchError when it is missing or not a folder."""
    root = Path(path).expanduser()
    if not root.exists():
        raise LensSearchError(f"{root}: no such data set folder")
    if not root.is_dir():
        raise LensSearchError(f"{root}: is a file; expected a data set folder")
    return root


def find_classification(path: str | Path) -> ClassificationLayout:
    """Class folders under ``path`` or under its ``train``/``val`` folders."""
    root = existing_folder(path)
    splits = _split_folders(root)
    if not splits:
        return ClassificationLayout(root, {ALL: class_files(root)})
    return ClassificationLayout(root, {split: class_files(root / split) for split in splits})


def class_files(folder: Path) -> dict[str, list[Path]]:
    """Image files per canonical class name in the class folders of ``folder``."""
    found: dict[str, list[Path]] = {}
    subfolders = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subfolders:
        raise LensSearchError(f"{folder}: no class folders (expected {_expected()})")
    for sub in subfolders:
        name = CLASS_ALIASES.get(sub.name.lower(), sub.name.lower())
        if name not in CLASSES:
            raise LensSearchError(f"{sub}: unknown class folder (expected {_expected()})")
        if name in found:
            raise LensSearchError(f"{sub}: a second folder for class {name!r}")
        found[name] = image_files(sub)
        if not found[name]:
            raise LensSearchError(f"{sub}: empty class folder (no .npy, .png or .jpg images)")
    missing = [c for c in CLASSES if c not in found]
    if missing:
        raise LensSearchError(f"{folder}: missing class folder(s) {', '.join(missing)}")
    return {c: found[c] for c in CLASSES}


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder``, in natural order."""
    return sorted((p for p in folder.iterdir() if is_image_file(p)), key=natural_key)


def find_superres(path: str | Path) -> SuperResLayout:
    """LR/HR pairs under ``path`` or under its ``train``/``val`` folders."""
    root = existing_folder(path)
    if (root / "LR").is_dir() or (root / "HR").is_dir():
        return SuperResLayout(root, {ALL: matched_pairs(root)})
    splits = _split_folders(root)
    if not splits:
        raise LensSearchError(f"{root}: no LR/ and HR/ folders (nor train|val/LR, train|val/HR)")
    return SuperResLayout(root, {split: matched_pairs(root / split) for split in splits})


def matched_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(LR, HR) files of the same name in ``folder/LR`` and ``folder/HR``."""
    lr_dir, hr_dir = folder / "LR", folder / "HR"
    for sub in (lr_dir, hr_dir):
        if not sub.is_dir():
            raise LensSearchError(f"{sub}: missing; super-resolution data need LR/ and HR/")
    lr = {p.name: p for p in image_files(lr_dir)}
    hr = {p.name: p for p in image_files(hr_dir)}
    if not lr:
        raise LensSearchError(f"{lr_dir}: no images")
    only_lr, only_hr = sorted(lr.keys() - hr.keys()), sorted(hr.keys() - lr.keys())
    if only_lr:
        raise LensSearchError(f"{lr[only_lr[0]]}: no HR file of the same name in {hr_dir}")
    if only_hr:
        raise LensSearchError(f"{hr[only_hr[0]]}: no LR file of the same name in {lr_dir}")
    return [(lr[name], hr[name]) for name in sorted(lr, key=lambda n: natural_key(Path(n)))]


def _split_folders(root: Path) -> list[str]:
    """``train`` (and ``val``) when present; a ``val`` folder without ``train`` is an error."""
    splits = [s for s in SPLITS if (root / s).is_dir()]
    if splits == ["val"]:
        raise LensSearchError(f"{root}: has a val/ folder but no train/ folder")
    return splits


def _is_superres(root: Path) -> bool:
    folders = [root, *(root / s for s in SPLITS)]
    return any((f / "LR").is_dir() or (f / "HR").is_dir() for f in folders)


def _expected() -> str:
    return "no/sphere/vort or no/cdm/axion"

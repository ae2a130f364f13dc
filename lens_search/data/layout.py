"""Find the files of a data set on disk: classification class folders or super-resolution LR/HR.

Classification: ``ROOT/{train,val}/<class>/*`` or ``ROOT/<class>/*`` with classes ``no/sphere/vort``
or their aliases (``no_sub/cdm/axion`` of DeepLense Model II/III, ...), or a flat folder of
class-prefixed files (``no_sub_1.npy``, ``cdm_1.npy``, ``axion_1.npy``). Super-resolution:
``ROOT/{LR,HR}/*`` or ``ROOT/{train,val}/{LR,HR}/*``, LR and HR files matched by name.

``ROOT/test/`` is the test split, in any of these forms (class folders, class-prefixed files or
``LR/``+``HR/``). ``find_classification`` and ``find_superres`` leave it out, so nothing that
searches or trains lists it; only ``find_test_classes`` and ``find_test_pairs`` do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lens_search.data.files import is_image_file
from lens_search.errors import LensSearchError

CLASSES = ("no", "sphere", "vort")
# Other names of the classes in public data sets (folder names or file-name prefixes).
CLASS_ALIASES = {
    "no_sub": "no",
    "nosub": "no",
    "no_substructure": "no",
    "cdm": "sphere",
    "axion": "vort",
}
# Longest first, so that a file ``no_sub_1.npy`` is read as ``no_sub`` before ``no``.
_CLASS_NAMES = sorted((*CLASSES, *CLASS_ALIASES), key=len, reverse=True)
SPLITS = ("train", "val")
TEST = "test"
ALL = "all"


@dataclass(frozen=True)
class ClassificationLayout:
    """Files per split and class; the split is ``all`` when there are no train/val folders.

    ``names`` maps each folder name (or file-name prefix when ``flat``) found on disk to its class.
    """

    root: Path
    files: dict[str, dict[str, list[Path]]]
    names: dict[str, str] = field(default_factory=dict)
    flat: bool = False

    @property
    def has_val_folder(self) -> bool:
        return "val" in self.files


@dataclass(frozen=True)
class ClassFiles:
    """Image files per canonical class of one folder, and the on-disk name of each class."""

    files: dict[str, list[Path]]
    names: dict[str, str]
    flat: bool


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
    """Class folders (or class-prefixed files) under ``path`` or its ``train``/``val`` folders."""
    root = existing_folder(path)
    splits = _split_folders(root)
    found = {split: class_files(root / split) for split in splits} or {
        ALL: class_files(root, skip=TEST)
    }
    names = {name: cls for group in found.values() for name, cls in group.names.items()}
    return ClassificationLayout(
        root,
        {split: group.files for split, group in found.items()},
        names,
        flat=any(group.flat for group in found.values()),
    )


def canonical_class(name: str) -> str | None:
    """``no``, ``sphere`` or ``vort`` for a class name or alias (any case), else None."""
    name = name.lower()
    return name if name in CLASSES else CLASS_ALIASES.get(name)


def class_of_file(path: Path) -> str | None:
    """The class name or alias that starts the file name (``no_sub_7.npy`` -> ``no_sub``)."""
    stem = path.stem.lower()
    for name in _CLASS_NAMES:
        if stem.startswith(name) and not stem[len(name) : len(name) + 1].isalpha():
            return name
    return None


def class_files(folder: Path, skip: str | None = None) -> ClassFiles:
    """Class folders of ``folder`` (but ``skip``); without sub-folders, its class-prefixed files."""
    subfolders = sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != skip
    )
    if subfolders:
        return _class_folders(folder, subfolders)
    flat = image_files(folder)
    if not any(class_of_file(path) for path in flat):
        raise LensSearchError(
            f"{folder}: no class folders (expected {_expected()}, or files named like axion_1.npy)"
        )
    return _class_prefixed(folder, flat)


def _class_folders(folder: Path, subfolders: list[Path]) -> ClassFiles:
    found: dict[str, list[Path]] = {}
    names: dict[str, str] = {}
    for sub in subfolders:
        name = canonical_class(sub.name)
        if name is None:
            raise LensSearchError(f"{sub}: unknown class folder (expected {_expected()})")
        if name in found:
            raise LensSearchError(f"{sub}: a second folder for class {name!r}")
        found[name], names[sub.name] = image_files(sub), name
        if not found[name]:
            raise LensSearchError(f"{sub}: empty class folder (no .npy, .png or .jpg images)")
    _check_all_classes(folder, found, "class folder(s)")
    return ClassFiles({c: found[c] for c in CLASSES}, _in_class_order(names), flat=False)


def _class_prefixed(folder: Path, files: list[Path]) -> ClassFiles:
    found: dict[str, list[Path]] = {c: [] for c in CLASSES}
    names: dict[str, str] = {}
    for path in files:
        prefix = class_of_file(path)
        if prefix is None:
            raise LensSearchError(
                f"{path}: the file name does not start with a class ({_expected()}) in a "
                "folder of class-prefixed files such as axion_1.npy"
            )
        names[prefix] = cls = CLASS_ALIASES.get(prefix, prefix)
        found[cls].append(path)
    _check_all_classes(folder, {c: paths for c, paths in found.items() if paths}, "files of class")
    return ClassFiles(found, _in_class_order(names), flat=True)


def _in_class_order(names: dict[str, str]) -> dict[str, str]:
    return dict(sorted(names.items(), key=lambda item: CLASSES.index(item[1])))


def _check_all_classes(folder: Path, found: dict[str, list[Path]], what: str) -> None:
    missing = [c for c in CLASSES if c not in found]
    if missing:
        raise LensSearchError(f"{folder}: missing {what} {', '.join(missing)}")


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


def has_test_split(path: str | Path) -> bool:
    """True when the data set at ``path`` has a ``test/`` folder."""
    return (existing_folder(path) / TEST).is_dir()


def find_test_classes(path: str | Path) -> ClassFiles:
    """The class folders (or class-prefixed files) of ``path/test``."""
    return class_files(_test_folder(path))


def find_test_pairs(path: str | Path) -> list[tuple[Path, Path]]:
    """The (LR, HR) pairs of ``path/test/LR`` and ``path/test/HR``."""
    return matched_pairs(_test_folder(path))


def _test_folder(path: str | Path) -> Path:
    folder = existing_folder(path) / TEST
    if not folder.is_dir():
        raise LensSearchError(
            f"{folder}: no test split (simulate with --test-fraction above 0, or put the "
            "images no search may see in a test/ folder beside train/)"
        )
    return folder


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
    return "no/sphere/vort, no/cdm/axion or no_sub/cdm/axion"

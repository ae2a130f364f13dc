"""Validate a data set and print what it holds; bad data is one line naming the file, exit 2.

python -m lensing.inspect data/classify
python -m lensing.inspect data/sr
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lens_search.cli import OneLineParser, console_script
from lens_search.data.images import (
    ImageFile,
    check_same_size,
    check_scale,
    read_images,
    warn_constant,
)
from lens_search.data.layout import (
    ALL,
    TEST,
    ClassificationLayout,
    SuperResLayout,
    find_layout,
    find_test_classes,
    find_test_pairs,
    has_test_split,
)

TEST_NOTE = "(read by no search; results.retrain and results.evaluate report on it)"


def inspect_dataset(path: str | Path) -> list[str]:
    """Check every file of the data set at ``path``; return the summary lines."""
    layout = find_layout(path)
    if isinstance(layout, SuperResLayout):
        return _superres_summary(layout)
    return _classification_summary(layout)


def _classification_summary(layout: ClassificationLayout) -> list[str]:
    lines = [f"layout: classification at {layout.root} ({_split_words(layout.files)})"]
    lines.append(_names_line(layout))
    everything: list[ImageFile] = []
    by_class_all: dict[str, list[ImageFile]] = {}
    splits = dict(layout.files)
    if has_test_split(layout.root):
        splits[TEST] = find_test_classes(layout.root).files
    for split, by_class in splits.items():
        files = {cls: read_images(paths, keep=False) for cls, paths in by_class.items()}
        for cls, group in files.items():
            by_class_all.setdefault(cls, []).extend(group)
        everything += [f for group in files.values() for f in group]
        counts = ", ".join(f"{cls} {len(group)}" for cls, group in files.items())
        note = f" {TEST_NOTE}" if split == TEST else ""
        lines.append(f"{split}: {counts} (total {sum(len(g) for g in files.values())}){note}")
    shape = check_same_size(everything)
    warn_constant(everything)
    lines += _value_lines(everything, f"image size {shape[0]}x{shape[1]}")
    lines += _mass_lines(by_class_all)
    return lines


def _names_line(layout: ClassificationLayout) -> str:
    """Which folder name (or file-name prefix) on disk was read as which class."""
    what = "file-name prefixes" if layout.flat else "class folders"
    return f"{what}: " + ", ".join(f"{name} -> {cls}" for name, cls in layout.names.items())


def _mass_lines(by_class: dict[str, list[ImageFile]]) -> list[str]:
    """Count and range of the masses stored as ``[image, mass]``; nothing when there are none."""
    with_mass = {c: [f.mass for f in files if f.mass is not None] for c, files in by_class.items()}
    values = [m for group in with_mass.values() for m in group]
    if not values:
        return []
    counts = ", ".join(f"{cls} {len(group)}" for cls, group in with_mass.items() if group)
    return [
        f"masses: {len(values)} files hold [image, mass] ({counts}); mass range "
        f"[{min(values):.4g}, {max(values):.4g}] (kept as masses_train/masses_val, not trained on)"
    ]


def _superres_summary(layout: SuperResLayout) -> list[str]:
    lines = [f"layout: super-resolution at {layout.root} ({_split_words(layout.pairs)})"]
    lr: list[ImageFile] = []
    hr: list[ImageFile] = []
    splits = dict(layout.pairs)
    if has_test_split(layout.root):
        splits[TEST] = find_test_pairs(layout.root)
    for split, pairs in splits.items():
        lr += read_images([p[0] for p in pairs], keep=False)
        hr += read_images([p[1] for p in pairs], keep=False)
        note = f" {TEST_NOTE}" if split == TEST else ""
        lines.append(f"{split}: {len(pairs)} LR/HR pairs{note}")
    lr_shape, hr_shape = check_scale(lr, hr)
    warn_constant(lr + hr)
    lines += _value_lines(lr, f"size {lr_shape[0]}x{lr_shape[1]}", "LR ")
    lines += _value_lines(hr, f"size {hr_shape[0]}x{hr_shape[1]} (x2)", "HR ")
    return lines


def _value_lines(files: list[ImageFile], size: str, prefix: str = "") -> list[str]:
    dtypes = sorted({f.dtype for f in files})
    suffixes = sorted({f.path.suffix.lower() for f in files})
    low, high = min(f.low for f in files), max(f.high for f in files)
    return [
        f"{prefix}{size}; files {', '.join(suffixes)}; dtypes {', '.join(dtypes)}",
        f"{prefix}value range [{low:.4g}, {high:.4g}]"
        + ("" if 0.0 <= low and high <= 1.0 else " (loaders rescale to [0, 1])"),
    ]


def _split_words(splits: dict) -> str:
    if ALL in splits:
        return "no train/val folders: loaders make a seeded split"
    return "folder split " + "/".join(splits)


def main(argv: Sequence[str] | None = None) -> int:
    """Inspect the data set named on the command line."""
    parser = OneLineParser(prog="python -m lensing.inspect", description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path, help="data set folder (classification or LR/HR)")
    args = parser.parse_args(argv)
    print("\n".join(inspect_dataset(args.path)))
    print("ok")
    return 0


cli = console_script(main, prog="lensing.inspect")


if __name__ == "__main__":
    cli()

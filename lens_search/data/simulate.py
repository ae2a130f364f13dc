"""Simulate DeepLense-style data sets with lenstronomy on every core.

Classification: ``DIR/{train,val,test}/{no,sphere,vort}/<class>_<index>.npy``, each (1, size,
size) float32 in [0, 1]; with ``--layout model2`` the DeepLense Model II/III files instead:
``DIR/{train,val,test}/{no_sub,cdm,axion}/<folder>_<index>.npy``, (64, 64) float64, each axion file
the object array ``[image, m_axion]``. Super-resolution: ``DIR/LR/sample{i}.npy`` (1, 75, 75) and
``DIR/HR/sample{i}.npy`` (1, 150, 150), the test pairs in ``DIR/test/{LR,HR}/``. Both write
``manifest.json`` and ``parameters.csv``.

``test/`` holds ``--test-fraction`` of each class's images (of all pairs), simulated beyond the
``--per-class`` (``--pairs``) images of train and val, so those stay the same images whatever the
fraction. No search reads ``test/`` (``lensing.load``); ``results.retrain`` and
``results.evaluate`` report on it.

    python -m lensing.simulate classify --out data/classify --preset varied --per-class 3000
    python -m lensing.simulate classify --out data/model2 --layout model2
    python -m lensing.simulate superres --out data/sr --pairs 1000
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from lens_search.cli import OneLineParser, console_script
from lens_search.data.layout import CLASSES
from lens_search.data.npy_objects import save_with_mass
from lens_search.data.output import build_once, package_versions, write_parameters
from lens_search.data.presets import PRESETS, SR_HR_SIZE, SR_SCALE, preset_table
from lens_search.errors import LensSearchError

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
DEFAULT_PRESET = "model1"
DEFAULT_PER_CLASS = 3000
DEFAULT_PAIRS = 1000
DEFAULT_SIZE = 150
DEFAULT_VAL_FRACTION = 0.2
# A quarter of each class's images: 1,000 test images beside the default 3,000 per class.
DEFAULT_TEST_FRACTION = 0.25
_THREADED_MODULES = ("tensorflow", "torch", "jax", "ray")
MASS_CLASS = "vort"  # the class whose files can hold [image, axion mass]


@dataclass(frozen=True)
class FileLayout:
    """How classification images are written: class folder names, array form, default size."""

    folders: dict[str, str]
    dtype: type
    channel_axis: bool  # (1, N, N) rather than (N, N)
    size: int
    with_mass: bool  # the vort/axion files are [image, mass]


LAYOUTS = {
    "model1": FileLayout(
        folders={c: c for c in CLASSES},
        dtype=np.float32,
        channel_axis=True,
        size=DEFAULT_SIZE,
        with_mass=False,
    ),
    "model2": FileLayout(  # names the readers know from lensing.layout.CLASS_ALIASES
        folders={"no": "no_sub", "sphere": "cdm", "vort": "axion"},
        dtype=np.float64,
        channel_axis=False,
        size=64,
        with_mass=True,
    ),
}
DEFAULT_LAYOUT = "model1"


@dataclass(frozen=True)
class ClassifyJob:
    """One classification image to render: its class, index within the class and file."""

    cls: str
    index: int
    split: str
    folder: str = ""

    @property
    def file(self) -> str:
        folder = self.folder or self.cls
        return f"{self.split}/{folder}/{folder}_{self.index:06d}.npy"


def simulate_classification(
    out: str | Path,
    preset: str = DEFAULT_PRESET,
    per_class: int = DEFAULT_PER_CLASS,
    size: int | None = None,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    layout: str = DEFAULT_LAYOUT,
    with_mass: bool = False,
    test_fraction: float = DEFAULT_TEST_FRACTION,
) -> Path:
    """Simulate ``per_class`` images of each class into ``out`` (reused if it already matches).

    ``val_fraction`` of the ``per_class`` images go to ``val/``; ``size_of_test_split(per_class,
    test_fraction)`` more per class go to ``test/`` (``test_fraction`` of all the class's images).

    ``layout`` ``model2`` writes DeepLense Model II/III files (see the module docstring); its
    ``size`` defaults to 64, else 150. ``with_mass`` writes each vort file as ``[image, m_axion]``
    (always so with ``model2``).

    Example:
        >>> simulate_classification("data/cls", preset="varied", per_class=333, size=128)
        >>> simulate_classification("data/model2", layout="model2", per_class=100)
    """
    preset_table(preset)
    files = _file_layout(layout)
    size = files.size if size is None else size
    _check_counts(per_class=per_class, size=size)
    if not 0.0 <= val_fraction < 1.0:
        raise LensSearchError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    n_val, n_test = round(per_class * val_fraction), size_of_test_split(per_class, test_fraction)
    jobs = [
        ClassifyJob(cls, i, _split_of(i, per_class, n_val), files.folders[cls])
        for cls in CLASSES
        for i in range(per_class + n_test)
    ]
    request = {
        "task": "classify",
        "format": FORMAT_VERSION,
        "preset": preset,
        "per_class": per_class,
        "size": size,
        "val_fraction": val_fraction,
        "seed": seed,
    }
    mass = with_mass or files.with_mass
    if layout != DEFAULT_LAYOUT:  # only then: manifests of earlier data sets still match
        request["layout"] = layout
    if mass != files.with_mass:
        request["with_mass"] = mass
    if test_fraction:  # only then: manifests of data sets made before test/ still match
        request["test_fraction"] = test_fraction
    render = partial(
        _render_classification, seed=seed, preset=preset, size=size, layout=layout, with_mass=mass
    )

    def build(staging: Path) -> dict[str, Any]:
        for split in ("train", "val", "test"):
            if split == "train" or (n_val if split == "val" else n_test):
                for folder in files.folders.values():
                    (staging / split / folder).mkdir(parents=True)
        rows = _run(jobs, render, staging, workers, progress, "classify")
        write_parameters(staging, rows)
        counts = {"train": per_class - n_val, "val": n_val}
        if n_test:
            counts["test"] = n_test
        body = _manifest_body(preset, counts, [size, size])
        return {**body, "layout": layout, "class_folders": files.folders, "with_mass": mass}

    return build_once(Path(out), request, build, _say)


def simulate_superres(
    out: str | Path,
    pairs: int = DEFAULT_PAIRS,
    noise: bool = True,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    preset: str = DEFAULT_PRESET,
    test_fraction: float = DEFAULT_TEST_FRACTION,
) -> Path:
    """Simulate ``pairs`` LR/HR pairs of lenses without substructure into ``out``.

    ``size_of_test_split(pairs, test_fraction)`` more pairs go to ``test/LR`` and ``test/HR``.

    Example:
        >>> simulate_superres("data/sr", pairs=1000, noise=True)
    """
    preset_table(preset)
    _check_counts(pairs=pairs)
    n_test = size_of_test_split(pairs, test_fraction)
    request: dict[str, Any] = {
        "task": "superres",
        "format": FORMAT_VERSION,
        "preset": preset,
        "pairs": pairs,
        "noise": noise,
        "seed": seed,
    }
    if test_fraction:  # only then: manifests of data sets made before test/ still match
        request["test_fraction"] = test_fraction
    render = partial(_render_superres, seed=seed, preset=preset, noise=noise, pairs=pairs)

    def build(staging: Path) -> dict[str, Any]:
        for folder in ("", "test") if n_test else ("",):
            (staging / folder / "LR").mkdir(parents=True)
            (staging / folder / "HR").mkdir(parents=True)
        rows = _run(list(range(pairs + n_test)), render, staging, workers, progress, "superres")
        write_parameters(staging, rows)
        lr = SR_HR_SIZE // SR_SCALE
        counts = {"pairs": pairs, **({"test": n_test} if n_test else {})}
        return _manifest_body(preset, counts, {"LR": [lr, lr], "HR": [SR_HR_SIZE] * 2})

    return build_once(Path(out), request, build, _say)


def size_of_test_split(count: int, test_fraction: float) -> int:
    """Test images beside ``count`` train+val images, so that they are ``test_fraction`` of all."""
    if not 0.0 <= test_fraction < 1.0:
        raise LensSearchError(f"--test-fraction must be in [0, 1), got {test_fraction}")
    return round(count * test_fraction / (1.0 - test_fraction))


def _split_of(index: int, per_class: int, n_val: int) -> str:
    """Train first, then the last ``n_val`` of ``per_class`` for val, then test beyond them."""
    if index >= per_class:
        return "test"
    return "val" if index >= per_class - n_val else "train"


def _render_classification(
    job: ClassifyJob,
    root: Path,
    *,
    seed: int,
    preset: str,
    size: int,
    layout: str = DEFAULT_LAYOUT,
    with_mass: bool = False,
) -> dict[str, Any]:
    from lens_search.data.samples import classification_image

    image, params = classification_image(seed, job.cls, job.index, preset, size)
    files = LAYOUTS[layout]
    image = image.astype(files.dtype) if files.channel_axis else image[0].astype(files.dtype)
    if with_mass and job.cls == MASS_CLASS:
        save_with_mass(root / job.file, image, params["m_axion"])
    else:
        np.save(root / job.file, image)
    return {"file": job.file, "split": job.split, "class": job.cls, **params}


def _file_layout(name: str) -> FileLayout:
    if name not in LAYOUTS:
        raise LensSearchError(f"unknown layout {name!r} (choose from {', '.join(LAYOUTS)})")
    return LAYOUTS[name]


def _render_superres(
    index: int, root: Path, *, seed: int, preset: str, noise: bool, pairs: int
) -> dict[str, Any]:
    """Pair ``index``: in ``LR/``, ``HR/`` below ``pairs``, else in ``test/LR``, ``test/HR``."""
    from lens_search.data.samples import superres_pair

    lr, hr, params = superres_pair(seed, index, preset, noise)
    name = f"sample{index}.npy"
    folder = root / "test" if index >= pairs else root
    np.save(folder / "LR" / name, lr)
    np.save(folder / "HR" / name, hr)
    split = {"split": "test"} if index >= pairs else {}
    return {"file": name, **split, **params}


def _run(
    jobs: Sequence[Any],
    render: Callable[..., dict[str, Any]],
    root: Path,
    workers: int | None,
    progress: bool,
    label: str,
) -> list[dict[str, Any]]:
    """Render every job (in order of ``jobs``) on ``workers`` processes; returns their rows."""
    import lens_search.data.samples  # noqa: F401  lenstronomy, loaded once here so forked workers share it

    workers = min(_worker_count(workers), len(jobs))
    task = partial(render, root=root)
    start = time.perf_counter()
    bar = partial(
        tqdm, total=len(jobs), desc=label, unit="img", file=sys.stderr, disable=not progress
    )
    if workers == 1:
        rows = _collect(map(task, jobs), bar(), label)
    else:
        # Small chunks: the last one leaves a core idle, and the bar moves (and names the class)
        # as chunks come back; 64 per worker keep that tail near 1 % for a few kB of IPC each.
        chunksize = max(1, len(jobs) // (workers * 64))
        with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
            rows = _collect(pool.map(task, jobs, chunksize=chunksize), bar(), label)
    seconds = time.perf_counter() - start
    _say(
        f"{label}: {len(jobs)} samples in {seconds:.1f} s ({len(jobs) / seconds:.1f}/s, "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    return rows


def _collect(results: Iterable[dict[str, Any]], bar: tqdm, label: str) -> list[dict[str, Any]]:
    """The rows in order, ticking ``bar``, whose label names the class being simulated."""
    rows: list[dict[str, Any]] = []
    with bar:
        for row in results:
            if "class" in row and (not rows or rows[-1].get("class") != row["class"]):
                bar.set_description(f"{label} {row['class']}", refresh=False)
            rows.append(row)
            bar.update()
    return rows


def _worker_count(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    if workers < 1:
        raise LensSearchError(f"--workers must be at least 1, got {workers}")
    return workers


def _pool_context() -> mp.context.BaseContext:
    """Fork (fast start) unless a threaded runtime is loaded, where forking can deadlock."""
    threaded = any(name in sys.modules for name in _THREADED_MODULES)
    return mp.get_context("spawn" if threaded else "fork")


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        low = 8 if name == "size" else 1
        if value < low:
            raise LensSearchError(f"--{name.replace('_', '-')} must be at least {low}, got {value}")


def _manifest_body(
    preset: str, counts: dict[str, int], image_size: list[int] | dict[str, list[int]]
) -> dict[str, Any]:
    return {
        "preset_parameters": {
            k: list(v) if isinstance(v, tuple) else v for k, v in PRESETS[preset].items()
        },
        "counts": counts,
        "image_size": image_size,
        "versions": package_versions(),
    }


def _say(message: str) -> None:
    logger.info(message)


def build_parser() -> OneLineParser:
    """The ``classify`` and ``superres`` sub-commands and their flags."""
    parser = OneLineParser(prog="python -m lensing.simulate", description=__doc__.split("\n")[0])
    tasks = parser.add_subparsers(dest="task", required=True, parser_class=OneLineParser)
    classify = tasks.add_parser("classify", help="three-class lens images (no, sphere, vort)")
    classify.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    classify.add_argument("--per-class", type=int, default=DEFAULT_PER_CLASS)
    classify.add_argument(
        "--size",
        type=int,
        default=None,
        help=f"pixels per side (default {DEFAULT_SIZE}, {LAYOUTS['model2'].size} with --layout "
        "model2); the 7.5 arcsec field of view is kept",
    )
    classify.add_argument("--val-fraction", type=float, default=DEFAULT_VAL_FRACTION)
    classify.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        default=DEFAULT_LAYOUT,
        help="model1: {no,sphere,vort}/, (1,N,N) float32; model2: the DeepLense Model II/III "
        "files, {no_sub,cdm,axion}/, (N,N) float64, axion files [image, m_axion]",
    )
    classify.add_argument(
        "--with-mass",
        action="store_true",
        help="write each vort file as the object array [image, m_axion] (always on for model2)",
    )
    superres = tasks.add_parser("superres", help="LR (75 px) / HR (150 px) pairs")
    superres.add_argument("--pairs", type=int, default=DEFAULT_PAIRS)
    superres.add_argument("--noise", choices=("on", "off"), default="on")
    superres.add_argument("--preset", choices=sorted(PRESETS), default=DEFAULT_PRESET)
    classify.set_defaults(run=_run_classify)
    superres.set_defaults(run=_run_superres)
    for sub in (classify, superres):
        sub.add_argument(
            "--test-fraction",
            type=float,
            default=DEFAULT_TEST_FRACTION,
            help="share of each class's images (of all pairs) written to test/, simulated beyond "
            f"--per-class (--pairs); no search reads them (default {DEFAULT_TEST_FRACTION}: "
            f"{size_of_test_split(DEFAULT_PER_CLASS, DEFAULT_TEST_FRACTION)} per class beside "
            f"{DEFAULT_PER_CLASS}; 0: no test/)",
        )
        sub.add_argument("--out", type=Path, required=True, help="data-set folder to create")
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
        sub.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _run_classify(args: argparse.Namespace, common: dict[str, Any]) -> Path:
    return simulate_classification(
        args.out,
        preset=args.preset,
        per_class=args.per_class,
        size=args.size,
        val_fraction=args.val_fraction,
        layout=args.layout,
        with_mass=args.with_mass,
        **common,
    )


def _run_superres(args: argparse.Namespace, common: dict[str, Any]) -> Path:
    return simulate_superres(
        args.out, pairs=args.pairs, noise=args.noise == "on", preset=args.preset, **common
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and simulate; prints the data set's folder on stdout."""
    args = build_parser().parse_args(argv)
    common = {
        "seed": args.seed,
        "workers": args.workers,
        "progress": not args.no_progress,
        "test_fraction": args.test_fraction,
    }
    out = args.run(args, common)
    print(out)
    return 0


SIMULATORS: dict[str, Callable[..., Path]] = {
    "classify": simulate_classification,
    "superres": simulate_superres,
}
"""The simulators by the name of the data set they write (``lensing.cache.default_dataset``)."""

cli = console_script(main, prog="lensing.simulate")


if __name__ == "__main__":
    cli()

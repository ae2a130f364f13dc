"""Simulator throughput: images/s per class (fast vs plain lenstronomy), per worker count, per set.

    python -m bench.simulate                 # 150 px classification + SR pairs, 1 vs all cores
    python -m bench.simulate --quick         # seconds; what the test runs
    python -m bench.simulate --datasets 1000,1500,3000   # also time whole data sets, all cores

Prints tables and writes CSVs (default ``bench/out/simulate.csv``, ``simulate_classes.csv`` and
``simulate_datasets.csv`` beside it). It checks that both worker counts wrote the same bytes, and
that the fast point masses render each class's images byte for byte as lenstronomy's own
POINT_MASS profiles do (``plain``); the two renders of each image are timed one after the other,
so a shared machine slows both alike.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import parse_bench_args
from lens_search.cli import OneLineParser, run_cli
from lens_search.data.layout import CLASSES
from lens_search.data.physics import render_observed
from lens_search.data.pixels import min_max
from lens_search.data.presets import FIELD_OF_VIEW, PRESETS, draw_lens_params
from lens_search.data.samples import classification_image, sample_rng
from lens_search.data.simulate import simulate_classification, simulate_superres
from lens_search.data.substructure import draw_substructure

COLUMNS = (
    "task",
    "size",
    "workers",
    "images",
    "seconds",
    "images_per_s",
    "speedup",
    "cores_busy",
    "same_bytes",
)
CLASS_COLUMNS = (
    "class",
    "size",
    "images",
    "plain_s",
    "fast_s",
    "plain_per_s",
    "fast_per_s",
    "plain_cpu_ms",
    "fast_cpu_ms",
    "speedup",
    "same_bytes",
)
DATASET_COLUMNS = (
    "per_class",
    "size",
    "workers",
    "images",
    "seconds",
    "images_per_s",
    "cpu_s",
    "cpu_s_per_worker",
)


def fingerprint(folder: Path) -> str:
    """SHA-256 over every .npy file's relative path and bytes."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.npy")):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def time_run(
    simulate: Callable[..., Path], folder: Path, **kwargs: Any
) -> tuple[float, float, str]:
    """Wall and CPU seconds (workers included) of one simulation, and its files' fingerprint.

    CPU / wall is how many cores the run kept busy: below the worker count when other jobs share
    the machine, which explains a speedup below the worker count.
    """
    cpu_before, start = _cpu_seconds(), time.perf_counter()
    simulate(folder, progress=False, **kwargs)
    wall = time.perf_counter() - start
    return wall, _cpu_seconds() - cpu_before, fingerprint(folder)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_task(
    task: str,
    images: int,
    simulate: Callable[..., Path],
    settings: dict[str, Any],
    worker_counts: Sequence[int],
) -> list[dict[str, object]]:
    """One row per worker count for one task."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        for workers in worker_counts:
            seconds, cpu, digest = time_run(
                simulate, Path(tmp) / f"w{workers}", workers=workers, **settings
            )
            rows.append(
                {
                    "task": task,
                    "size": settings.get("size", 150),
                    "workers": workers,
                    "images": images,
                    "seconds": round(seconds, 2),
                    "images_per_s": round(images / seconds, 2),
                    "cores_busy": round(cpu / seconds, 2),
                    "digest": digest,
                }
            )
    reference_rate, reference_digest = float(rows[0]["images_per_s"]), rows[0]["digest"]
    for row in rows:
        row["speedup"] = round(float(row["images_per_s"]) / reference_rate, 2)
        row["same_bytes"] = row.pop("digest") == reference_digest
    return rows


def render_class_image(cls: str, index: int, preset: str, size: int, plain: bool) -> np.ndarray:
    """``classification_image``'s pixels, with lenstronomy's POINT_MASS profiles if ``plain``."""
    rng = sample_rng(0, "classify", CLASSES.index(cls), index)
    params = draw_lens_params(rng, preset)
    masses = draw_substructure(rng, cls)
    return min_max(render_observed(params, masses, size, FIELD_OF_VIEW / size, rng, plain=plain))


def bench_classes(per_class: int, size: int, preset: str) -> list[dict[str, object]]:
    """One process: per class, seconds of the plain and the fast render of the same images.

    CPU ms per image is what other jobs on a shared machine disturb least.
    """
    for plain in (True, False):  # lenstronomy's lazy set-up, the fast path's cached model
        render_class_image("vort", per_class, preset, size, plain)
    rows: list[dict[str, object]] = []
    for cls in CLASSES:
        seconds, cpu = {True: 0.0, False: 0.0}, {True: 0.0, False: 0.0}
        same = True
        for index in range(per_class):
            images = {}
            for plain in (True, False):
                start, cpu_start = time.perf_counter(), time.process_time()
                images[plain] = render_class_image(cls, index, preset, size, plain)
                seconds[plain] += time.perf_counter() - start
                cpu[plain] += time.process_time() - cpu_start
            same = same and images[True].tobytes() == images[False].tobytes()
        rows.append(
            {
                "class": cls,
                "size": size,
                "images": per_class,
                "plain_s": round(seconds[True], 2),
                "fast_s": round(seconds[False], 2),
                "plain_per_s": round(per_class / seconds[True], 1),
                "fast_per_s": round(per_class / seconds[False], 1),
                "plain_cpu_ms": round(1000 * cpu[True] / per_class, 1),
                "fast_cpu_ms": round(1000 * cpu[False] / per_class, 1),
                "speedup": round(seconds[True] / seconds[False], 2),
                "same_bytes": same,
            }
        )
    return rows


def bench_datasets(per_class_counts: Sequence[int], size: int) -> list[dict[str, object]]:
    """Wall seconds of whole classification sets (the default preset) on every core.

    CPU seconds per worker is what the wall time would be on idle cores that scale perfectly.
    """
    workers = os.cpu_count() or 1
    rows: list[dict[str, object]] = []
    for per_class in per_class_counts:
        with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
            cpu_start, start = _cpu_seconds(), time.perf_counter()
            simulate_classification(
                Path(tmp) / "data", per_class=per_class, size=size, workers=workers, progress=False
            )
            seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
        images = len(CLASSES) * per_class
        rows.append(
            {
                "per_class": per_class,
                "size": size,
                "workers": workers,
                "images": images,
                "seconds": round(seconds, 1),
                "images_per_s": round(images / seconds, 1),
                "cpu_s": round(cpu, 1),
                "cpu_s_per_worker": round(cpu / workers, 1),
            }
        )
    return rows


def run_benchmark(per_class: int, size: int, pairs: int) -> list[dict[str, object]]:
    """Classification and SR throughput with 1 process and with every core."""
    worker_counts = sorted({1, os.cpu_count() or 1})
    classification_image(0, "sphere", 0, "varied", size)  # warm lenstronomy's lazy set-up
    classify = {"per_class": per_class, "size": size, "preset": "varied"}
    rows = bench_task("classify", 3 * per_class, simulate_classification, classify, worker_counts)
    rows += bench_task("superres", pairs, simulate_superres, {"pairs": pairs}, worker_counts)
    return rows


def write_csv(rows: list[dict[str, object]], out: Path, columns: Sequence[str] = COLUMNS) -> None:
    """Write the rows with the ``columns`` header."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def format_table(rows: list[dict[str, object]], columns: Sequence[str] = COLUMNS) -> str:
    """Rows as an aligned text table."""
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.rjust(widths[c]) for c in columns)]
    lines += ["  ".join(str(r[c]).rjust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the CSV."""
    parser = OneLineParser(prog="python -m bench.simulate", description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=40, help="classification images per class")
    parser.add_argument("--size", type=int, default=150, help="classification image size")
    parser.add_argument("--pairs", type=int, default=60, help="super-resolution pairs")
    parser.add_argument(
        "--class-images", type=int, default=20, help="images per class, timed plain and fast"
    )
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="model1", help="preset of the per-class timing"
    )
    parser.add_argument(
        "--datasets",
        type=_counts,
        default=(),
        help="images per class of whole sets to time on every core, e.g. 1000,3000",
    )
    args = parse_bench_args(
        parser,
        argv,
        "tiny run (2 per class, 32 px, 2 pairs)",
        per_class=2,
        size=32,
        pairs=2,
        class_images=2,
    )
    classes = bench_classes(args.class_images, args.size, args.preset)
    _report(classes, args.out.with_name(f"{args.out.stem}_classes.csv"), CLASS_COLUMNS)
    if args.datasets:
        datasets = bench_datasets(args.datasets, args.size)
        _report(datasets, args.out.with_name(f"{args.out.stem}_datasets.csv"), DATASET_COLUMNS)
    _report(run_benchmark(args.per_class, args.size, args.pairs), args.out, COLUMNS)
    return 0


def _report(rows: list[dict[str, object]], out: Path, columns: Sequence[str]) -> None:
    print(format_table(rows, columns), flush=True)
    write_csv(rows, out, columns)
    print(f"wrote {out}", file=sys.stderr)


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 1000,3000, got {text!r}") from None
    if min(counts) < 1:
        raise argparse.ArgumentTypeError(f"counts must be at least 1, got {text!r}")
    return counts


if __name__ == "__main__":
    run_cli(main, prog="bench.simulate")

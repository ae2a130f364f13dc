"""Simulator throughput: images/s with one process and with every core, side by side.

    python -m bench.simulate                 # 150 px classification + SR pairs, 1 vs all cores
    python -m bench.simulate --quick         # seconds; what the test runs

Prints a table and writes a CSV (default ``bench/out/simulate.csv``). It also checks that both
worker counts wrote the same bytes.
"""

from __future__ import annotations

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

from lensing.cli import OneLineParser, run_cli
from lensing.samples import classification_image
from lensing.simulate import simulate_classification, simulate_superres

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


def run_benchmark(per_class: int, size: int, pairs: int) -> list[dict[str, object]]:
    """Classification and SR throughput with 1 process and with every core."""
    worker_counts = sorted({1, os.cpu_count() or 1})
    classification_image(0, "sphere", 0, "varied", size)  # warm lenstronomy's lazy set-up
    classify = {"per_class": per_class, "size": size, "preset": "varied"}
    rows = bench_task("classify", 3 * per_class, simulate_classification, classify, worker_counts)
    rows += bench_task("superres", pairs, simulate_superres, {"pairs": pairs}, worker_counts)
    return rows


def write_csv(rows: list[dict[str, object]], out: Path) -> None:
    """Write the rows with the COLUMNS header."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def format_table(rows: list[dict[str, object]]) -> str:
    """Rows as an aligned text table."""
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.rjust(widths[c]) for c in COLUMNS)]
    lines += ["  ".join(str(r[c]).rjust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and write the CSV."""
    parser = OneLineParser(prog="python -m bench.simulate", description=__doc__.split("\n")[0])
    parser.add_argument("--per-class", type=int, default=40, help="classification images per class")
    parser.add_argument("--size", type=int, default=150, help="classification image size")
    parser.add_argument("--pairs", type=int, default=60, help="super-resolution pairs")
    parser.add_argument(
        "--quick", action="store_true", help="tiny run (2 per class, 32 px, 2 pairs)"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/simulate.csv"))
    args = parser.parse_args(argv)
    if args.quick:
        args.per_class, args.size, args.pairs = 2, 32, 2
    rows = run_benchmark(args.per_class, args.size, args.pairs)
    print(format_table(rows))
    write_csv(rows, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main, prog="bench.simulate")

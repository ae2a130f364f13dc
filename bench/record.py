"""Record learning curves: many configurations of a task's space, every epoch's metric and seconds.

    python -m bench.record --task superres               # 128 Sobol configs + the defaults
    python -m bench.record --task classify
    python -m bench.record --task superres --quick       # 3 configs of 2 epochs on 12 pairs
    python -m bench.record --task superres --configs 32  # the defaults and 32 Sobol configs
    python -m bench.record --task superres --shard 2/2   # configs 1, 3, 5, ...: a 2nd process

The recorded table is what ``bench.replay`` replays searches against (a tabular benchmark in the
manner of LCBench or NAS-Bench-201, recorded from our own trainables because those tables cannot
be downloaded here).

Configurations: config 0 is the space's defaults; configs 1..N are the first N points of a
scrambled Sobol sequence (``scipy.stats.qmc.Sobol``, seed 0) over the unit cube of the searched
parameters, mapped onto each parameter as the samplers read it (log-uniform floats on the log
scale, integers and choices by equal slices of [0, 1)). Every configuration trains to
``max_epochs`` with the real training function (``train_superres`` / ``train_classifier``,
called in this process, no Ray), training seed 0, TensorFlow on one thread.

Data (the same small problems the live benchmarks use, so replays can be checked against them):

- superres: 40 simulated pairs (36 train, 4 validate), ``bench.search_efficiency``'s size;
  max_epochs 9.
- classify: the ``cnn`` backbone on 32 px images of 200 simulated Model-I lenses per class
  (``CLASSIFY_PER_CLASS``; 64 px simulation resized; 160 train, 40 validate per class), a
  tenth of the Quick start's lenses at a smaller size so an epoch costs seconds on 2 cores;
  max_epochs 10.

Resumable: rows are appended to the CSV once a configuration has trained every epoch, and
configurations already in it are skipped, so a killed recording loses at most the one it was on.
``--shard K/N`` trains only the configurations whose id is K-1 modulo N, so N processes (one
TensorFlow thread each) can record one table side by side; appends take a file lock.
A JSON sidecar next to the CSV holds the command, commit, machine, date and data.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import quiet_logs
from lens_search.cli import OneLineParser, run_cli

quiet_logs()

TABLES = Path(__file__).resolve().parent / "tables"
CLASSIFY_PER_CLASS = 200
CLASSIFY_IMAGE_SIZE = 32
CLASSIFY_SIM_SIZE = 64
SOBOL_SEED = 0
TRAIN_SEED = 0


@dataclass(frozen=True)
class Setup:
    """What one task records: its metrics, epochs, its search settings and how its data is made.

    ``settings`` are the task's search settings (``Task.settings``) the recording trains with;
    ``simulation`` the keywords of its simulator apart from the count (``Task.count_setting``),
    whose recorded value is ``size``.
    """

    task: str
    metrics: tuple[str, ...]
    max_epochs: int
    data: str
    size: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    simulation: Mapping[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        return self.metrics[0]


SETUPS = {
    "superres": Setup(
        "superres",
        ("val_psnr", "val_ssim"),
        9,
        "40 simulated pairs (model1, seed 0): 36 train, 4 validate",
        size=40,
        simulation={"workers": 1, "progress": False},
    ),
    "classify": Setup(
        "classify",
        ("val_auc", "val_accuracy"),
        10,
        f"cnn backbone, {CLASSIFY_PER_CLASS} simulated model1 lenses per class at "
        f"{CLASSIFY_SIM_SIZE} px resized to {CLASSIFY_IMAGE_SIZE} px, 80/20 split",
        size=CLASSIFY_PER_CLASS,
        settings={"backbone": "cnn", "image_size": CLASSIFY_IMAGE_SIZE},
        simulation={"preset": "model1", "size": CLASSIFY_SIM_SIZE, "workers": 1, "progress": False},
    ),
}
QUICK = {"superres": (12, 2, 3), "classify": (20, 2, 3)}
"""--quick: (pairs or lenses per class, max_epochs, configurations)."""


def space_of(task: str) -> Any:
    """The searched space of ``task`` with its recording settings (classify: the ``cnn``'s)."""
    from lens_search.experiments.tasks import task_named

    return task_named(task).searched_space(backbone=SETUPS[task].settings.get("backbone"))


def draw_configs(space: Any, count: int) -> list[dict[str, Any]]:
    """The space's defaults, then ``count`` scrambled-Sobol configurations (reproducible)."""
    from scipy.stats import qmc

    configs = [space.defaults()]
    if count:
        with warnings.catch_warnings():  # counts that are not powers of 2 lose some balance
            warnings.simplefilter("ignore", UserWarning)
            dimensions = len(space.searched())
            points = qmc.Sobol(dimensions, scramble=True, seed=SOBOL_SEED).random(count)
        configs.extend(space.from_unit(point) for point in points)
    return configs


def load_data(task: str, size: int) -> Any:
    """The task's small recording problem (``size``: pairs or lenses per class)."""
    from lens_search.data.cache import default_dataset
    from lens_search.experiments.tasks import task_named

    spec, setup = task_named(task), SETUPS[task]
    simulation = {**setup.simulation, spec.count_setting: size}
    folder = default_dataset(task, simulate=spec.simulate, **simulation)
    return spec.load_data(folder, setup.settings)


def trainer(task: str, data: Any, max_epochs: int) -> Callable[[dict[str, Any]], list[dict]]:
    """A function training one configuration to ``max_epochs``: its per-epoch metrics."""
    from lens_search.experiments.tasks import task_named

    spec, settings = task_named(task), SETUPS[task].settings
    return lambda config: spec.train(config, data, settings, epochs=max_epochs, seed=TRAIN_SEED)


def recorded_ids(path: Path) -> set[int]:
    """Configurations already in the table."""
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)  # never half of another shard's append
        return {int(row["config_id"]) for row in csv.DictReader(handle)}


def append_rows(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """Append ``rows`` (a header first if the file is empty), flushed to disk, under a lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", newline="") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        if handle.tell() == 0:
            writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` with 1 <= K <= N: this process records the ids that are K-1 modulo N."""
    part, _, count = text.partition("/")
    try:
        shard = int(part), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/2, got {text!r}") from None
    if not 1 <= shard[0] <= shard[1]:
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N, got {text!r}")
    return shard


def cpu_model() -> str:
    """``lscpu``'s model name (the machine a recording's seconds belong to)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def commit() -> str:
    """The repository's HEAD (with ``+dirty`` if tracked files changed)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}+dirty" if dirty else head or "unknown"


def write_sidecar(
    path: Path, setup: Setup, argv: Sequence[str], size: int, count: int, max_epochs: int
) -> None:
    """The table's provenance; each run of the recorder appends its own session."""
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text()) if sidecar.exists() else {"sessions": []}
    info.update(
        {
            "task": setup.task,
            "metric": setup.metric,
            "metrics": list(setup.metrics),
            "max_epochs": max_epochs,
            "data": setup.data if size == default_size(setup.task) else f"size {size}",
            "configs": f"config 0 = space defaults, 1..{count} = scrambled Sobol seed {SOBOL_SEED}",
            "train_seed": TRAIN_SEED,
            "threads": 1,
        }
    )
    info["sessions"].append(
        {
            "command": "python -m bench.record " + " ".join(argv),
            "commit": commit(),
            "machine": f"{cpu_model()}, {os.cpu_count()} cores (shared)",
            "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
    )
    sidecar.write_text(json.dumps(info, indent=1) + "\n")


def default_size(task: str) -> int:
    return SETUPS[task].size


def record(
    task: str,
    out: Path,
    count: int,
    size: int,
    max_epochs: int,
    log: Callable[[str], None],
    shard: tuple[int, int] = (1, 1),
) -> int:
    """Train every configuration of ``shard`` not yet in ``out``; returns how many it trained."""
    space = space_of(task)
    setup = SETUPS[task]
    columns = ["config_id", *space.searched(), "epoch", *setup.metrics, "epoch_seconds"]
    done = recorded_ids(out)
    every = enumerate(draw_configs(space, count))
    todo = [(i, c) for i, c in every if i % shard[1] == shard[0] - 1 and i not in done]
    log(f"{task}: {len(done)} configurations recorded, {len(todo)} to train into {out}")
    if not todo:
        return 0
    from lens_search.training.runtime import set_threads  # Keras (TensorFlow) only when training

    set_threads(1)
    train = trainer(task, load_data(task, size), max_epochs)
    for index, (config_id, config) in enumerate(todo, start=1):
        if config_id in recorded_ids(out):  # another process recorded it meanwhile
            continue
        start = time.perf_counter()
        history = train(config)
        rows = [{"config_id": config_id, **config, **epoch} for epoch in history]
        append_rows(out, columns, rows)
        final = history[-1][setup.metric]
        log(
            f"config {config_id} ({index}/{len(todo)}): {setup.metric} {final:.4f} "
            f"in {time.perf_counter() - start:.0f} s"
        )
    return len(todo)


def main(argv: Sequence[str] | None = None) -> int:
    """Record (or resume recording) one task's table."""
    parser = OneLineParser(prog="python -m bench.record", description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(SETUPS), required=True)
    parser.add_argument("--configs", type=int, default=128, help="Sobol configurations")
    parser.add_argument("--quick", action="store_true", help="3 configs of 2 epochs, tiny data")
    parser.add_argument("--out", type=Path, default=None, help="default bench/tables/TASK.csv")
    parser.add_argument(
        "--shard", type=parse_shard, default=(1, 1), help="K/N: configs whose id is K-1 mod N"
    )
    args = parser.parse_args(argv)
    if args.configs < 0:
        parser.error("--configs must be >= 0")
    size, max_epochs, count = default_size(args.task), SETUPS[args.task].max_epochs, args.configs
    if args.quick:
        size, max_epochs, count = QUICK[args.task]
        count = min(args.configs, count - 1)  # the defaults make the third
    out = args.out or TABLES / f"{args.task}.csv"
    used = sys.argv[1:] if argv is None else argv
    write_sidecar(out, SETUPS[args.task], used, size, count, max_epochs)
    start = time.perf_counter()
    trained = record(
        args.task,
        out,
        count,
        size,
        max_epochs,
        lambda line: print(line, file=sys.stderr),
        args.shard,
    )
    print(f"{args.task}: trained {trained} configurations in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    run_cli(main, prog="bench.record")

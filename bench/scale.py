"""Scheduler scale by simulation: trials whose epochs sleep, many at once on declared resources.

    python -m bench.scale                        # 8, 32 and 64 concurrent trials, 10 s epochs
    python -m bench.scale --concurrency 8,32     # a subset
    python -m bench.scale --quick                # 8 trials, 1 s epochs

A local Ray declares as many CPUs and (fake) GPUs as the largest concurrency; each trial asks
for 1 CPU and 1 GPU, as a GPU search does, and sleeps ``--epoch-s`` per epoch (no CPU used), then
reports. Optuna's TPE (the search's ``make_searcher``) suggests every config; the scheduler is
FIFO so every trial runs all its epochs and what is measured is Ray's own cost. ``--waves`` trials
per slot run one after another (``reuse_actors=True``).

- ``utilisation``: time trials spend in their epochs / (slots x wall time of ``Tuner.fit``).
- ``latency``: per trial, from Tune starting it to its first result, minus one epoch.
- ``worker_rss_mb`` / ``worker_pss_mb``: memory of one Ray worker process (mean at the sample
  with most workers alive; PSS shares libraries fairly), read from ``/proc``.
Prints a table and writes a CSV (default ``bench/out/scale.csv``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Sequence
from statistics import mean, median
from typing import Any

from bench.common import (
    finish,
    format_table,
    machine,
    met,
    parse_bench_args,
    quiet_logs,
    start_local_ray,
    timed_fit,
    trial_spans,
)
from lens_search.cli import OneLineParser, run_cli

quiet_logs()

COLUMNS = (
    "concurrent",
    "trials",
    "epoch_s",
    "epochs",
    "wall_s",
    "utilisation",
    "latency_median_s",
    "latency_max_s",
    "workers",
    "worker_rss_mb",
    "worker_pss_mb",
    "total_rss_gb",
)
TARGET = 0.90
AGENTS = (b"ray::DashboardAgent", b"ray::RuntimeEnvAgent")  # per node, not per trial


def sleeping_trial(config: dict[str, Any], epochs: int = 1, epoch_s: float = 1.0) -> None:
    """A trial that only waits: ``epochs`` epochs of ``epoch_s`` seconds, reported each."""
    from ray import tune

    for epoch in range(1, epochs + 1):
        time.sleep(epoch_s)
        tune.report({"epoch": epoch, "val_psnr": float(config["lr"]), "epoch_seconds": epoch_s})


def _children(root: int) -> list[int]:
    """Every descendant process of ``root`` (from /proc; Linux only)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _memory_kb(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) in kB of a Ray worker process, or None if ``pid`` is not one."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            title = handle.read()
        if not title.startswith(b"ray::") or title.startswith(AGENTS):
            return None
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        return int(fields["Rss"].split()[0]), int(fields["Pss"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


class MemorySampler(threading.Thread):
    """Samples the memory of this process's Ray workers every few seconds; keeps the fullest."""

    def __init__(self, every_s: float = 3.0) -> None:
        super().__init__(daemon=True)
        self.every_s, self.stop = every_s, threading.Event()
        self.peak: list[tuple[int, int]] = []

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            sample = [m for m in map(_memory_kb, _children(os.getpid())) if m is not None]
            if len(sample) >= len(self.peak):
                self.peak = sample


def run_level(concurrent: int, epochs: int, epoch_s: float, waves: int) -> dict[str, Any]:
    """One Tuner.fit with ``concurrent`` slots and ``waves * concurrent`` sleeping trials."""
    from ray import tune

    from lens_search.experiments.tasks import SUPERRES
    from lens_search.search.config import SearchConfig
    from lens_search.search.run import make_searcher

    trials = concurrent * waves
    config = SearchConfig(samples=trials, max_epochs=epochs, max_concurrent=concurrent)
    trainable = tune.with_resources(
        tune.with_parameters(sleeping_trial, epochs=epochs, epoch_s=epoch_s), {"cpu": 1, "gpu": 1}
    )
    sampler = MemorySampler()
    sampler.start()
    wall, events = timed_fit(
        trainable,
        tune.TuneConfig(
            search_alg=make_searcher(SUPERRES, SUPERRES.space, config),
            num_samples=trials,
            reuse_actors=True,
        ),
        name="scale",
    )
    sampler.stop.set()
    sampler.join()
    spans = trial_spans(events).values()
    epochs_done = sum(len(s["results"]) for s in spans)
    latencies = [s["results"][0][0] - s["start"] - epoch_s for s in spans if s["results"]]
    rss = [r for r, _ in sampler.peak] or [0]
    pss = [p for _, p in sampler.peak] or [0]
    return {
        "concurrent": concurrent,
        "trials": trials,
        "epoch_s": epoch_s,
        "epochs": epochs_done,
        "wall_s": round(wall, 1),
        "utilisation": round(epochs_done * epoch_s / (concurrent * wall), 3),
        "latency_median_s": round(median(latencies), 2),
        "latency_max_s": round(max(latencies), 2),
        "workers": len(sampler.peak),
        "worker_rss_mb": round(mean(rss) / 1024, 1),
        "worker_pss_mb": round(mean(pss) / 1024, 1),
        "total_rss_gb": round(sum(rss) / 2**20, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run each concurrency on a fresh local Ray, print the table and the target, write the CSV."""
    import ray

    parser = OneLineParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", default="8,32,64", help="comma-separated slot counts")
    parser.add_argument("--epoch-s", type=float, default=10.0, help="seconds each epoch sleeps")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per trial")
    parser.add_argument("--waves", type=int, default=2, help="trials per slot, one after another")
    args = parse_bench_args(
        parser, argv, "8 trials of 3 x 1 s epochs", concurrency="8", epoch_s=1.0, epochs=3, waves=1
    )
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    print(machine(), file=sys.stderr)
    rows = []
    for concurrent in levels:
        print(f"{concurrent} concurrent trials", file=sys.stderr, flush=True)
        start_local_ray(num_cpus=concurrent, num_gpus=concurrent)
        try:
            rows.append(run_level(concurrent, args.epochs, args.epoch_s, args.waves))
        finally:
            ray.shutdown()
        print(format_table(rows[-1:], COLUMNS), file=sys.stderr, flush=True)
    verdicts = [
        f"{row['concurrent']} concurrent: utilisation {row['utilisation']:.1%} "
        f"(target >= {TARGET:.0%}): {met(row['utilisation'] >= TARGET)}"
        for row in rows
    ]
    return finish(rows, COLUMNS, args.out, verdicts)


if __name__ == "__main__":
    run_cli(main, prog="bench.scale")

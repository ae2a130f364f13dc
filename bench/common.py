"""Helpers shared by the benchmarks: the table, the CSV, the machine line, a Tune recorder and run.

Everything Ray-specific is imported inside the functions that need it, so benchmarks that must run
without Ray (``bench.gpu_throughput``) can import this module.
"""

from __future__ import annotations

import csv
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

Row = dict[str, Any]
Event = tuple[float, str, str, dict[str, Any] | None]
"""What the recorder of ``timed_fit`` notes: (seconds since the fit began, kind, trial_id, result
or None), kind ``start``, ``result`` or ``complete``."""


def parse_bench_args(parser: Any, argv: Sequence[str] | None, quick_help: str, **quick: Any) -> Any:
    """Add every benchmark's ``--quick`` and ``--out`` to ``parser`` and parse ``argv``.

    ``--quick`` (the test suite's tiny run) sets the options named in ``quick`` to its values;
    ``--out`` defaults to ``bench/out/NAME.csv`` for ``python -m bench.NAME``.
    """
    name = parser.prog.rsplit(".", 1)[-1]
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", type=Path, default=Path(f"bench/out/{name}.csv"))
    args = parser.parse_args(argv)
    if args.quick:
        for option, value in quick.items():
            setattr(args, option, value)
    return args


def classify_defaults(backbone: str) -> dict[str, Any]:
    """The space defaults a classification search of ``backbone`` starts from (no weights)."""
    from lens_search.experiments.tasks import CLASSIFY

    return CLASSIFY.searched_space(backbone=backbone).defaults()


def format_table(rows: Sequence[Row], columns: Sequence[str]) -> str:
    """Rows as an aligned text table (floats with 3 significant decimals at most)."""
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def write_csv(rows: Sequence[Row], columns: Sequence[str], out: Path) -> None:
    """Write the rows (only ``columns``, in that order) to ``out``, creating its folder."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def machine() -> str:
    """One line about where a figure was measured: cores, memory, load (others share it)."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()} {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"load average {load} (1/5/15 min)"
    )


def finish(rows: Sequence[Row], columns: Sequence[str], out: Path, verdicts: Iterable[str]) -> int:
    """Print the table, the verdict lines and the machine line; write the CSV; exit status 0."""
    print(format_table(rows, columns))
    for line in verdicts:
        print(line)
    print(machine())
    write_csv(rows, columns, out)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def met(ok: bool) -> str:
    """How a verdict line says whether its target was reached."""
    return "met" if ok else "MISSED"


def quiet_logs() -> None:
    """Keep TensorFlow's start-up chatter and Tune's snapshot warnings out of the output."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")


def start_local_ray(num_cpus: float | None = None, num_gpus: float | None = None) -> None:
    """An embedded local Ray for this process: no dashboard, workers' logs kept out of the table."""
    import logging

    import ray

    ray.init(
        address="local",
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )


def _make_recorder() -> Any:
    """A ``tune.Callback`` that notes, on the driver's clock, when each trial starts, reports, ends.

    ``events`` holds an ``Event`` for each, its seconds counted from when the recorder was made.
    """
    from ray import tune

    class Recorder(tune.Callback):
        def __init__(self) -> None:
            self.origin = time.perf_counter()
            self.events: list[Event] = []

        def _note(self, kind: str, trial: Any, result: dict[str, Any] | None = None) -> None:
            self.events.append((time.perf_counter() - self.origin, kind, trial.trial_id, result))

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._note("start", trial)

        def on_trial_result(
            self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
        ) -> None:
            self._note("result", trial, dict(result))

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._note("complete", trial)

        def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self._note("complete", trial)

    return Recorder()


def timed_fit(
    trainable: Any,
    tune_config: Any,
    *,
    name: str,
    failed: str = "",
    param_space: dict[str, Any] | None = None,
    stop: Any = None,
) -> tuple[float, list[Event]]:
    """One ``Tuner.fit`` in a throwaway storage folder: its wall seconds and what each trial did
    when (the ``Event`` list, for ``trial_spans``).

    Raises if any trial failed (the message starts with ``failed``): a benchmark must not report
    figures from a run that lost trials.
    """
    from ray import tune

    recorder = _make_recorder()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as storage:
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune_config,
            run_config=tune.RunConfig(
                name=name,
                stop=stop,
                storage_path=storage,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                callbacks=[recorder],
                verbose=0,
            ),
        )
        start = time.perf_counter()
        grid = tuner.fit()
        wall = time.perf_counter() - start
    errors = [r.error for r in grid if r.error is not None]
    if errors:
        raise RuntimeError(f"{failed}{len(errors)} trials failed: {errors[0]}")
    return wall, recorder.events


def trial_spans(events: Sequence[Event]) -> dict[str, dict[str, Any]]:
    """Per trial: first start, last completion, and its results in order (from ``timed_fit``)."""
    spans: dict[str, dict[str, Any]] = {}
    for at, kind, trial_id, result in events:
        span = spans.setdefault(trial_id, {"start": at, "end": at, "results": []})
        if kind == "start":
            span["start"] = min(span["start"], at)
        elif kind == "result":
            span["results"].append((at, result))
            span["end"] = max(span["end"], at)
        else:
            span["end"] = max(span["end"], at)
    return spans

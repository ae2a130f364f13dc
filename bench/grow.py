"""Grown and warm-started searches, replayed against recorded learning curves.

    python -m bench.grow --task superres --seeds 20
    python -m bench.grow --task superres --quick        # 2 seeds, 6 + 6 samples

The project's own searcher (``search.run.make_searcher``: Optuna TPE in a journal, stopped trials
told PRUNED) and ASHA (``make_scheduler``) are played against ``bench.engine``'s oracle (the
recorded curve of a table configuration, else the nearest one's), with ``bench.engine``'s event
loop (``--workers`` trials at once). Per seed:

- ``one``: one search of 2 x ``--samples`` configurations;
- ``grown``: a search of ``--samples``, its searcher saved and restored as Tune does on
  ``--resume`` (``save``/``restore`` into a new searcher on the same journal), then grown by
  ``--samples`` more (what ``--resume --samples 2N`` runs);
- ``cold``: a search of ``--samples`` from nothing;
- ``warm-best`` / ``warm-told``: the same search seeded (``search.warm_start.seed_study``) with
  an earlier search of ``--samples`` under another seed: its best configurations enqueued, or
  all its finished trials told.

Reported (medians over seeds): the best value and regret (the table's best minus it) after all
configurations, and the epochs each search trained until its best came within each of
``--regrets`` of the table's best (a warm start's earlier search is not counted: another
experiment spent it; a seed that never gets there counts as its whole budget, configurations x
max_epochs).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import format_table, machine, quiet_logs, write_csv
from bench.engine import TABLES, Oracle, Table, Trace, read_table, replay
from bench.policies import RayPolicy
from bench.replay import MARK
from lens_search.cli import OneLineParser, run_cli

quiet_logs()

METHODS = ("one", "grown", "cold", "warm-best", "warm-told")
COLUMNS = ("method", "seed", "configs", "epochs", "best", "regret")
SOURCE_SEED = 1000
"""The earlier search a warm start is seeded from runs with seed ``SOURCE_SEED + seed``."""


class Limited:
    """A policy that starts at most ``samples`` configurations (a search's ``--samples``)."""

    def __init__(self, policy: RayPolicy, samples: int) -> None:
        self.policy, self.samples, self.workers = policy, samples, policy.workers
        self.started = 0

    def start(self) -> tuple[str, dict[str, Any], int, int] | None:
        if self.started >= self.samples:
            return None
        self.started += 1
        return self.policy.start()

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        return self.policy.report(trial_id, epoch, value)


def searcher_and_scheduler(
    table: Table, seed: int, folder: str, resume: bool = False
) -> tuple[Any, Any]:
    """The project's searcher (its study in ``folder``'s journal) and ASHA, as ``search.run``.

    ``resume``: the searcher a resumed search restores its state into, which (like the one
    ``Tuner.restore`` unpickles) does not queue the space's defaults again.
    """
    from lens_search.experiments.tasks import TASKS
    from lens_search.search.config import SearchConfig
    from lens_search.search.run import make_scheduler, make_searcher

    spec = TASKS[table.task]
    config = SearchConfig(max_epochs=table.max_epochs, seed=seed, resume=resume)
    np.random.seed(seed)  # ASHA draws its bracket from NumPy's global generator
    return make_searcher(spec, table.space, config, folder), make_scheduler(spec, config)


def play(
    table: Table,
    oracle: Oracle,
    searcher: Any,
    scheduler: Any,
    samples: int,
    workers: int,
    trace: Trace,
) -> Trace:
    """Run ``samples`` more configurations of ``searcher`` into ``trace``, to the end."""
    policy = RayPolicy(searcher, scheduler, table.metric, table.max_epochs, workers)
    policy.count = trace.configs  # a grown search's new trials get new ids
    budget = len(trace.values) + samples * table.max_epochs
    return replay(Limited(policy, samples), oracle, budget, trace)


def run_method(
    method: str, table: Table, oracle: Oracle, seed: int, samples: int, workers: int
) -> Trace:
    """One replay of ``method`` (module doc) for ``seed``."""
    from lens_search.search import optuna_adapter
    from lens_search.search.warm_start import ENDED, seed_study

    oracle.reseed(seed)
    trace = Trace(method, seed)
    with tempfile.TemporaryDirectory(prefix="bench-grow-") as root:
        folder = f"{root}/exp"
        searcher, scheduler = searcher_and_scheduler(table, seed, folder)
        if method == "one":
            return play(table, oracle, searcher, scheduler, 2 * samples, workers, trace)
        if method == "grown":
            play(table, oracle, searcher, scheduler, samples, workers, trace)
            saved = f"{root}/searcher.pkl"
            searcher.save(saved)
            restored, _ = searcher_and_scheduler(table, seed, folder, resume=True)
            restored.restore(saved)
            return play(table, oracle, restored, scheduler, samples, workers, trace)
        if method != "cold":
            source, source_scheduler = searcher_and_scheduler(
                table, SOURCE_SEED + seed, f"{root}/src"
            )
            play(table, oracle, source, source_scheduler, samples, workers, Trace("src", seed))
            done = optuna_adapter.searcher_study(source)
            study = optuna_adapter.searcher_study(searcher)
            assert done is not None and study is not None  # made with space, metric and mode
            ended = [t for t in done.trials if t.state in ENDED]
            seed_study(study, ended, "src", how=method.removeprefix("warm-"))
            np.random.seed(seed)
        return play(table, oracle, searcher, scheduler, samples, workers, trace)


def row_of(trace: Trace, table: Table, regrets: Sequence[float]) -> dict[str, Any]:
    """One replay's figures; ``epochs_to_R``: epochs until its best came within R of the best."""
    best = float(np.max(trace.values))
    reached = {f"epochs_to_{r:g}": trace.epochs_to(table.best - r) for r in regrets}
    return {
        "method": trace.method,
        "seed": trace.seed,
        "configs": trace.configs,
        "epochs": len(trace.values),
        "best": round(best, 4),
        "regret": round(table.best - best, 4),
        **{key: value if value is not None else "" for key, value in reached.items()},
    }


def summary(
    rows: list[dict[str, Any]], max_epochs: int, regrets: Sequence[float]
) -> list[dict[str, Any]]:
    """Medians per method; a seed that never reached a regret counts as its whole budget
    (configurations x ``max_epochs``)."""
    out = []
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        line: dict[str, Any] = {
            "method": method,
            "seeds": len(mine),
            "configs": int(np.median([r["configs"] for r in mine])),
            "median epochs": float(np.median([r["epochs"] for r in mine])),
            "median best": round(float(np.median([r["best"] for r in mine])), 4),
            "median regret": round(float(np.median([r["regret"] for r in mine])), 4),
        }
        for regret in regrets:
            key = f"epochs_to_{regret:g}"
            to_mark = [r[key] if r[key] != "" else r["configs"] * max_epochs for r in mine]
            line[f"reached {regret:g}"] = sum(r[key] != "" for r in mine)
            line[f"median epochs to {regret:g}"] = float(np.median(to_mark))
        out.append(line)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m bench.grow", description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=sorted(MARK), required=True)
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    parser.add_argument("--samples", type=int, default=25, help="configurations per search part")
    parser.add_argument("--workers", type=int, default=2, help="trials at once")
    parser.add_argument(
        "--regrets", default=None, help="regrets to reach, comma-separated (default replay's mark)"
    )
    parser.add_argument("--methods", default=",".join(METHODS), help=", ".join(METHODS))
    parser.add_argument("--quick", action="store_true", help="2 seeds, 6 samples, a 20-tree forest")
    parser.add_argument("--out", type=Path, default=None, help="default bench/out/grow-TASK.csv")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if set(methods) - set(METHODS):
        parser.error(f"--methods: choose from {', '.join(METHODS)}")
    if args.seeds < 1 or args.samples < 1 or args.workers < 1:
        parser.error("--seeds, --samples and --workers must be at least 1")
    seeds, samples, trees = (2, 6, 20) if args.quick else (args.seeds, args.samples, 100)
    start = time.perf_counter()
    table = read_table(TABLES / f"{args.task}.csv", args.task)
    oracle = Oracle(table, "nearest", trees)
    regrets = [float(r) for r in args.regrets.split(",")] if args.regrets else [MARK[args.task]]
    print(
        f"table: {len(table.configs)} configurations x {table.max_epochs} epochs of "
        f"{table.metric}; best {table.best:.4f}, regrets {regrets}; {samples} samples per part, "
        f"{args.workers} workers, {seeds} seeds"
    )
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    for method in methods:
        began = time.perf_counter()
        for seed in range(seeds):
            trace = run_method(method, table, oracle, seed, samples, args.workers)
            rows.append(row_of(trace, table, regrets))
        print(f"{method}: {seeds} seeds in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    out = args.out or Path(f"bench/out/grow-{args.task}.csv")
    write_csv(rows, [*COLUMNS, *(f"epochs_to_{r:g}" for r in regrets)], out)
    table_rows = summary(rows, table.max_epochs, regrets)
    print(format_table(table_rows, list(table_rows[0])))
    print(f"{time.perf_counter() - start:.0f} s; {machine()}; wrote {out}")
    return 0


if __name__ == "__main__":
    run_cli(main, prog="bench.grow")

"""Replay searches against recorded learning curves: many seeds of every method in minutes.

    python -m bench.replay --task superres --seeds 30
    python -m bench.replay --task superres --quick        # 2 seeds, budget 3 x 9 epochs
    python -m bench.replay --benchmark mfh3_good --seeds 30   # regret of the incumbent

Methods are the named presets of ``bench.presets`` in both modes (``--methods NAME,NAME``; the
default sets differ). ``--benchmark NAME`` (``bench.benchmarks``): mf-prior-bench's
multi-fidelity Hartmann functions or a table under the ``forest`` surrogate, regret of the
incumbent at 1/3, 1/2, 2/3 and all of the budget in ``bench/out/replay-NAME.csv`` (method,
seed, budget, regret), Wilcoxon signed-rank tests against ``random-asha``, a plot beside it.
What follows describes ``--task``.

A tabular/surrogate benchmark (as LCBench, YAHPO Gym or Syne Tune's simulator backend do): each
method runs its real search code against an oracle (``bench.engine.Oracle``) that answers from a
table recorded by ``bench.record`` instead of training: a configuration the table holds gets its
recorded curve (metric and seconds per epoch), any other a surrogate's curve
(``--surrogate nearest``, the default: the recorded curve of the nearest table configuration
under an importance-weighted distance, so every answer was really trained and the table's best
configuration is reachable; ``--surrogate forest``: a random forest's prediction plus the
recorded jitter, smoother but averaged towards the mean near the best configurations). Both
surrogates' quality on held-out configurations (5-fold: Spearman rank correlation of the final
metric, RMSE per epoch) is printed next to the results.

``bench.engine``'s event loop plays ``--workers`` trials at once on a simulated clock made of the
recorded (or predicted) epoch seconds; every epoch counts towards the budget (``--samples`` x
max_epochs, what ``random`` spends), and a method stops when it is spent. ``--grace-period`` and
``--reduction-factor`` change ASHA's settings for every ASHA preset. The default methods:
``default`` (the product's searcher), ``default-complete``, ``hyperband``, ``random``,
``random-asha``, ``bohb``, ``optuna-hyperband``, ``optuna-sha``, ``tpe-asha`` and
``tpe-asha+defaults``.

Per (method, seed): ``epochs_to_mark`` (epochs spent when the best-so-far first came within
``MARK`` of the table's best configuration; empty if never), ``best_at_budget`` and ``budget``,
written to ``bench/out/replay-<task>.csv``, with a PNG of the median best-so-far against epochs
(interquartile band) and a JSON of the summary and the surrogate's quality next to it. A live
file (``--live``, default ``bench/tables/live-<task>.csv``) is checked against the replayed
spread of the same preset. The last printed line is the median ratio of ``default``'s
``epochs_to_mark`` to ``random``'s and to ``hyperband``'s.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import format_table, machine, quiet_logs, write_csv
from bench.engine import (
    SURROGATES,
    TABLES,
    Oracle,
    Policy,
    Trace,
    jitter,
    read_table,
    run_replays,
    surrogate_quality,
)
from bench.presets import (
    BENCHMARK_METHODS,
    DEFAULT,
    PRESETS,
    TASK_METHODS,
    Setting,
    make_policy,
    methods_named,
)
from lens_search.cli import OneLineParser, run_cli
from lens_search.errors import LensSearchError

quiet_logs()

MARK = {"superres": 0.1, "classify": 0.002}
"""How close to the table's best configuration counts as reaching it (dB PSNR, AUC)."""
RATIO_AGAINST = ("random", "hyperband")
"""The presets ``default``'s epochs to the mark are divided by on the last line."""
COLUMNS = ("method", "seed", "epochs_to_mark", "best_at_budget", "budget")
FRACTIONS = (1 / 3, 1 / 2, 2 / 3, 1.0)
"""Budget fractions the median regret is reported at."""


def rows_of(traces: Sequence[Trace], mark: float, budget: int) -> list[dict[str, Any]]:
    """The CSV's rows: one per (method, seed)."""
    return [
        {
            "method": t.method,
            "seed": t.seed,
            "epochs_to_mark": t.epochs_to(mark),
            "best_at_budget": round(float(t.best_so_far(budget)[-1]), 4),
            "budget": budget,
        }
        for t in traces
    ]


def median_epochs(reached: Sequence[int | None], budget: int) -> float:
    """Median epochs to the mark, a run that never reached it counting as infinitely many."""
    values = sorted(math.inf if r is None else r for r in reached)
    return float(np.median(values)) if values else math.nan


def summary(
    traces: Sequence[Trace], methods: Sequence[str], best: float, mark: float, budget: int
) -> list[dict[str, Any]]:
    """Per method: median epochs to the mark, how many seeds reached it, best and regrets."""
    out = []
    for method in methods:
        mine = [t for t in traces if t.method == method]
        curves = np.array([t.best_so_far(budget) for t in mine])
        reached = [t.epochs_to(mark) for t in mine]
        finals = curves[:, -1]
        row: dict[str, Any] = {
            "method": method,
            "name": PRESETS[method].description,
            "reached": f"{sum(r is not None for r in reached)}/{len(mine)}",
            "median_to_mark": median_epochs(reached, budget),
            "best_median": float(np.median(finals)),
            "best_iqr": f"{np.percentile(finals, 25):.3f}-{np.percentile(finals, 75):.3f}",
            "best_range": f"{finals.min():.3f}-{finals.max():.3f}",
            "configs": float(np.median([t.configs for t in mine])),
        }
        for fraction in FRACTIONS:
            at = max(1, int(round(fraction * budget)))
            row[f"regret@{at}"] = float(np.median(best - curves[:, at - 1]))
        out.append(row)
    return out


def read_live(path: Path) -> dict[str, list[float]]:
    """Live searches' best metric per method (``method,seed,best,...``, one row per seed; the
    method a preset name). Raises ``LensSearchError`` naming the first malformed line."""
    live: dict[str, list[float]] = {}
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                live.setdefault(row["method"], []).append(float(row["best"]))
            except (KeyError, TypeError, ValueError):
                raise LensSearchError(
                    f"--live {path}: line {line} needs a method and a numeric best"
                ) from None
            if row["method"] not in PRESETS:
                raise LensSearchError(
                    f"--live {path}: line {line}: method {row['method']!r} is not a preset "
                    "of bench.presets"
                )
    return live


def live_check(traces: Sequence[Trace], live: dict[str, list[float]], budget: int) -> list[str]:
    """Whether each live run's best falls inside the replay's spread for the same method: the
    range and the 5-95 % band of the replayed seeds' best at the budget."""
    lines = []
    for method, values in live.items():
        finals = np.array([t.best_so_far(budget)[-1] for t in traces if t.method == method])
        if not len(finals):
            continue
        low, high = float(finals.min()), float(finals.max())
        band = np.percentile(finals, [5, 95])
        inside = sum(low <= v <= high for v in values)
        lines.append(
            f"live check {method}: live {' '.join(f'{v:.3f}' for v in values)}; replay range "
            f"{low:.3f}-{high:.3f} (5-95 % {band[0]:.3f}-{band[1]:.3f}) over {len(finals)} "
            f"seeds: {inside}/{len(values)} inside"
        )
    return lines


def ratio_line(rows: Sequence[dict[str, Any]], budget: int) -> str:
    """The median ratios of ``default``'s epochs to the mark to those of each preset of
    ``RATIO_AGAINST``, from ``summary`` rows: a bound where one never got there in most seeds,
    n/a where either was not run."""
    by = {r["method"]: r["median_to_mark"] for r in rows}
    parts = []
    for other in RATIO_AGAINST:
        pair = f"{DEFAULT}/{other}"
        if DEFAULT not in by or other not in by:
            parts.append(f"{pair} n/a (method not run)")
            continue
        mine, theirs = by[DEFAULT], by[other]
        if math.isinf(mine):
            parts.append(f"{pair} n/a ({DEFAULT} did not reach the mark in most seeds)")
        elif math.isinf(theirs):
            parts.append(f"{pair} < {mine / budget:.2f} ({other} did not reach it within {budget})")
        else:
            parts.append(f"{pair} = {mine / theirs:.2f} ({mine:g} / {theirs:g} epochs)")
    return "median epochs_to_mark ratios: " + "; ".join(parts)


def plot(
    traces: Sequence[Trace], methods: Sequence[str], budget: int, best: float, out: Path
) -> None:
    """Median best-so-far against epochs spent, interquartile band, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    epochs = np.arange(1, budget + 1)
    for method in methods:
        curves = np.array([t.best_so_far(budget) for t in traces if t.method == method])
        curves = np.where(np.isfinite(curves), curves, np.nan)
        low, mid, high = np.nanpercentile(curves, [25, 50, 75], axis=0)
        width = 2.5 if method == DEFAULT else 1.2  # the default drawn on top, thicker
        label = f"{method}: {PRESETS[method].description}"
        (line,) = axes.plot(epochs, mid, label=label, linewidth=width, zorder=3)
        axes.fill_between(epochs, low, high, color=line.get_color(), alpha=0.15)
    axes.axhline(best, color="black", linestyle=":", linewidth=1, label="table's best")
    finite = [v for t in traces for v in t.best_so_far(budget) if math.isfinite(v)]
    axes.set_ylim(np.percentile(finite, 5), best + 0.05 * (best - min(finite) + 1e-9))
    axes.set_xlabel("epochs spent")
    axes.set_ylabel("best so far")
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    """Replay every method for every seed, print the table, write the CSV and the plot."""
    parser = OneLineParser(prog="python -m bench.replay", description=__doc__.split("\n")[0])
    from bench.benchmarks import BENCHMARKS

    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", choices=sorted(MARK), help="a recorded table, scored by the mark")
    which.add_argument(
        "--benchmark",
        choices=BENCHMARKS,
        help="a named benchmark scored by regret (bench.benchmarks; methods by preset name)",
    )
    parser.add_argument("--table", type=Path, default=None, help="default bench/tables/TASK.csv")
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1")
    parser.add_argument(
        "--samples",
        type=int,
        default=9,
        help="budget = samples x max_epochs (what random spends)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="trials at once (hyperband: always 1)"
    )
    parser.add_argument("--surrogate", choices=SURROGATES, default="nearest")
    parser.add_argument("--grace-period", type=int, default=None, help="ASHA's (default 1)")
    parser.add_argument("--reduction-factor", type=int, default=None, help="ASHA's (default 3)")
    parser.add_argument(
        "--methods",
        default=None,
        help="presets of bench.presets, comma-separated: " + ", ".join(PRESETS) + " (--task "
        "default: " + ",".join(TASK_METHODS) + "; --benchmark default: all but default-complete, "
        "dehb where installed)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 seeds, budget 3 x max_epochs, a 20-tree forest"
    )
    parser.add_argument("--out", type=Path, default=None, help="default bench/out/replay-TASK.csv")
    parser.add_argument(
        "--live",
        type=Path,
        default=None,
        help="live searches' bests to check (default bench/tables/live-TASK.csv if present)",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.samples < 1 or args.workers < 1:
        parser.error("--seeds, --samples and --workers must be at least 1")
    if args.benchmark:
        return benchmark_main(parser, args)
    methods = methods_named(args.methods, TASK_METHODS)
    path = args.table or TABLES / f"{args.task}.csv"
    if not path.is_file():
        parser.error(f"--table: no table at {path} (record one with python -m bench.record)")
    seeds, trees = (2, 20) if args.quick else (args.seeds, 100)
    if args.quick:
        args.samples = 3
    out = args.out or Path(f"bench/out/replay-{args.task}.csv")
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    start = time.perf_counter()
    table = read_table(path, args.task)
    live_path = args.live or TABLES / f"live-{args.task}.csv"
    if args.live is not None and not args.live.is_file():
        parser.error(f"--live: no file at {args.live}")
    live = read_live(live_path) if live_path.is_file() else {}  # bad rows refused before running
    if len(table.configs) < 5:
        parser.error(f"--table: {path} holds {len(table.configs)} complete configurations, need 5")
    if args.grace_period is not None and not 1 <= args.grace_period <= table.max_epochs:
        parser.error(f"--grace-period must be between 1 and {table.max_epochs} (the table's)")
    if args.reduction_factor is not None and args.reduction_factor < 2:
        parser.error("--reduction-factor must be at least 2")
    budget = args.samples * table.max_epochs
    mark = table.best - MARK[args.task]
    quality = {kind: surrogate_quality(table, kind, trees) for kind in SURROGATES}
    oracle = Oracle(table, args.surrogate, trees)
    print(
        f"table {path}: {len(table.configs)} configurations x {table.max_epochs} epochs of "
        f"{table.metric}; best {table.best:.4f}, mark {mark:.4f}; budget {budget} epochs, "
        f"{args.workers} workers, {seeds} seeds"
    )
    for kind in SURROGATES:
        used = " (used)" if kind == args.surrogate else ""
        print(
            f"surrogate {kind}{used}, 5-fold held out: Spearman of final {table.metric} "
            f"{quality[kind]['spearman_final']:.3f}; RMSE per epoch "
            + " ".join(f"{x:.3f}" for x in quality[kind]["rmse_per_epoch"])
            + (f"; noise std {jitter(table.values):.4f}" if kind == "forest" else "")
        )
    asha = {
        key: value
        for key, value in (
            ("grace_period", args.grace_period),
            ("reduction_factor", args.reduction_factor),
        )
        if value is not None
    }

    def build(method: str, seed: int, folder: str) -> Policy:
        space, metric, epochs = table.space, table.metric, table.max_epochs
        setting = Setting(space, metric, epochs, seed, args.samples, args.workers, folder, asha)
        return make_policy(method, setting)

    traces = run_replays(oracle, methods, range(seeds), budget, build, log)
    rows = rows_of(traces, mark, budget)
    write_csv(rows, COLUMNS, out)
    plot(traces, methods, budget, table.best, out.with_suffix(".png"))
    table_rows = summary(traces, methods, table.best, mark, budget)
    print(format_table(table_rows, list(table_rows[0])))
    print(
        f"answers: {oracle.table_answers} from the table, {oracle.surrogate_answers} from the "
        f"surrogate; {time.perf_counter() - start:.0f} s; {machine()}"
    )
    details = {
        "table": str(path),
        "configs": len(table.configs),
        "best": table.best,
        "mark": mark,
        "budget": budget,
        "workers": args.workers,
        "surrogate": args.surrogate,
        "surrogate_quality": quality,
        "summary": table_rows,
    }
    if live:
        checks = live_check(traces, live, budget)
        print("\n".join(checks))
        details["live_check"] = checks
    out.with_suffix(".json").write_text(json.dumps(details, indent=1, default=str) + "\n")
    log(f"wrote {out}, {out.with_suffix('.png')} and {out.with_suffix('.json')}")
    print(ratio_line(table_rows, budget))
    return 0


def benchmark_main(parser: Any, args: Any) -> int:
    """``--benchmark NAME``: ``bench.benchmarks.run_benchmark`` with the command line's settings."""
    from bench import benchmarks

    methods = methods_named(args.methods, BENCHMARK_METHODS)
    task_only = (args.live, args.table, args.grace_period, args.reduction_factor)
    if any(option is not None for option in task_only) or args.surrogate != "nearest":
        parser.error("--benchmark takes --seeds, --samples, --workers, --methods, --quick, --out")
    seeds, trees = (2, 20) if args.quick else (args.seeds, 100)
    samples = 3 if args.quick else args.samples
    suffix = "" if samples == 9 or args.quick else f"-s{samples}"
    out = args.out or Path(f"bench/out/replay-{args.benchmark}{suffix}.csv")
    return benchmarks.run_benchmark(
        args.benchmark, methods, seeds, samples, args.workers, out, trees
    )


if __name__ == "__main__":
    run_cli(main, prog="bench.replay")

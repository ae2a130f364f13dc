"""Replay searches against recorded learning curves: many seeds of every method in minutes.

    python -m bench.replay --task superres --seeds 30
    python -m bench.replay --task superres --quick        # 2 seeds, budget 3 x 9 epochs
    python -m bench.replay --benchmark mfh3_good --seeds 30   # regret, methods by preset name

``--benchmark NAME`` (``bench.benchmarks``): mf-prior-bench's multi-fidelity Hartmann functions
or a table under the ``forest`` surrogate, methods by preset name, regret of the incumbent at
1/3, 1/2, 2/3 and all of the budget in ``bench/out/replay-NAME.csv`` (method, seed, budget,
regret), Wilcoxon signed-rank tests against random + ASHA, a plot beside it. What follows
describes ``--task``.

A tabular/surrogate benchmark (as LCBench, YAHPO Gym or Syne Tune's simulator backend do): each
method runs its real search code against an oracle that answers from a table recorded by
``bench.record`` instead of training.

The oracle: a configuration the table holds gets its recorded curve (metric and seconds per
epoch); any other configuration gets a surrogate's curve, fitted on the table over the
configuration encoded in [0, 1] (log scale where the space samples on it), one output per epoch:

- ``--surrogate nearest`` (default): the recorded curve of the nearest table configuration, the
  distance weighting each parameter by its importance (a random forest's, for the final metric).
  Every answer was really trained, so the table's best configuration is reachable and the mark
  below means what it says; the recorded curves carry their own noise.
- ``--surrogate forest``: a scikit-learn random forest's prediction plus Gaussian noise of the
  size measured in the recorded curves (their epoch-to-epoch jitter), drawn once per (replay
  seed, configuration) so a configuration keeps its curve within a replay. Smoother, but it
  averages towards the mean near the best configurations, which it then rarely reaches.

The surrogate's quality on held-out configurations (5-fold: Spearman rank correlation of the
final metric, RMSE per epoch) is printed next to the results, for both kinds.

The searchers are driven directly, without Ray workers, by a discrete-event loop that plays
``--workers`` trials at once on a simulated clock made of the recorded (or predicted) epoch
seconds, in the order their epochs would finish; every epoch counts towards the budget
(``--samples`` x max_epochs, what ``c`` spends), and a method stops when it is spent. A trial
whose run stops may be started again later (paused, then resumed): it keeps its curve and counts
as one configuration.

- ``a``, ``a'``: ``search.run.make_searcher`` (Ray's ``OptunaSearch`` with TPE, stopped trials
  told PRUNED / COMPLETE) and ``make_scheduler`` (Ray's ASHA), called as Tune's controller calls
  them: ``suggest``, ``on_trial_add``, ``on_trial_result``, ``on_trial_complete``.
- ``b``: keras-tuner's own ``HyperbandOracle`` (factor 3, iterations repeated until the budget is
  spent), driven as its tuner drives it (``create_trial``, ``update_trial``, ``end_trial``),
  one trial at a time as ``bench.search_efficiency`` runs it; a trial continued from an earlier
  one resumes that configuration's curve at its ``tuner/initial_epoch``.
- ``c``: random configurations (``SearchSpace.sample``), every one trained to max_epochs.
- ``d``: the same random configurations under ``make_scheduler``'s ASHA.
- ``e``: BOHB, Ray's ``TuneBOHB`` (hpbandster's KDE model, over a ConfigSpace made from the
  space's parameters) with ``HyperBandForBOHB`` (max_t max_epochs, reduction factor 3), driven
  as Tune's controller drives them: one trial kept pending (``suggest``, ``on_trial_add``), a
  free worker given ``choose_trial_to_run``'s pick, ``on_trial_result`` to both, and a
  ``stop_trial`` that calls ``on_trial_remove`` / ``on_trial_complete``. The scheduler PAUSEs
  trials at rung ends and resumes the promoted ones later: a resumed trial trains from its next
  epoch (its earlier epochs were spent once), pausing and resuming taking no simulated time.
- ``f``, ``f'``: Optuna alone, ask-and-tell, TPE with its ``HyperbandPruner`` /
  ``SuccessiveHalvingPruner`` (min resource 1, reduction factor 3).
- ``a-mv``, ``a-def``: variants of ``a`` for choosing its settings (the project's
  ``PruneAwareOptunaSearch`` with ``TPESampler(multivariate=True)``, or with the space's defaults
  as Ray's ``points_to_evaluate``); ``--grace-period`` and ``--reduction-factor`` change ASHA's
  settings for every ASHA method.

Per (method, seed): ``epochs_to_mark`` (epochs spent when the best-so-far first came within
``MARK`` of the table's best configuration; empty if never), ``best_at_budget`` and ``budget``,
written to ``bench/out/replay-<task>.csv``, with a PNG of the median best-so-far against epochs
(interquartile band) and a JSON of the summary and the surrogate's quality next to it. The last
printed line is the median ratio of ``a``'s ``epochs_to_mark`` to ``c``'s and to ``b``'s.
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
    Table,
    Trace,
    jitter,
    read_table,
    run_replays,
    surrogate_quality,
)
from bench.policies import (
    BohbPolicy,
    HyperbandPolicy,
    OptunaPolicy,
    RandomSearcher,
    RayPolicy,
    quiet_search_logs,
)
from lens_search.cli import OneLineParser, run_cli
from lens_search.errors import LensSearchError

quiet_logs()

MARK = {"superres": 0.1, "classify": 0.002}
"""How close to the table's best configuration counts as reaching it (dB PSNR, AUC)."""
METHODS = {
    "a": "optuna tpe + asha, stopped = pruned (default)",
    "a'": "optuna tpe + asha, stopped = complete",
    "b": "keras-tuner hyperband",
    "c": "random, full epochs",
    "d": "random + asha",
    "e": "bohb (TuneBOHB + HyperBandForBOHB)",
    "f": "optuna tpe + HyperbandPruner",
    "f'": "optuna tpe + SuccessiveHalvingPruner",
    "a-mv": "a with multivariate TPE",
    "a-def": "a with the space's defaults tried first",
}
COLUMNS = ("method", "seed", "epochs_to_mark", "best_at_budget", "budget")
FRACTIONS = (1 / 3, 1 / 2, 2 / 3, 1.0)
"""Budget fractions the median regret is reported at."""


def variant_searcher(method: str, table: Table, seed: int) -> Any:
    """``a-mv`` / ``a-def``: the project's prune-aware searcher with one TPE setting changed."""
    import optuna

    from lens_search.search.searcher import PruneAwareOptunaSearch

    common: dict[str, Any] = {
        "space": table.space.define_by_run,
        "metric": table.metric,
        "mode": "max",
        "max_epochs": table.max_epochs,
    }
    if method == "a-mv":
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
        return PruneAwareOptunaSearch(**common, sampler=sampler)
    searched = set(table.space.searched())
    defaults = {k: v for k, v in table.space.defaults().items() if k in searched}
    return PruneAwareOptunaSearch(**common, seed=seed, points_to_evaluate=[defaults])


def make_policy(
    method: str,
    task: str,
    table: Table,
    seed: int,
    workers: int,
    folder: str,
    asha: dict[str, int] | None = None,
) -> Policy:
    """Method ``method`` built from its library's (or the project's) own search code.

    ``asha``: ``grace_period`` / ``reduction_factor`` for ``SearchConfig`` (else its defaults).
    """
    import optuna

    from lens_search.experiments.tasks import TASKS

    quiet_search_logs()
    from lens_search.search.config import SearchConfig
    from lens_search.search.run import make_scheduler, make_searcher

    spec = TASKS[task]
    epochs = table.max_epochs
    if method in ("a", "a'", "c", "d", "a-mv", "a-def"):
        policy = "complete" if method == "a'" else "pruned"
        config = SearchConfig(max_epochs=epochs, seed=seed, stopped_trials=policy, **(asha or {}))
        np.random.seed(seed)  # ASHA draws its bracket from NumPy's global generator
        if method in ("a", "a'"):
            searcher = make_searcher(spec, table.space, config)
        elif method in ("c", "d"):
            searcher = RandomSearcher(table.space, seed)
        else:
            searcher = variant_searcher(method, table, seed)
        scheduler = None if method == "c" else make_scheduler(spec, config)
        return RayPolicy(searcher, scheduler, table.metric, epochs, workers)
    if method == "b":
        return HyperbandPolicy(table.space, table.metric, epochs, seed, folder)
    if method == "e":
        np.random.seed(seed)  # hpbandster's BOHB draws from NumPy's global generator
        return BohbPolicy(table.space, table.metric, epochs, seed, workers)
    pruners = {
        "f": optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=epochs, reduction_factor=3
        ),
        "f'": optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    }
    return OptunaPolicy(table.space, pruners[method], epochs, seed, workers)


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
            "name": METHODS[method],
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
    """Live searches' best metric per method (``method,seed,best,...``, one row per seed)."""
    live: dict[str, list[float]] = {}
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                live.setdefault(row["method"], []).append(float(row["best"]))
            except (KeyError, TypeError, ValueError):
                raise LensSearchError(
                    f"--live {path}: line {line} needs a method and a numeric best"
                ) from None
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
    """The median ratios of a's epochs to the mark to c's and b's (bounds where one never got
    there in most seeds)."""
    by = {r["method"]: r["median_to_mark"] for r in rows}
    parts = []
    for other in ("c", "b"):
        if "a" not in by or other not in by:
            parts.append(f"a/{other} n/a (method not run)")
            continue
        a, o = by["a"], by[other]
        if math.isinf(a):
            parts.append(f"a/{other} n/a (a did not reach the mark in most seeds)")
        elif math.isinf(o):
            parts.append(f"a/{other} < {a / budget:.2f} ({other} did not reach it within {budget})")
        else:
            parts.append(f"a/{other} = {a / o:.2f} ({a:g} / {o:g} epochs)")
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
        width = 2.5 if method == "a" else 1.2  # the default drawn on top, thicker
        (line,) = axes.plot(
            epochs, mid, label=f"{method}: {METHODS[method]}", linewidth=width, zorder=3
        )
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
        "--samples", type=int, default=9, help="budget = samples x max_epochs (what c spends)"
    )
    parser.add_argument("--workers", type=int, default=2, help="trials at once (b: always 1)")
    parser.add_argument("--surrogate", choices=SURROGATES, default="nearest")
    parser.add_argument("--grace-period", type=int, default=None, help="ASHA's (default 1)")
    parser.add_argument("--reduction-factor", type=int, default=None, help="ASHA's (default 3)")
    parser.add_argument(
        "--methods",
        default=None,
        help="--task: subset of " + ", ".join(METHODS) + " (default all); --benchmark: presets "
        "of bench.benchmarks (default all; dehb where installed)",
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
    methods = [m.strip() for m in (args.methods or ",".join(METHODS)).split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {', '.join(METHODS)}")
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
        return make_policy(method, table.task, table, seed, args.workers, folder, asha)

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
    from bench.policies import dehb_available

    available = [m for m in benchmarks.METHODS if m != "dehb" or dehb_available()]
    methods = [m.strip() for m in (args.methods or ",".join(available)).split(",") if m.strip()]
    unknown = sorted(set(methods) - set(benchmarks.METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {', '.join(benchmarks.METHODS)}")
    if "dehb" in methods and not dehb_available():
        parser.error("--methods dehb needs the dehb package (see bench/RESULTS.md)")
    if args.live or args.table or args.surrogate != "nearest" or args.grace_period:
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

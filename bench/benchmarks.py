"""Named benchmarks for ``python -m bench.replay --benchmark NAME``, scored by regret.

Benchmarks (each answers a configuration with a curve of ``max_epochs`` scores to maximise and
the configuration's ``truth``, its full-fidelity score without noise):

- ``mfh3_good`` ... ``mfh6_terrible``: mf-prior-bench's multi-fidelity Hartmann functions
  (``bench.hartmann``), evaluated in closed form; epoch ``e`` of 9 is fidelity
  ``z = 100 e / 9``, the score is minus the function's value; regret is in its units.
- ``superres-forest``, ``classify-forest``: the recorded tables (``bench/tables``) answered by
  ``bench.engine``'s ``forest`` surrogate (recorded curve for a recorded configuration, else a
  random forest's prediction plus the recorded jitter), whose held-out Spearman is printed. The
  ``nearest`` surrogate is not used here: it makes the search a lottery for one recorded
  configuration, and whoever draws it wins.

Regret after each epoch: the benchmark's optimum minus the truth of the incumbent (the best
score seen at the highest epoch reached so far), so a lucky low-fidelity score does not count
and every method is scored by what it would hand over. The optimum: the Hartmann function's
minimum; for a table, its best recorded final-epoch score.

Methods are the named presets of ``bench.presets`` (the same names as ``--task``), played by
``bench.engine``'s event loop; every benchmark is a ``bench.engine.Answers``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import format_table, machine, write_csv
from bench.engine import (
    SURROGATES,
    TABLES,
    Curve,
    Oracle,
    Policy,
    Trace,
    jitter,
    read_table,
    run_replays,
    surrogate_quality,
)
from bench.hartmann import MAX_FIDELITY, VARIANTS, MFHartmann, fidelity
from bench.presets import DEFAULT, Setting, make_policy

HARTMANN_EPOCHS = 9
TABLE_BENCHMARKS = {"superres-forest": "superres", "classify-forest": "classify"}
BENCHMARKS = (*VARIANTS, *TABLE_BENCHMARKS)
COLUMNS = ("method", "seed", "budget", "regret")
FRACTIONS = (1 / 3, 1 / 2, 2 / 3, 1.0)
BASELINE = "random-asha"


class HartmannBenchmark:
    """A multi-fidelity Hartmann function as a benchmark of 9 epochs (minus its value)."""

    metric = "neg_value"
    max_epochs = HARTMANN_EPOCHS

    def __init__(self, name: str, function: MFHartmann) -> None:
        from lens_search.spaces import FloatParam, SearchSpace

        self.name, self.function = name, function
        params = tuple(FloatParam(f"X_{i}", 0.0, 1.0) for i in range(function.dims))
        self.space = SearchSpace(name, params)
        self.optimum = -function.minimum

    def _x(self, config: dict[str, Any]) -> tuple[float, ...]:
        return tuple(float(config[f"X_{i}"]) for i in range(self.function.dims))

    def curve(self, config: dict[str, Any]) -> Curve:
        x = self._x(config)
        epochs = range(1, self.max_epochs + 1)
        values = np.array([-self.function(x, fidelity(e, self.max_epochs)) for e in epochs])
        return values, np.ones(self.max_epochs)

    def truth(self, config: dict[str, Any]) -> float:
        return -self.function(self._x(config), MAX_FIDELITY)

    def reseed(self, seed: int) -> None:
        """Deterministic: nothing to redraw."""

    def describe(self) -> str:
        f = self.function
        return (
            f"{self.name}: {f.dims}-d Hartmann, bias {f.bias}, noise {f.noise}; epoch e of "
            f"{self.max_epochs} = fidelity round(100 e / {self.max_epochs}); optimum "
            f"{self.optimum:.5f}"
        )


class TableBenchmark:
    """A recorded table answered by the ``forest`` surrogate (recorded curves where recorded)."""

    def __init__(self, name: str, task: str, trees: int) -> None:
        self.name = name
        self.table = read_table(TABLES / f"{task}.csv", task)
        self.oracle = Oracle(self.table, "forest", trees)
        self.space, self.metric = self.table.space, self.table.metric
        self.max_epochs = self.table.max_epochs
        self.optimum = float(self.table.values[:, -1].max())
        self.trees = trees

    def curve(self, config: dict[str, Any]) -> Curve:
        return self.oracle.curve(config)

    def truth(self, config: dict[str, Any]) -> float:
        return self.oracle.truth(config)

    def reseed(self, seed: int) -> None:
        self.oracle.reseed(seed)

    def describe(self) -> str:
        lines = [
            f"{self.name}: {len(self.table.configs)} recorded configurations x "
            f"{self.max_epochs} epochs of {self.metric}; optimum (best final) {self.optimum:.4f}"
        ]
        for kind in SURROGATES:
            quality = surrogate_quality(self.table, kind, self.trees)
            used = " (used)" if kind == "forest" else ""
            lines.append(
                f"surrogate {kind}{used}, 5-fold held out: Spearman of final {self.metric} "
                f"{quality['spearman_final']:.3f}; RMSE per epoch "
                + " ".join(f"{x:.3f}" for x in quality["rmse_per_epoch"])
                + (f"; noise std {jitter(self.table.values):.4f}" if kind == "forest" else "")
            )
        return "\n".join(lines)


Benchmark = HartmannBenchmark | TableBenchmark


def make_benchmark(name: str, trees: int = 100) -> Benchmark:
    if name in VARIANTS:
        return HartmannBenchmark(name, VARIANTS[name])
    return TableBenchmark(name, TABLE_BENCHMARKS[name], trees)


# ---- running and scoring -------------------------------------------------------------------


def budgets_of(budget: int) -> list[int]:
    """The budgets regret is reported at: 1/3, 1/2, 2/3 and all of ``budget`` epochs."""
    return [max(1, int(round(f * budget))) for f in FRACTIONS]


def run_methods(
    bench: Benchmark,
    methods: Sequence[str],
    seeds: Sequence[int],
    samples: int,
    workers: int,
    log: Callable[[str], None],
) -> list[Trace]:
    """Every preset of ``methods`` for every seed (the same seeds for all: paired), each spending
    ``samples`` x max_epochs epochs."""

    def build(method: str, seed: int, folder: str) -> Policy:
        space, metric, epochs = bench.space, bench.metric, bench.max_epochs
        return make_policy(method, Setting(space, metric, epochs, seed, samples, workers, folder))

    budget = samples * bench.max_epochs
    return run_replays(bench, methods, seeds, budget, build, log)


def regret_rows(traces: Sequence[Trace], optimum: float, budget: int) -> list[dict[str, Any]]:
    """The CSV's rows: one per (method, seed, reported budget)."""
    rows = []
    for trace in traces:
        regret = optimum - trace.incumbent_truth(budget)
        for at in budgets_of(budget):
            rows.append(
                {
                    "method": trace.method,
                    "seed": trace.seed,
                    "budget": at,
                    "regret": round(float(regret[at - 1]), 6),
                }
            )
    return rows


def statistics(rows: Sequence[dict[str, Any]], methods: Sequence[str]) -> list[dict[str, Any]]:
    """Per method: median regret (IQR) at each budget and the Wilcoxon signed-rank p against
    ``random-asha`` at each, paired by seed (one-sided: lower regret than it); ``*`` marks
    the lowest median at a budget."""
    from scipy.stats import wilcoxon

    table: dict[tuple[str, int], dict[int, float]] = {}
    for row in rows:
        table.setdefault((row["method"], int(row["budget"])), {})[int(row["seed"])] = float(
            row["regret"]
        )
    budgets = sorted({b for _, b in table})
    lowest = {
        b: min(float(np.median(list(table[(m, b)].values()))) for m in methods if (m, b) in table)
        for b in budgets
    }
    out = []
    for method in methods:
        entry: dict[str, Any] = {"method": method}
        for b in budgets:
            regrets = table[(method, b)]
            values = np.array(list(regrets.values()))
            median = float(np.median(values))
            q1, q3 = np.percentile(values, [25, 75])
            star = "*" if math.isclose(median, lowest[b], rel_tol=0, abs_tol=1e-12) else ""
            entry[f"regret@{b}"] = f"{median:.4g}{star} ({q1:.3g}-{q3:.3g})"
            base = table.get((BASELINE, b))
            if method != BASELINE and base is not None:
                seeds = sorted(set(regrets) & set(base))
                diff = np.array([regrets[s] - base[s] for s in seeds])
                p = float(wilcoxon(diff, alternative="less").pvalue) if np.any(diff != 0) else 1.0
                entry[f"p@{b}"] = f"{p:.3g}"
            else:
                entry[f"p@{b}"] = ""
        out.append(entry)
    return out


def plot_regret(
    traces: Sequence[Trace], methods: Sequence[str], optimum: float, budget: int, out: Path
) -> None:
    """Median regret against epochs spent (log scale), one line per method; the default (black)
    and random + ASHA (dashed) thick, with their interquartile bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    epochs = np.arange(1, budget + 1)
    colours = plt.get_cmap("tab20").colors
    for index, method in enumerate(methods):
        regrets = np.array(
            [optimum - t.incumbent_truth(budget) for t in traces if t.method == method]
        )
        low, mid, high = np.nanpercentile(regrets, [25, 50, 75], axis=0)
        mine = method in (DEFAULT, BASELINE)  # the two compared: thick, with their IQR band
        colour = "black" if method == DEFAULT else colours[index % len(colours)]
        style = "--" if method == BASELINE else "-"
        axes.plot(
            epochs,
            mid,
            style,
            color=colour,
            label=method,
            linewidth=2.5 if mine else 1.1,
            zorder=4 if mine else 3,
        )
        if mine:
            axes.fill_between(epochs, low, high, color=colour, alpha=0.12)
    axes.set_yscale("symlog", linthresh=1e-3)
    axes.axvline(budget / 3, color="grey", linestyle=":", linewidth=1)
    axes.set_xlabel("epochs spent")
    axes.set_ylabel("regret of the incumbent (median, IQR)")
    axes.set_title(out.stem)
    axes.legend(fontsize=7, loc="upper right", ncol=2)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)


def verdict(stats: Sequence[dict[str, Any]], method: str = DEFAULT) -> str:
    """Whether ``method`` has the lowest median at every budget, and where p < 0.05."""
    entry = next((e for e in stats if e["method"] == method), None)
    if entry is None:
        return f"{method} not run"
    lowest = all(
        str(v).split(" ")[0].endswith("*") for k, v in entry.items() if k.startswith("regret@")
    )
    significant = [k[2:] for k, v in entry.items() if k.startswith("p@") and v and float(v) < 0.05]
    return (
        f"{method}: lowest median regret at every budget: {'yes' if lowest else 'no'}; "
        f"p < 0.05 against {BASELINE} at budgets: {', '.join(significant) or 'none'}"
    )


def run_benchmark(
    name: str,
    methods: Sequence[str],
    seeds: int,
    samples: int,
    workers: int,
    out: Path,
    trees: int,
) -> int:
    """Replay every method on benchmark ``name``; print the statistics, write CSV and plot."""
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    start = time.perf_counter()
    bench = make_benchmark(name, trees)
    budget = samples * bench.max_epochs
    print(bench.describe())
    print(
        f"budget {budget} epochs ({samples} x {bench.max_epochs}), {workers} workers, {seeds} seeds"
    )
    traces = run_methods(bench, methods, range(seeds), samples, workers, log)
    rows = regret_rows(traces, bench.optimum, budget)
    write_csv(rows, COLUMNS, out)
    plot_regret(traces, methods, bench.optimum, budget, out.with_suffix(".png"))
    stats = statistics(rows, methods)
    print(format_table(stats, list(stats[0])))
    print(f"{time.perf_counter() - start:.0f} s; {machine()}")
    print(verdict(stats))
    log(f"wrote {out} and {out.with_suffix('.png')}")
    return 0

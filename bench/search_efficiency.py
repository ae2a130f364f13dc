"""Search efficiency on super-resolution: how many epochs each method needs to find a good model.

    python -m bench.search_efficiency            # 40 pairs, budget 9 x 9 epochs, 3 seeds
    python -m bench.search_efficiency --quick    # 12 pairs, 2 x 2 epochs, 1 seed, QUICK_SPACE
    python -m bench.search_efficiency --space narrow.yaml   # a narrowed space (as search's)

Methods, on the same data, space (``SUPERRES_SPACE``, or it with a ``--space`` overrides file
applied as the search applies it), trainer, ``max_epochs`` and epoch budget
(``--samples`` x ``max_epochs``, what ``random`` spends):

- ``default``  Ray Tune + Optuna TPE + ASHA, stopped trials told to Optuna as PRUNED (our default)
- ``default-complete`` the same with ``stopped_trials="complete"`` (Ray's OptunaSearch behaviour)
- ``hyperband``  keras-tuner Hyperband (same ``max_epochs``, factor 3), model from
  ``SUPERRES_SPACE.build_keras_tuner(hp)`` and ``build_superres``, trained by the same epoch loop
- ``random``  random search, every trial trained to ``max_epochs`` (no early stopping)
- ``random-asha``  Ray Tune + ASHA with random sampling (separates Optuna's share from ASHA's)

The early-stopping Ray methods (default, default-complete, random-asha) keep sampling new
configurations (up to ``SAMPLE_CAP`` x ``--samples``) until they have trained the budget's
epochs, then stop every trial (``EpochBudget``): what early stopping saves is spent on more
configurations, as a user with a fixed amount of compute would spend it. Hyperband decides its
own number of configurations for one iteration (about the same budget).

The Ray methods are built from the search's own pieces (``make_searcher``, ``make_scheduler``,
``make_tune_trainable``, one trial per CPU, ``reuse_actors=True``) on one local Ray. Every
trained epoch is counted, in the order results arrived. Per seed, the mark is the best validation
PSNR any method found minus 0.1 dB; ``epochs_to_mark`` is how many epochs a method had trained
when its best first reached it. ``best_at_equal`` is each method's best PSNR within the first
``equal_epochs`` epochs (the smallest total of any method in that seed).
Prints a table and writes a CSV (default ``bench/out/search_efficiency.csv``).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray.tune import Stopper

from bench.common import (
    format_table,
    machine,
    parse_bench_args,
    quiet_logs,
    start_local_ray,
    write_csv,
)
from lens_search.cli import OneLineParser, run_cli
from lens_search.experiments.tasks import SUPERRES
from lens_search.spaces import SearchSpace

quiet_logs()

METHODS = {
    "default": "optuna+asha (pruned)",
    "default-complete": "optuna+asha (complete)",
    "hyperband": "keras-tuner hyperband",
    "random": "random, full epochs",
    "random-asha": "random+asha",
}
COLUMNS = (
    "seed",
    "method",
    "name",
    "configs",
    "epochs",
    "best_psnr",
    "epochs_to_mark",
    "equal_epochs",
    "best_at_equal",
    "wall_s",
    "mark_psnr",
)
MARK_DB = 0.1
SAMPLE_CAP = 4
QUICK_SPACE = {"num_layers": 2, "filters_1": 8, "filters_2": 8, "kernel_size": 3, "batch_size": 8}
"""``--quick``'s overrides: the cheapest corner of the space (the full space's largest network
costs 10-20x it per epoch); the quick run checks that every method runs, not what it finds."""


@dataclass
class Run:
    """One method's trained epochs in the order they finished: (seconds, val_psnr)."""

    method: str
    configs: int = 0
    epochs: list[tuple[float, float]] = field(default_factory=list)
    wall_s: float = 0.0

    def best(self, first: int | None = None) -> float:
        values = [p for _, p in self.epochs[:first] if math.isfinite(p)]
        return max(values, default=float("nan"))

    def epochs_to(self, mark: float) -> int | None:
        """Epochs trained when the best PSNR first reached ``mark`` (None if never)."""
        best = -math.inf
        for count, (_, value) in enumerate(self.epochs, start=1):
            best = max(best, value) if math.isfinite(value) else best
            if best >= mark:
                return count
        return None


class EpochBudget(Stopper):
    """A Tune stopper that ends the whole run once ``budget`` epochs have been reported.

    Results of trials already running when it fires still arrive and count; the overshoot is at
    most one epoch per concurrent trial.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.epochs = 0

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        self.epochs += 1
        return False

    def stop_all(self) -> bool:
        return self.epochs >= self.budget


def ray_run(
    method: str, data: Any, space: SearchSpace, samples: int, max_epochs: int, seed: int
) -> Run:
    """Methods default, default-complete, random, random-asha: a Tuner of the search's own
    pieces, on the running Ray.

    ``random`` trains ``samples`` configurations to ``max_epochs``; the others sample until they
    have spent that many epochs (``EpochBudget``), at most ``SAMPLE_CAP * samples`` configurations.
    """
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from bench.common import timed_fit
    from lens_search.search.cluster import cluster_shape, trial_resources
    from lens_search.search.config import SearchConfig
    from lens_search.search.run import make_scheduler, make_searcher
    from lens_search.training import make_tune_trainable

    policy = "complete" if method == "default-complete" else "pruned"
    config = SearchConfig(samples=samples, max_epochs=max_epochs, seed=seed, stopped_trials=policy)
    resources = trial_resources(cluster_shape(), config.cpus_per_trial, 0.0)
    trainable = tune.with_resources(
        make_tune_trainable("superres", data, epochs=max_epochs, seed=seed), resources
    )
    optuna = method in ("default", "default-complete")
    searcher = (
        make_searcher(SUPERRES, space, config)
        if optuna
        else BasicVariantGenerator(random_state=seed)
    )
    wall, events = timed_fit(
        trainable,
        tune.TuneConfig(
            search_alg=searcher,
            scheduler=None if method == "random" else make_scheduler(SUPERRES, config),
            num_samples=samples if method == "random" else SAMPLE_CAP * samples,
            reuse_actors=True,
        ),
        name="search",
        failed=f"method {method}: ",
        param_space=None if optuna else space.to_tune(),
        stop=None if method == "random" else EpochBudget(samples * max_epochs),
    )
    results = [(at, tid, r) for at, kind, tid, r in events if kind == "result"]
    epochs = [(at, float(r["val_psnr"])) for at, _, r in results]
    # configurations that trained (trials still pending when the budget ran out never did)
    return Run(method, configs=len({tid for _, tid, _ in results}), epochs=epochs, wall_s=wall)


def keras_tuner_seed(seed: int) -> int:
    """The oracle seed for ``seed``: keras-tuner reads 0 as "no seed" (``seed or randint``) and
    would sample other configurations on every run, so seeds are shifted by one."""
    return seed + 1


def hyperband_run(data: Any, max_epochs: int, seed: int, space: SearchSpace | None = None) -> Run:
    """Method hyperband: keras-tuner Hyperband in this process, trained by the project's loop."""
    import keras_tuner as kt

    from lens_search.training.loop import ShuffledBatches, fit_one_epoch
    from lens_search.training.metrics import psnr
    from lens_search.training.models import build_superres
    from lens_search.training.runtime import prepare_backend
    from lens_search.training.superres import augment_pairs, predict_hr

    space = SUPERRES.space if space is None else space
    run = Run("hyperband")
    origin = time.perf_counter()

    class SuperResHyperModel(kt.HyperModel):
        def build(self, hp: Any) -> Any:
            prepare_backend(seed)
            run.configs += 1
            return build_superres(space.build_keras_tuner(hp), lr_size=(75, 75))

        def fit(
            self,
            hp: Any,
            model: Any,
            *args: Any,
            epochs: int = 1,
            initial_epoch: int = 0,
            callbacks: Sequence[Any] = (),
            **kwargs: Any,
        ) -> dict[str, float]:
            config = space.build_keras_tuner(hp)
            augment = augment_pairs(config)
            for callback in callbacks:
                callback.set_model(model)
            best = -math.inf
            for epoch in range(initial_epoch + 1, epochs + 1):
                batches = ShuffledBatches(
                    data.lr_train,
                    data.hr_train,
                    batch_size=int(config["batch_size"]),
                    seed=seed,
                    epoch=epoch,
                    augment=augment,
                )
                loss = fit_one_epoch(model, batches, epoch, verbose=0)
                value = psnr(predict_hr(model, data.lr_val), data.hr_val)
                run.epochs.append((time.perf_counter() - origin, value))
                best = max(best, value)
                for callback in callbacks:
                    callback.on_epoch_end(epoch - 1, {"loss": loss, "val_psnr": value})
            return {"val_psnr": best}

    with tempfile.TemporaryDirectory(prefix="bench-hyperband-") as folder:
        tuner = kt.Hyperband(
            SuperResHyperModel(),
            objective=kt.Objective("val_psnr", direction="max"),
            max_epochs=max_epochs,
            factor=3,
            hyperband_iterations=1,
            seed=keras_tuner_seed(seed),
            directory=folder,
            project_name="bench",
            overwrite=True,
        )
        tuner.search(verbose=0)
    run.wall_s = time.perf_counter() - origin
    return run


def score(runs: Sequence[Run], seed: int) -> list[dict[str, Any]]:
    """One row per method of one seed (mark and equal-epoch budget shared by the seed)."""
    mark = max(r.best() for r in runs) - MARK_DB
    equal = min(len(r.epochs) for r in runs)
    return [
        {
            "seed": seed,
            "method": r.method,
            "name": METHODS[r.method],
            "configs": r.configs,
            "epochs": len(r.epochs),
            "best_psnr": round(r.best(), 3),
            "epochs_to_mark": r.epochs_to(mark),
            "equal_epochs": equal,
            "best_at_equal": round(r.best(equal), 3),
            "wall_s": round(r.wall_s, 1),
            "mark_psnr": round(mark, 3),
        }
        for r in runs
    ]


def mean_rows(rows: Sequence[dict[str, Any]], methods: Sequence[str]) -> list[dict[str, Any]]:
    """Per method, the mean over seeds (epochs_to_mark: None if any seed missed the mark)."""
    means = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        reached = [r["epochs_to_mark"] for r in mine]
        row: dict[str, Any] = {"seed": "mean", "method": method, "name": METHODS[method]}
        for key in ("configs", "epochs", "best_psnr", "equal_epochs", "best_at_equal", "wall_s"):
            row[key] = round(sum(float(r[key]) for r in mine) / len(mine), 3)
        row["epochs_to_mark"] = None if None in reached else round(sum(reached) / len(reached), 1)
        row["mark_psnr"] = ""
        means.append(row)
    return means


def verdict(means: Sequence[dict[str, Any]]) -> list[str]:
    """The issue's targets, checked on the means over seeds."""
    by = {r["method"]: r for r in means}
    lines = []

    def ratio(x: str, y: str) -> float | None:
        ex, ey = by[x]["epochs_to_mark"], by[y]["epochs_to_mark"]
        return None if ex is None or ey is None else ex / ey

    for other, limit in (("random", 1 / 3), ("hyperband", 1 / 2)):
        r = ratio("default", other)
        if r is None:
            lines.append(f"default vs {other}: one of them never reached the mark in some seed")
        else:
            ok = "met" if r <= limit else "MISSED"
            lines.append(
                f"default needs {r:.2f}x the epochs of {other} to the mark "
                f"(target <= {limit:.2f}): {ok}"
            )
    diff = by["default"]["best_at_equal"] - by["hyperband"]["best_at_equal"]
    lines.append(
        f"at equal epochs default - hyperband = {diff:+.3f} dB (target >= 0): "
        f"{'met' if diff >= 0 else 'MISSED'}"
    )
    r = ratio("default", "default-complete")
    lines.append(
        f"pruned vs complete: best {by['default']['best_psnr']:.3f} vs "
        f"{by['default-complete']['best_psnr']:.3f} dB, "
        f"epochs to mark ratio default/default-complete = {'n/a' if r is None else f'{r:.2f}'}"
    )
    return lines


def run_benchmark(
    pairs: int,
    samples: int,
    max_epochs: int,
    seeds: Sequence[int],
    methods: Sequence[str],
    log: Callable[[str], None],
    space: SearchSpace | None = None,
    cpus: int | None = None,
) -> list[dict[str, Any]]:
    """Every method for every seed on one local Ray (of ``cpus`` CPUs, all when None); returns
    per-seed rows then the means."""
    import ray

    from lens_search.data.cache import default_dataset
    from lens_search.data.load import load_superres

    space = SUPERRES.space if space is None else space
    data = load_superres(default_dataset("superres", pairs=pairs, workers=1, progress=False))
    rows: list[dict[str, Any]] = []
    start_local_ray(num_cpus=cpus)
    try:
        for seed in seeds:
            runs = []
            for method in methods:
                log(f"seed {seed}: method {method} ({METHODS[method]})")
                if method == "hyperband":
                    runs.append(hyperband_run(data, max_epochs, seed, space))
                else:
                    runs.append(ray_run(method, data, space, samples, max_epochs, seed))
            seed_rows = score(runs, seed)
            log(format_table(seed_rows, COLUMNS))  # a long run's finished seeds survive a kill
            rows += seed_rows
    finally:
        ray.shutdown()
    return rows + mean_rows(rows, methods)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and the targets, write the CSV."""
    parser = OneLineParser(
        prog="python -m bench.search_efficiency", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pairs", type=int, default=40, help="super-resolution pairs (10%% val)")
    parser.add_argument("--samples", type=int, default=9, help="c's configurations (see budget)")
    parser.add_argument("--max-epochs", type=int, default=9, help="epochs a trial may train")
    parser.epilog = "budget: every method trains samples x max_epochs epochs"
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated subset of " + ", ".join(METHODS),
    )
    parser.add_argument(
        "--space",
        type=Path,
        help="JSON or YAML file that narrows the space (as the search's --space)",
    )
    parser.add_argument(
        "--cpus",
        type=int,
        help="CPUs Ray may use, so trials at once (default: all); ASHA's methods overshoot "
        "the budget by at most one epoch per trial running at once",
    )
    args = parse_bench_args(
        parser,
        argv,
        "tiny run (12 pairs, 2 samples, max_epochs 2, 1 seed, QUICK_SPACE)",
        pairs=12,
        samples=2,
        max_epochs=2,
        seeds=1,
    )
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {', '.join(METHODS)}")
    space = SUPERRES.searched_space(args.space)
    if args.quick and args.space is None:
        space = space.with_overrides(QUICK_SPACE)
    print(machine(), file=sys.stderr)
    start = time.perf_counter()
    rows = run_benchmark(
        args.pairs,
        args.samples,
        args.max_epochs,
        range(args.seeds),
        methods,
        log=lambda line: print(line, file=sys.stderr, flush=True),
        space=space,
        cpus=args.cpus,
    )
    print(format_table(rows, COLUMNS))
    if {"default", "default-complete", "hyperband", "random"} <= set(methods):
        print("\n".join(verdict([r for r in rows if r["seed"] == "mean"])))
    print(f"total {time.perf_counter() - start:.0f} s; {machine()}")
    write_csv(rows, COLUMNS, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main, prog="bench.search_efficiency")

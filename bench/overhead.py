"""Per-trial overhead: time a Ray Tune trial spends outside training, as a fraction of the trial.

    python -m bench.overhead              # both tasks' default data: SR 1000 pairs, cnn
                                          # on 3 x 3000 lenses resized to 64 px
    python -m bench.overhead --inception --per-class 60   # also InceptionResNetV2 at 75 px
    python -m bench.overhead --quick      # tiny data, 1 epoch, 2 trials per task

For each task the same config (the space's defaults) is trained once directly in this process
(the reference) and then as ``--trials`` Ray Tune trials, one at a time, with ``reuse_actors=True``
as the search runs them. A trial's wall time runs from Tune starting it to Tune seeing it end (the
driver's clock); its training time is the sum of the trainer's ``epoch_seconds`` (training and
validation). ``overhead_s`` is the difference: worker start-up and imports (first trial only),
data hand-over, model building, checkpointing and reporting. ``fit/trial`` rows divide the whole
``Tuner.fit`` wall time over the trials. Prints a table, writes a CSV (``bench/out/overhead.csv``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from bench import common
from lens_search.cli import OneLineParser, run_cli

common.quiet_logs()

COLUMNS = ("task", "run", "epochs", "wall_s", "train_s", "overhead_s", "overhead_frac")
TARGET = 0.05


def _row(task: str, run: str, epochs: int, wall: float, train: float) -> dict[str, Any]:
    return {
        "task": task,
        "run": run,
        "epochs": epochs,
        "wall_s": round(wall, 2),
        "train_s": round(train, 2),
        "overhead_s": round(wall - train, 2),
        "overhead_frac": round((wall - train) / wall, 4) if wall > 0 else float("nan"),
    }


def direct_row(task: str, data: Any, config: dict[str, Any], fixed: dict[str, Any]) -> dict:
    """The reference: the trainer called in this process, no Ray."""
    from lens_search.training import train_classifier, train_superres

    train = train_classifier if task.startswith("classify") else train_superres
    start = time.perf_counter()
    history = train(config, data, **fixed)
    wall = time.perf_counter() - start
    return _row(task, "direct", len(history), wall, sum(h["epoch_seconds"] for h in history))


def ray_rows(
    task: str, data: Any, config: dict[str, Any], fixed: dict[str, Any], trials: int
) -> list[dict[str, Any]]:
    """``trials`` identical trials, one at a time, on the running Ray (actors reused)."""
    from ray import tune

    from lens_search.training import make_tune_trainable

    trainable = tune.with_resources(
        make_tune_trainable(task.split(":")[0], data, **fixed), {"cpu": 1, "gpu": 0}
    )
    fit_wall, events = common.timed_fit(
        trainable,
        tune.TuneConfig(num_samples=trials, reuse_actors=True, max_concurrent_trials=1),
        name="overhead",
        failed=f"{task}: ",
        param_space=dict(config),
    )
    rows, total_train, total_epochs = [], 0.0, 0
    spans = sorted(common.trial_spans(events).values(), key=lambda s: s["start"])
    for number, span in enumerate(spans, start=1):
        train = sum(r["epoch_seconds"] for _, r in span["results"])
        total_train += train
        total_epochs += len(span["results"])
        rows.append(
            _row(
                task,
                f"ray trial {number}",
                len(span["results"]),
                span["end"] - span["start"],
                train,
            )
        )
    rows.append(
        _row(
            task, "fit/trial", round(total_epochs / trials), fit_wall / trials, total_train / trials
        )
    )
    return rows


def task_setups(args: Any) -> list[tuple[str, Any, dict[str, Any], dict[str, Any]]]:
    """(task label, data, config, fixed training settings) for each measured trainable."""
    from lens_search.data.cache import default_dataset
    from lens_search.data.load import load_classification, load_superres
    from lens_search.spaces import SUPERRES_SPACE

    setups = []
    sr = load_superres(default_dataset("superres", pairs=args.pairs, workers=1, progress=False))
    setups.append(("superres", sr, SUPERRES_SPACE.defaults(), {"epochs": args.epochs}))
    if args.per_class is None:  # the search's default data set (simulated once, then cached)
        from lens_search.experiments.tasks import CLASSIFY

        folder = CLASSIFY.default_data_path()
    else:
        folder = default_dataset(
            "classify",
            preset="model1",
            per_class=args.per_class,
            size=args.size,
            workers=1,
            progress=False,
        )
    small = load_classification(folder, image_size=args.size)
    fixed = {"epochs": args.epochs, "backbone": "cnn", "image_size": args.size}
    setups.append(("classify:cnn", small, common.classify_defaults("cnn"), fixed))
    if args.inception:
        irv2 = load_classification(folder, image_size=75)
        fixed = {"epochs": args.epochs, "backbone": "inception_resnet_v2", "image_size": 75}
        irv2_defaults = common.classify_defaults("inception_resnet_v2")
        setups.append(("classify:inception_resnet_v2", irv2, irv2_defaults, fixed))
    return setups


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table and the 5 % target, write the CSV."""
    import ray

    parser = OneLineParser(prog="python -m bench.overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1000, help="SR pairs (default data: 1000)")
    parser.add_argument(
        "--per-class",
        type=int,
        default=None,
        help="simulate this many classification images per class at --size "
        "(default: the search's default data set, 3000 per class at 150 px, resized to --size)",
    )
    parser.add_argument("--size", type=int, default=64, help="cnn image size")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per trial")
    parser.add_argument("--trials", type=int, default=3, help="Ray trials per task")
    parser.add_argument(
        "--inception",
        action="store_true",
        help="also InceptionResNetV2 at 75 px on the classification images",
    )
    args = common.parse_bench_args(
        parser,
        argv,
        "tiny run (20 pairs, 8 per class at 32 px, 1 epoch, 2 trials)",
        pairs=20,
        per_class=8,
        size=32,
        epochs=1,
        trials=2,
    )
    print(common.machine(), file=sys.stderr)
    rows: list[dict[str, Any]] = []
    common.start_local_ray(num_cpus=1)
    try:
        for task, data, config, fixed in task_setups(args):
            print(f"{task}: direct, then {args.trials} Ray trials", file=sys.stderr, flush=True)
            rows.append(direct_row(task, data, config, fixed))
            rows += ray_rows(task, data, config, fixed, args.trials)
    finally:
        ray.shutdown()
    verdicts = [
        f"{row['task']}: {row['overhead_frac']:.1%} of a trial outside training "
        f"(target < {TARGET:.0%}): {common.met(row['overhead_frac'] < TARGET)}"
        for row in rows
        if row["run"] == "fit/trial"
    ]
    return common.finish(rows, COLUMNS, args.out, verdicts)


if __name__ == "__main__":
    run_cli(main, prog="bench.overhead")

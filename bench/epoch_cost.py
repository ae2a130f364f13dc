"""What a classification epoch costs on this CPU, and where the time goes.

    python -m bench.epoch_cost --data DATA               # both parts on a classification folder
    python -m bench.epoch_cost --quick                   # random images, in one process

Part 1, per training image (``--batches`` batches after a warm-up pass, so tracing is not counted),
each setting in its own process (TensorFlow fixes threads and determinism per process): a plain
Keras ``model.fit`` of the ``cnn`` classifier (space defaults, ``--size`` px) with and without its
augmentation layers, the project's training step (``ShuffledBatches`` + ``fit_one_epoch``, what
``train_classifier`` runs; alternated with the plain ``fit`` on one model for ``--rounds`` rounds,
so their ratio holds under a changing load), and the two passes the trainer adds per epoch:
batch-norm recalibration (``recalibrate_classifier``) and validation (``model.predict``), each as
seconds per call and per training image of an epoch of ``--train-per-class`` x 3 images. The
settings: today's defaults, op determinism on (``LENS_SEARCH_DETERMINISTIC=1``), one thread
(``set_threads(1)``), XLA forced on, and two processes at once with 1 thread each or TF's default.

Part 2, whole epochs through ``train_classifier`` with validation AUC after every epoch: today's
Quick start path (the old ``small_cnn``: ``cnn`` 16 filters x 3 stages x 1 block, 64 px, 3,000
lenses per class, op determinism on) against the new one (``cnn`` space defaults at ``--size`` on
``--train-per-class`` lenses per class). Prints tables and writes ``bench/out/epoch_cost*.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import format_table, machine, quiet_logs, write_csv
from lensing.cli import OneLineParser, run_cli
from trainables.runtime import DETERMINISTIC_ENV

quiet_logs()

OLD_SMALL_CNN = {"cnn_width": 16, "cnn_stages": 3, "cnn_blocks": 1}
"""Today's ``small_cnn``: convolutions of 16, 32 and 64 filters with batch norm and pooling."""
SETTINGS = {
    "default": {},
    "deterministic": {"env": {"LENS_SEARCH_DETERMINISTIC": "1"}},
    "1 thread": {"threads": 1},
    "xla": {"jit": True},
}
COST_COLUMNS = (
    "setting",
    "fit_ms",
    "fit_noaug_ms",
    "trainer_ms",
    "recal_s",
    "val_s",
    "epoch_s",
    "trainer/fit",
    "ratio_min",
    "ratio_max",
)
EPOCH_COLUMNS = ("path", "epoch", "train_images", "size", "epoch_s", "val_auc")


def cpu_line() -> str:
    """The CPU model and its vector extensions (lscpu), recorded next to every figure."""
    model, flags = "unknown", set()
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return model
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Model name":
            model = value.strip()
        elif key.strip() == "Flags":
            flags = set(value.split())
    found = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    return f"{model} ({' '.join(found) or 'no avx2'})"


def subset(data: Any, train_per_class: int | None, val_per_class: int | None) -> Any:
    """The first ``n`` training and validation images of each class (all when ``None``)."""
    import numpy as np

    def pick(x: Any, y: Any, n: int | None) -> tuple[Any, Any]:
        if n is None:
            return x, y
        rows = np.concatenate([np.flatnonzero(y == c)[:n] for c in np.unique(y)])
        return x[rows], y[rows]

    x_train, y_train = pick(data.x_train, data.y_train, train_per_class)
    x_val, y_val = pick(data.x_val, data.y_val, val_per_class)
    return types.SimpleNamespace(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, classes=data.classes
    )


def load(args: Any, size: int, train_per_class: int | None, val_per_class: int | None) -> Any:
    """``--data`` at ``size`` px, the first lenses of each class; random images with --quick."""
    if args.quick:
        return quick_data(size, train_per_class or 9, val_per_class or 3)
    from lensing.load import load_classification

    return subset(load_classification(args.data, image_size=size), train_per_class, val_per_class)


def quick_data(size: int, train_per_class: int, val_per_class: int) -> Any:
    """Random images in [0, 1] with balanced labels: enough to run every code path."""
    import numpy as np

    rng = np.random.default_rng(0)

    def split(n: int) -> tuple[Any, Any]:
        return rng.random((3 * n, size, size, 1), dtype=np.float32), np.repeat(np.arange(3), n)

    (x_train, y_train), (x_val, y_val) = split(train_per_class), split(val_per_class)
    return types.SimpleNamespace(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, classes=("no", "sphere", "vort")
    )


def _timed_fit(model: Any, x: Any, y: Any, batch_size: int) -> float:
    """Seconds of the second of two ``fit`` passes over ``x`` (the first one traces)."""
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return time.perf_counter() - start


def fit_against_trainer(model: Any, x: Any, y: Any, batch: int, rounds: int) -> dict[str, float]:
    """Plain ``fit`` and the trainer's step on one model, alternated ``rounds`` times.

    Both passes run the same network over the same number of images; alternating them in one
    process makes their ratio hold on a machine whose load changes from minute to minute. Each
    path is traced once before the timed rounds. Returns milliseconds per training image
    (medians) and the median and range of the per-round ratios.
    """
    import numpy as np

    from trainables.loop import ShuffledBatches, fit_one_epoch

    images = len(x) // batch * batch

    def plain() -> float:
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        return time.perf_counter() - start

    def trainer(epoch: int) -> float:
        start = time.perf_counter()
        fit_one_epoch(model, ShuffledBatches(x, y, batch_size=batch, seed=0, epoch=epoch), 1, 0)
        return time.perf_counter() - start

    plain(), trainer(1)
    fit_s, trainer_s = [], []
    for round_ in range(rounds):
        fit_s.append(plain())
        trainer_s.append(trainer(round_ + 2))
    ratios = np.asarray(trainer_s) / np.asarray(fit_s)
    return {
        "fit_ms": 1000 * float(np.median(fit_s)) / len(x),
        "trainer_ms": 1000 * float(np.median(trainer_s)) / images,
        "trainer/fit": float(np.median(ratios)),
        "ratio_min": float(ratios.min()),
        "ratio_max": float(ratios.max()),
    }


def measure_costs(args: Any, setting: dict[str, Any]) -> dict[str, float]:
    """Part 1 for one setting, in this process (called through ``--setting``)."""
    from trainables.runtime import set_threads

    if setting.get("threads"):
        set_threads(int(setting["threads"]))
    import keras

    from spaces import CLASSIFY_SPACE
    from trainables.classify import PREDICT_BATCH, recalibrate_classifier
    from trainables.loop import BatchNormCalibrator
    from trainables.models import build_classifier, classifier_backbone
    from trainables.runtime import prepare_backend

    config = CLASSIFY_SPACE.defaults()
    batch = int(config["batch_size"])
    data = load(args, args.size, args.train_per_class, args.val_per_class)
    images = args.batches * batch
    x, y = data.x_train[:images], data.y_train[:images]
    n_train = len(data.x_train)

    def build(extra: dict[str, Any]) -> Any:
        prepare_backend(0)
        model = build_classifier({**config, **extra}, image_size=args.size, backbone="cnn")
        if setting.get("jit"):
            model.compile(optimizer=model.optimizer, loss=model.loss, jit_compile=True)
        return model

    result: dict[str, float] = {}
    noaug = {"rotation": 0.0, "shear": 0.0, "translation": 0.0}
    result["fit_noaug_ms"] = 1000 * _timed_fit(build(noaug), x, y, batch) / images
    if setting.get("jit"):
        return result
    model = build({})
    result.update(fit_against_trainer(model, x, y, batch, args.rounds))
    calibrator = BatchNormCalibrator(classifier_backbone(model))
    for _ in range(2):
        start = time.perf_counter()
        recalibrate_classifier(model, data.x_train, batch_size=batch, seed=0, calibrator=calibrator)
        result["recal_s"] = time.perf_counter() - start
    for _ in range(2):
        start = time.perf_counter()
        model.predict(data.x_val, batch_size=PREDICT_BATCH, verbose=0)
        result["val_s"] = time.perf_counter() - start
    result["epoch_s"] = result["trainer_ms"] * n_train / 1000 + result["recal_s"] + result["val_s"]
    keras.backend.clear_session()
    return result


def _child(args: Any, name: str) -> subprocess.Popen:
    """``python -m bench.epoch_cost --setting NAME`` with the same data options."""
    setting = SETTINGS[name]
    argv = [sys.executable, "-m", "bench.epoch_cost", "--setting", name, "--data", str(args.data)]
    argv += ["--size", str(args.size), "--batches", str(args.batches)]
    argv += ["--train-per-class", str(args.train_per_class)]
    argv += ["--val-per-class", str(args.val_per_class), "--rounds", str(args.rounds)]
    env = {**os.environ, **setting.get("env", {})}
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> dict[str, float]:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"a measuring process failed (exit {process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def cost_rows(args: Any) -> list[dict[str, Any]]:
    """Part 1: every setting alone, then two processes at once (the search's two trials).

    With ``--quick`` only today's defaults, in this process.
    """
    if args.quick:
        return [{"setting": "default", **measure_costs(args, SETTINGS["default"])}]
    rows = []
    for name in args.settings:
        print(f"part 1: {name}", file=sys.stderr, flush=True)
        rows.append({"setting": name, **_result(_child(args, name))})
    for name in [n for n in ("default", "1 thread") if n in args.settings and args.pairs]:
        print(f"part 1: two processes, {name}", file=sys.stderr, flush=True)
        pair = [_child(args, name), _child(args, name)]
        results = [_result(p) for p in pair]
        mean = {k: sum(r[k] for r in results) / 2 for k in results[0]}
        rows.append({"setting": f"2 at once, {name}", **mean})
    return rows


def _progress(metrics: dict[str, Any], _folder: Any) -> None:
    seconds, auc = metrics["epoch_seconds"], metrics["val_auc"]
    print(
        f"  epoch {metrics['epoch']}: {seconds:.1f} s, AUC {auc:.4f}", file=sys.stderr, flush=True
    )


def epoch_rows(args: Any) -> list[dict[str, Any]]:
    """Part 2: whole epochs of today's Quick start path and the new one, AUC after each."""
    from spaces import CLASSIFY_SPACE
    from trainables.classify import train_classifier

    old = {**CLASSIFY_SPACE.defaults(), **OLD_SMALL_CNN}
    paths = [  # the new path first: op determinism, once on, stays on in a process
        (
            "new: cnn defaults",
            args.size,
            args.train_per_class,
            args.epochs,
            CLASSIFY_SPACE.defaults(),
        ),
        ("today: small_cnn", args.old_size, args.old_per_class, args.old_epochs, old),
    ]
    rows = []
    for label, size, per_class, epochs, config in paths:
        if epochs < 1:
            continue
        print(f"part 2: {label}", file=sys.stderr, flush=True)
        data = load(args, size, per_class, args.val_per_class)
        os.environ[DETERMINISTIC_ENV] = "1" if label.startswith("today") else "0"
        history = train_classifier(
            config, data, epochs=epochs, backbone="cnn", image_size=size, on_epoch=_progress
        )
        for metrics in history:
            rows.append(
                {
                    "path": label,
                    "epoch": metrics["epoch"],
                    "train_images": len(data.x_train),
                    "size": size,
                    "epoch_s": round(metrics["epoch_seconds"], 2),
                    "val_auc": round(metrics["val_auc"], 4),
                }
            )
    return rows


def summary(costs: list[dict[str, Any]], epochs: list[dict[str, Any]]) -> list[str]:
    """The two targets in words."""
    lines = []
    default = next((r for r in costs if r["setting"] == "default"), None)
    if default:
        lines.append(
            f"trainer {default['trainer_ms']:.2f} ms vs plain fit {default['fit_ms']:.2f} ms per "
            f"training image: {default['trainer/fit']:.2f}x (rounds {default['ratio_min']:.2f}-"
            f"{default['ratio_max']:.2f}; target <= 1.1x); augmentation "
            f"{default['fit_ms'] - default['fit_noaug_ms']:.2f} ms per image, recalibration "
            f"{default['recal_s']:.1f} s and validation {default['val_s']:.1f} s per epoch"
        )
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in epochs:
        by_path.setdefault(row["path"], []).append(row)
    if len(by_path) == 2:
        (new_label, new), (old_label, old) = list(by_path.items())
        steady = [(rows[1:] or rows) for rows in (old, new)]
        mean = [sum(r["epoch_s"] for r in rows) / len(rows) for rows in steady]
        same = new[min(len(old), len(new)) - 1]
        lines.append(
            f"{old_label}: {mean[0]:.1f} s per epoch, AUC {old[-1]['val_auc']:.3f} after "
            f"{len(old)}; {new_label}: {mean[1]:.1f} s per epoch, AUC {same['val_auc']:.3f} "
            f"after {same['epoch']} (and {new[-1]['val_auc']:.3f} after {len(new)}): "
            f"{mean[0] / mean[1]:.2f}x cheaper (target >= 3x at equal or better AUC)"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m bench.epoch_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="classification data folder")
    parser.add_argument("--size", type=int, default=64, help="image size of the new path")
    parser.add_argument("--batches", type=int, default=30, help="batches per part-1 figure")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternated fit/trainer passes per part-1 ratio"
    )
    parser.add_argument("--train-per-class", type=int, default=800, help="new path's lenses")
    parser.add_argument("--val-per-class", type=int, default=200, help="validation lenses")
    parser.add_argument("--old-per-class", type=int, default=2400, help="today's path's lenses")
    parser.add_argument("--old-size", type=int, default=64, help="today's path's image size")
    parser.add_argument("--epochs", type=int, default=10, help="part-2 epochs of the new path")
    parser.add_argument("--old-epochs", type=int, default=4, help="part-2 epochs of today's path")
    parser.add_argument("--skip", choices=("costs", "epochs"), help="leave one part out")
    parser.add_argument(
        "--settings",
        type=lambda text: [n.strip() for n in text.split(",")],
        default=list(SETTINGS),
        help=f"part-1 settings, comma-separated (default all: {', '.join(SETTINGS)})",
    )
    parser.add_argument(
        "--no-pairs", dest="pairs", action="store_false", help="skip part 1's two-process runs"
    )
    parser.add_argument("--setting", choices=tuple(SETTINGS), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="tiny data: 12 per class, 32 px")
    parser.add_argument("--out", type=Path, default=Path("bench/out/epoch_cost.csv"))
    args = parser.parse_args(argv)
    unknown = [n for n in args.settings if n not in SETTINGS]
    if unknown:
        parser.error(f"--settings: unknown {', '.join(unknown)} (known: {', '.join(SETTINGS)})")
    if args.setting:
        print(json.dumps(measure_costs(args, SETTINGS[args.setting])))
        return 0
    if args.quick:
        args.size = args.old_size = 32
        args.batches, args.epochs, args.old_epochs, args.rounds = 1, 2, 2, 2
        args.train_per_class = args.old_per_class = 11
        args.val_per_class = 3
    elif args.data is None:
        parser.error("--data is needed (a classification folder), or --quick")
    print(f"{cpu_line()}; {machine()}", file=sys.stderr)
    costs = [] if args.skip == "costs" else cost_rows(args)
    epochs = [] if args.skip == "epochs" else epoch_rows(args)
    if costs:
        print(format_table(costs, COST_COLUMNS))
        write_csv(costs, COST_COLUMNS, args.out)
    if epochs:
        print(format_table(epochs, EPOCH_COLUMNS))
        write_csv(epochs, EPOCH_COLUMNS, args.out.with_name(args.out.stem + "_epochs.csv"))
    for line in summary(costs, epochs):
        print(line)
    print(f"{cpu_line()}; {machine()}")
    return 0


if __name__ == "__main__":
    run_cli(main, prog="bench.epoch_cost")

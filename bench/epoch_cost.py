"""What a classification epoch costs on this CPU, and where the time goes.

    python -m bench.epoch_cost --data DATA               # both parts on a classification folder
    python -m bench.epoch_cost --quick                   # random images, in one process
    python -m bench.epoch_cost --data DATA --skip epochs --backbone inception_resnet_v2 --size 128

Part 1, per training image (``--batches`` batches after a warm-up pass, so tracing is not counted),
each setting in its own process (TensorFlow fixes threads and determinism per process): a plain
Keras ``model.fit`` of the ``--backbone`` classifier (``cnn`` unless told; space defaults,
``--size`` px) with and without its augmentation layers, the project's training step
(``ShuffledBatches`` + ``fit_one_epoch``, what ``train_classifier`` runs; alternated with the
plain ``fit`` on one model for ``--rounds`` rounds, so their ratio holds under a changing load),
and the two passes the trainer adds per epoch: batch-norm recalibration
(``recalibrate_classifier``) and validation (``model.predict``), each as seconds per call and per
training image of an epoch of ``--train-per-class`` x 3 images. The settings: today's defaults,
op determinism on (``LENS_SEARCH_DETERMINISTIC=1``), one thread (``set_threads(1)``), XLA forced
on, and two processes at once with 1 thread each or TF's default. ``--backbone
inception_resnet_v2`` measures the project's InceptionResNetV2 classifier instead (space
defaults, random weights: ``weights=None`` is training from scratch, every layer trains);
``--batch-size`` overrides the space's batch of 32.

Part 1 then traces ``--profile-batches`` more training batches with the TensorFlow profiler and
reads the ``.xplane.pb`` it writes (``read_trace``): the op time per training image split into
convolutions (Conv2D and both backprops), batch norm (its layers' ops and gradients), the
augmentation layers, Adam's update and the rest, with the threads that ran ops, the input
pipeline's op time, and, timed outside the trace, a numpy batch's conversion to a tensor and
``ShuffledBatches``' permuted copy, per image (``bench/out/epoch_cost_profile.csv``).

Part 2, whole epochs through ``train_classifier`` with validation AUC after every epoch: today's
Quick start path (the old ``small_cnn``: ``cnn`` 16 filters x 3 stages x 1 block, 64 px, 3,000
lenses per class, op determinism on, each epoch one ``model.fit`` as the trainer ran it then)
against the new one (``cnn`` space defaults at ``--size`` on ``--train-per-class`` lenses per
class; ``--new-config`` replaces defaults, e.g. a cheaper ``cnn_blocks``), and the old network on
today's trainer (``train_on_batch`` per batch), to split the gain. Prints tables and writes
``bench/out/epoch_cost*.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from bench.common import classify_defaults, format_table, machine, quiet_logs, write_csv
from lens_search.cli import OneLineParser, run_cli
from lens_search.errors import LensSearchError
from lens_search.training.backbones import BACKBONES, image_size_limits, min_image_size
from lens_search.training.runtime import DETERMINISTIC_ENV

quiet_logs()

OLD_SMALL_CNN = {"cnn_width": 16, "cnn_stages": 3, "cnn_blocks": 1, "lr": 3e-4}
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
OP_CLASSES = ("conv", "bn", "aug", "adam", "other")
"""Where a training step's op time goes: convolutions (Conv2D and both backprops, whichever
kernel library runs them: ``op_type_family``), batch norm
(every op of a ``BatchNormalization`` layer, gradients included), the augmentation layers, the
optimizer's update, and the rest (activations, pooling, concatenation, loss, ...)."""
PROFILE_COLUMNS = (
    "setting",
    "trainer_ms",
    "traced_ms",
    "op_ms",
    *(f"{name}_%" for name in OP_CLASSES),
    "data_ms",
    "to_tensor_ms",
    "shuffle_ms",
    "threads",
)
AUGMENTATION_LAYERS = ("random_rotation", "symmetric_shear", "random_translation")
KERNEL_PREFIXES = ("_Mkl", "Native", "_")
"""What TensorFlow's graph rewrites put before an op's type when they swap in another kernel:
with oneDNN on (the default on CPUs with AVX512_VNNI, AVX512_BF16 or AMX, ``TF_ENABLE_ONEDNN_OPTS``
elsewhere) ``Conv2D`` runs as ``_MklNativeConv2D`` and ``MaxPool`` as ``_MklNativeMaxPool``;
grappler's fusions are ``_FusedConv2D`` (Eigen) and ``_MklNativeFusedConv2D`` (oneDNN)."""
CONVOLUTION = re.compile(r"Conv[123][dD]")
"""An op type that is a convolution whatever kernel runs it: ``Conv2D``, its two backprops,
``FusedConv2D``, ``PadWithConv2D``, ``DepthwiseConv2dNative``, ``Conv3D``, ... (once
``op_type_family`` has taken the kernel's prefixes off)."""


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
    from lens_search.data.load import load_classification

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

    from lens_search.training.loop import ShuffledBatches, fit_one_epoch

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


def op_type_family(op_type: str) -> str:
    """The TensorFlow op type behind a traced kernel's type: ``_MklNativeConv2DBackpropFilter``
    and ``Conv2DBackpropFilter`` are both ``Conv2DBackpropFilter`` (``KERNEL_PREFIXES``)."""
    for prefix in KERNEL_PREFIXES:  # in this order: _MklNativeConv2D, _FusedConv2D
        op_type = op_type.removeprefix(prefix)
    return op_type


def op_class(name: str, op_type: str) -> str:
    """Which of ``OP_CLASSES`` a traced op belongs to, from its op type (whichever kernel ran
    it: Eigen's or oneDNN's, see ``op_type_family``) and its layer path."""
    if CONVOLUTION.search(op_type_family(op_type)):
        return "conv"
    layers = [re.sub(r"_\d+$", "", part) for part in name.split("/")]
    if any(part.startswith("batch_normalization") or part.endswith("_bn") for part in layers):
        return "bn"
    if any(part in AUGMENTATION_LAYERS for part in layers):
        return "aug"
    if any(part == "adam" for part in layers):
        return "adam"
    return "other"


def read_trace(folder: str) -> dict[str, Any]:
    """Milliseconds of op time per class in the ``.xplane.pb`` under ``folder``.

    The TensorFlow profiler writes one XSpace; its host plane has one line per thread. Model ops
    run on the ``tf_Compute`` (inter-op) lines as events named ``path:Type``, each lasting its
    wall time (including the intra-op threads it fans out to); ops of the input pipeline run on
    the ``tf_data`` lines. Ops on different inter-op threads can overlap, so the sum can exceed
    the wall time.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    files = sorted(Path(folder).rglob("*.xplane.pb"))
    if not files:
        raise RuntimeError(f"the profiler wrote no trace under {folder}")
    space = xplane_pb2.XSpace()
    space.ParseFromString(files[-1].read_bytes())
    ms = dict.fromkeys(OP_CLASSES, 0.0)
    data_ms, compute_lines, eigen_lines = 0.0, 0, 0
    for plane in space.planes:
        for line in plane.lines:
            ops = [(plane.event_metadata[e.metadata_id].name, e.duration_ps) for e in line.events]
            ops = [(n, d) for n, d in ops if ":" in n and "::" not in n]
            eigen_lines += "Eigen" in line.name
            if line.name.startswith("tf_Compute") and ops:
                compute_lines += 1
                for name, duration in ops:
                    path, _, op_type = name.rpartition(":")
                    ms[op_class(path, op_type)] += duration / 1e9
            elif line.name.startswith("tf_data"):
                data_ms += sum(d for _, d in ops) / 1e9
    return {"ms": ms, "data_ms": data_ms, "threads": f"{compute_lines} inter + {eigen_lines} eigen"}


def profile_step(model: Any, x: Any, y: Any, batch: int) -> dict[str, Any]:
    """A traced ``fit`` over ``x`` (already traced once): op time per image by class.

    Also times what feeding the step costs outside the trace: converting one numpy batch to a
    tensor, and ``ShuffledBatches``' permuted copy of the training arrays, each per image.
    """
    import numpy as np
    import tensorflow as tf

    from lens_search.training.loop import ShuffledBatches

    with tempfile.TemporaryDirectory(prefix="epoch_cost_trace_") as folder:
        tf.profiler.experimental.start(folder)
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        traced_s = time.perf_counter() - start
        tf.profiler.experimental.stop()
        trace = read_trace(folder)
    op_ms = sum(trace["ms"].values())
    result: dict[str, Any] = {
        "traced_ms": 1000 * traced_s / len(x),
        "op_ms": op_ms / len(x),
        **{f"{name}_%": 100 * trace["ms"][name] / op_ms for name in OP_CLASSES},
        "data_ms": trace["data_ms"] / len(x),
        "threads": trace["threads"],
    }
    copies = []
    for _ in range(5):
        start = time.perf_counter()
        tf.convert_to_tensor(np.ascontiguousarray(x[:batch]))
        copies.append(time.perf_counter() - start)
    result["to_tensor_ms"] = 1000 * float(np.median(copies)) / batch
    start = time.perf_counter()
    ShuffledBatches(x, y, batch_size=batch, seed=0, epoch=1)
    result["shuffle_ms"] = 1000 * (time.perf_counter() - start) / len(x)
    return result


def measure_costs(args: Any, setting: dict[str, Any]) -> dict[str, Any]:
    """Part 1 for one setting, in this process (called through ``--setting``)."""
    from lens_search.training.runtime import set_threads

    if setting.get("threads"):
        set_threads(int(setting["threads"]))
    import keras

    from lens_search.training.classify import PREDICT_BATCH, recalibrate_classifier
    from lens_search.training.loop import BatchNormCalibrator, predict_in_batches
    from lens_search.training.models import build_classifier, classifier_backbone
    from lens_search.training.runtime import prepare_backend

    config = classify_defaults(args.backbone)
    batch = int(args.batch_size or config["batch_size"])
    data = load(args, args.size, args.train_per_class, args.val_per_class)
    images = args.batches * batch
    x, y = data.x_train[:images], data.y_train[:images]
    n_train = len(data.x_train)

    def build(extra: dict[str, Any]) -> Any:
        prepare_backend(0)
        model = build_classifier({**config, **extra}, image_size=args.size, backbone=args.backbone)
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
        predict_in_batches(model, data.x_val, PREDICT_BATCH)
        result["val_s"] = time.perf_counter() - start
    result["epoch_s"] = result["trainer_ms"] * n_train / 1000 + result["recal_s"] + result["val_s"]
    if args.profile_batches:
        rows = args.profile_batches * batch
        result.update(profile_step(model, x[:rows], y[:rows], batch))
    keras.backend.clear_session()
    return result


def _child(args: Any, name: str) -> subprocess.Popen:
    """``python -m bench.epoch_cost --setting NAME`` with the same data options."""
    setting = SETTINGS[name]
    argv = [sys.executable, "-m", "bench.epoch_cost", "--setting", name, "--data", str(args.data)]
    argv += ["--size", str(args.size), "--batches", str(args.batches)]
    argv += ["--backbone", args.backbone, "--profile-batches", str(args.profile_batches)]
    if args.batch_size:
        argv += ["--batch-size", str(args.batch_size)]
    argv += ["--train-per-class", str(args.train_per_class)]
    argv += ["--val-per-class", str(args.val_per_class), "--rounds", str(args.rounds)]
    env = {**os.environ, **setting.get("env", {})}
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> dict[str, Any]:
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
        mean = {
            k: sum(r[k] for r in results) / 2 if isinstance(v, float) else v
            for k, v in results[0].items()
        }
        rows.append({"setting": f"2 at once, {name}", **mean})
    return rows


def _progress(metrics: dict[str, Any], _folder: Any) -> None:
    seconds, auc = metrics["epoch_seconds"], metrics["val_auc"]
    print(
        f"  epoch {metrics['epoch']}: {seconds:.1f} s, AUC {auc:.4f}", file=sys.stderr, flush=True
    )


def _config_overrides(text: str) -> dict[str, Any]:
    """``--new-config``: a JSON object of classify-space parameters, each checked by the space."""
    from lens_search.spaces import CLASSIFY_SPACE

    try:
        overrides = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(overrides, dict):
        raise argparse.ArgumentTypeError('a JSON object of parameters, e.g. {"cnn_blocks": 1}')
    try:
        CLASSIFY_SPACE.with_overrides(overrides)  # unknown names, values the model refuses
    except LensSearchError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return overrides


def fit_epoch_with_model_fit(model: Any, batches: Any, epoch: int, verbose: int) -> float:
    """The trainer's epoch as it was when issue 16 was filed: one ``model.fit`` over the arrays.

    ``trainables.loop.fit_one_epoch`` has run ``train_on_batch`` per batch since 2026-12-02
    (``fit``'s ``tf.data`` pipeline made many epochs wait until 10.3 s after it began); part 2
    times today's path with this one, as its users ran it.
    """
    history = model.fit(
        batches.x,
        batches.y,
        batch_size=batches.batch_size,
        shuffle=False,
        epochs=epoch,
        initial_epoch=epoch - 1,
        verbose=verbose,
    )
    return float(history.history["loss"][-1])


def epoch_rows(args: Any) -> list[dict[str, Any]]:
    """Part 2: whole epochs of today's Quick start path and the new one, AUC after each.

    Three paths in one process: the new one (``cnn`` defaults, today's trainer), today's as its
    users ran it (the old ``small_cnn``, each epoch one ``model.fit``:
    ``fit_epoch_with_model_fit``), and the old ``small_cnn`` on today's trainer, which splits
    the gain between the network and data on one side and the trainer on the other.
    """
    from lens_search.spaces import CLASSIFY_SPACE
    from lens_search.training import loop
    from lens_search.training.classify import train_classifier
    from lens_search.training.loop import fit_one_epoch

    old = {**CLASSIFY_SPACE.defaults(), **OLD_SMALL_CNN}
    paths = [  # the new path first: op determinism, once on, stays on in a process
        (
            "new: cnn defaults" + "".join(f", {k}={v}" for k, v in args.new_config.items()),
            args.size,
            args.train_per_class,
            args.epochs,
            {**classify_defaults("cnn"), **args.new_config},
            fit_one_epoch,
        ),
        (
            "today: small_cnn, model.fit",
            args.old_size,
            args.old_per_class,
            args.old_epochs,
            old,
            fit_epoch_with_model_fit,
        ),
        (
            "today: small_cnn, new trainer",
            args.old_size,
            args.old_per_class,
            args.old_epochs,
            old,
            fit_one_epoch,
        ),
    ]
    rows = []
    for label, size, per_class, epochs, config, fit_epoch in paths:
        if epochs < 1:
            continue
        print(f"part 2: {label}", file=sys.stderr, flush=True)
        data = load(args, size, per_class, args.val_per_class)
        os.environ[DETERMINISTIC_ENV] = "1" if label.startswith("today") else "0"
        with mock.patch.object(loop, "fit_one_epoch", fit_epoch):  # the trainer's epoch
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


def _steady_mean(rows: list[dict[str, Any]]) -> float:
    """Mean seconds of a path's epochs after the first (which traces), or of its only one."""
    steady = rows[1:] or rows
    return sum(r["epoch_s"] for r in steady) / len(steady)


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
    for row in (r for r in costs if "op_ms" in r):
        shares = ", ".join(f"{name} {row[f'{name}_%']:.0f} %" for name in OP_CLASSES)
        lines.append(
            f"{row['setting']}: traced step {row['traced_ms']:.2f} ms per image, op time "
            f"{row['op_ms']:.2f} ms: {shares}; input pipeline {row['data_ms']:.3f} ms, "
            f"batch to tensor {row['to_tensor_ms']:.4f} ms, "
            f"shuffled copy {row['shuffle_ms']:.4f} ms"
        )
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in epochs:
        by_path.setdefault(row["path"], []).append(row)
    if len(by_path) >= 2:
        (new_label, new), *others = list(by_path.items())
        new_s = _steady_mean(new)
        for old_label, old in others:
            old_s = _steady_mean(old)
            same = new[min(len(old), len(new)) - 1]
            lines.append(
                f"{old_label}: {old_s:.1f} s per epoch, AUC {old[-1]['val_auc']:.3f} after "
                f"{len(old)}; {new_label}: {new_s:.1f} s per epoch, AUC {same['val_auc']:.3f} "
                f"after {same['epoch']} (and {new[-1]['val_auc']:.3f} after {len(new)}): "
                f"{old_s / new_s:.2f}x cheaper (target >= 3x at equal or better AUC)"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m bench.epoch_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="classification data folder")
    parser.add_argument("--size", type=int, default=64, help="image size of the new path")
    parser.add_argument(
        "--backbone",
        choices=BACKBONES,
        default="cnn",
        help="part 1's classifier (space defaults, random weights); part 2 is always cnn",
    )
    parser.add_argument("--batch-size", type=int, help="part 1's batch (default: the space's)")
    parser.add_argument(
        "--profile-batches",
        type=int,
        default=2,
        help="part 1's traced batches for the op breakdown (0: none)",
    )
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
    parser.add_argument(
        "--new-config",
        type=_config_overrides,
        default={},
        help="part 2: a JSON object of parameters replacing the new path's defaults",
    )
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
    if args.size < min_image_size(args.backbone) and not args.quick:
        parser.error(f"--size {args.size} is too small for {args.backbone} ({image_size_limits()})")
    if args.batch_size is not None and args.batch_size < 1:
        parser.error("--batch-size must be >= 1")
    if args.setting:
        print(json.dumps(measure_costs(args, SETTINGS[args.setting])))
        return 0
    if args.quick:
        args.size = max(32, min_image_size(args.backbone))
        args.old_size = 32
        args.batches, args.profile_batches, args.epochs, args.old_epochs, args.rounds = (
            1,
            1,
            2,
            2,
            2,
        )
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
    profiled = [r for r in costs if "op_ms" in r]
    if profiled:
        print(format_table(profiled, PROFILE_COLUMNS))
        write_csv(profiled, PROFILE_COLUMNS, args.out.with_name(args.out.stem + "_profile.csv"))
    if epochs:
        print(format_table(epochs, EPOCH_COLUMNS))
        write_csv(epochs, EPOCH_COLUMNS, args.out.with_name(args.out.stem + "_epochs.csv"))
    for line in summary(costs, epochs):
        print(line)
    print(f"{cpu_line()}; {machine()}")
    return 0


if __name__ == "__main__":
    run_cli(main, prog="bench.epoch_cost")

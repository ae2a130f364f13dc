"""Training throughput (images/s) of InceptionResNetV2 and SuperResCNN on random data.

    KERAS_BACKEND=jax python -m bench.gpu_throughput           # on a GPU: 128 px, batch 64, bf16
    python -m bench.gpu_throughput --quick                     # CPU smoke run: SR only, tiny
    python -m bench.gpu_throughput --quick --models inception_resnet_v2,superres  # minutes on CPU

Needs only keras and numpy (and a backend: JAX, TensorFlow or PyTorch); no Ray, no TensorFlow
when ``KERAS_BACKEND=jax``. The models come from ``trainables/models.py``, loaded on its own
because ``trainables/__init__.py`` also imports the metrics (scikit-image, scikit-learn) and the
Tune wrapper. Each model trains ``--warmup`` steps (compilation) and then ``--steps`` timed steps
of ``model.fit`` on host arrays of the right shapes. Precision: ``mixed_bfloat16`` by default.
Prints a table and writes a CSV (default ``bench/out/gpu_throughput.csv``).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import format_table, machine, quiet_logs, write_csv
from lens_search.cli import OneLineParser, run_cli

quiet_logs()

COLUMNS = (
    "model",
    "backend",
    "device",
    "precision",
    "image",
    "batch",
    "steps",
    "seconds",
    "images_per_s",
)
REPO = Path(__file__).resolve().parents[1]
CLASSIFY_CONFIG = {
    "lr": 1e-4,
    "dropout": 0.2,
    "rotation": 0.1,
    "shear": 0.1,
    "translation": 0.05,
    "fine_tune_fraction": 1.0,
}
SUPERRES_CONFIG = {
    "lr": 1e-3,
    "num_layers": 3,
    "filters_1": 64,
    "filters_2": 32,
    "filters_3": 32,
    "filters_4": 32,
    "kernel_size": 3,
    "dropout": 0.0,
}
TARGET_IRV2 = 10_000.0


def load_models() -> ModuleType:
    """``trainables/models.py`` as a module of its own (keras and lensing.errors only)."""
    path = REPO / "lens_search" / "training" / "models.py"
    spec = importlib.util.spec_from_file_location("lens_search_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def device() -> str:
    """What the backend trains on, in a few words."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        first = jax.devices()[0]
        return f"{first.platform}:{getattr(first, 'device_kind', '')} x{len(jax.devices())}"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"
    return keras.backend.backend()


def images_per_s(model: Any, x: Any, y: Any, batch: int, warmup: int, steps: int) -> float:
    """Seconds of ``steps`` training steps after ``warmup`` steps, as images per second."""
    model.fit(x[: warmup * batch], y[: warmup * batch], batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x[: steps * batch], y[: steps * batch], batch_size=batch, epochs=1, verbose=0)
    return steps * batch / (time.perf_counter() - start)


def measure(name: str, args: Any, models: ModuleType) -> dict[str, Any]:
    """One model's row: random inputs and targets of the right shapes, then timed steps."""
    import keras
    import numpy as np

    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(0)
    count = max(args.steps, args.warmup) * args.batch
    rng = np.random.default_rng(0)
    if name == "inception_resnet_v2":
        size = args.size
        model = models.build_classifier(CLASSIFY_CONFIG, image_size=size)
        x = rng.random((count, size, size, 1), dtype=np.float32)
        y = rng.integers(0, 3, size=count)
    else:
        size = args.sr_size
        model = models.build_superres(SUPERRES_CONFIG, lr_size=(size, size))
        x = rng.random((count, size, size, 1), dtype=np.float32)
        y = rng.random((count, 2 * size, 2 * size, 1), dtype=np.float32)
    rate = images_per_s(model, x, y, args.batch, args.warmup, args.steps)
    return {
        "model": name,
        "backend": keras.backend.backend(),
        "device": device(),
        "precision": args.precision,
        "image": size,
        "batch": args.batch,
        "steps": args.steps,
        "seconds": round(args.steps * args.batch / rate, 2),
        "images_per_s": round(rate, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both models, print the table and the target, write the CSV."""
    parser = OneLineParser(
        prog="python -m bench.gpu_throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--size", type=int, default=128, help="InceptionResNetV2 image size")
    parser.add_argument("--sr-size", type=int, default=75, help="SuperResCNN LR image size")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps (compilation)")
    parser.add_argument(
        "--precision",
        default="mixed_bfloat16",
        choices=("float32", "mixed_bfloat16", "mixed_float16"),
    )
    parser.add_argument(
        "--models", default=None, help="comma-separated (default: inception_resnet_v2,superres)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CPU smoke run: SuperResCNN only (unless --models is given), "
        "32 px LR, 75 px IRV2, batch 2, 2 steps, 1 warm-up step",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/gpu_throughput.csv"))
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.sr_size, args.batch, args.steps, args.warmup = 75, 32, 2, 2, 1
        args.models = args.models or "superres"
    args.models = args.models or "inception_resnet_v2,superres"
    print(machine(), file=sys.stderr)
    models = load_models()
    rows = [measure(name.strip(), args, models) for name in args.models.split(",")]
    print(format_table(rows, COLUMNS))
    for row in rows:
        if row["model"] == "inception_resnet_v2" and row["image"] == 128 and row["batch"] == 64:
            ok = "met" if row["images_per_s"] >= TARGET_IRV2 else "MISSED"
            print(
                f"InceptionResNetV2: {row['images_per_s']:.0f} images/s on {row['device']} "
                f"(target >= {TARGET_IRV2:.0f} on one H100): {ok}"
            )
    write_csv(rows, COLUMNS, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_cli(main, prog="bench.gpu_throughput")

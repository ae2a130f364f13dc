"""What a configuration costs to train here: two real epochs of a few batches on random images.

``search.plan`` runs this module in its own processes (``python -m experiments.cost SPEC``), as
many at once as a search would run trials on this machine, so the figures carry the contention
of trials sharing the machine and the search's driver never loads TensorFlow. Each measured
configuration trains through the trial's own code (its task's ``Task.train``) for
two epochs of ``train`` images, validating on ``val`` images after each: the second epoch is the
steady cost of ``train`` images of an epoch with its validation share, the rest (building the
model, tracing its steps) is what a trial pays once. The same configuration timed at two epoch
lengths splits an epoch's cost into what every epoch pays and what each image adds. For the
configurations a search would sample the module also reports the multiply-adds of one image
through their models, which ``search.plan`` maps onto the measured costs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from lens_search.experiments.tasks import Task, task_named
from lens_search.training.runtime import clear_models, set_threads

SIZE_FREE = frozenset(
    {"lr", "batch_size", "dropout", "rotation", "shear", "translation", "flip", "rot90"}
    | {"fine_tune_fraction"}
)
"""Parameters that change no layer's size (the multiply-adds are counted once per the rest)."""


def time_config(
    task: Task, config: dict[str, Any], batches: int, spec: dict[str, Any]
) -> dict[str, float]:
    """Train ``config`` for two epochs of ``batches`` batches; the second epoch's seconds and
    the once-per-trial rest."""
    batch = int(config["batch_size"])
    train = max(1, min(int(spec["train"]), batches * batch))
    val = max(1, round(train * spec["val_share"]))
    data = task.random_data(train, val, spec["settings"])
    started = time.perf_counter()
    history = task.train(config, data, spec["settings"], epochs=2)
    total = time.perf_counter() - started
    steady = float(history[-1]["epoch_seconds"])
    return {"train_images": train, "epoch_s": steady, "once_s": max(0.0, total - 2 * steady)}


def multiply_adds(task: Task, config: dict[str, Any], spec: dict[str, Any]) -> float:
    """Multiply-adds of one image through ``config``'s model (convolutions and dense layers)."""
    data = task.random_data(1, 1, spec["settings"])
    model = task.build_model(config, spec["settings"], data)
    total = float(_layer_multiply_adds(model))
    clear_models()
    return total


def _layer_multiply_adds(layer: Any) -> float:
    inner = getattr(layer, "layers", None)
    if inner:
        return sum(_layer_multiply_adds(child) for child in inner)
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        return 0.0
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):
        shape = ()
    pixels = float(np.prod([d for d in shape[1:-1] if d])) if len(shape) > 2 else 1.0
    weights = float(np.prod(kernel.shape))
    return weights * pixels


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the ``[config, batches]`` of ``spec["timed"]``; count the multiply-adds of each
    configuration of ``spec["sized"]``.

    A timed configuration of the same layer sizes and epoch length as an earlier one (the
    largest of a fixed architecture such as InceptionResNetV2, which differs only in what
    changes no layer) is not trained again: it reads the earlier one's figures.
    """
    set_threads(int(spec.get("threads", 1)))
    task = task_named(spec["task"])
    counted: dict[str, float] = {}
    sized = []
    for config in spec["sized"]:
        shape = _shape_key(config)
        if shape not in counted:
            counted[shape] = multiply_adds(task, config, spec)
        sized.append(counted[shape])
    timed_by_shape: dict[tuple[str, int], dict[str, float]] = {}
    timed = []
    for config, batches in spec["timed"]:
        key = (_shape_key(config), batches)
        if key not in timed_by_shape:
            timed_by_shape[key] = time_config(task, config, batches, spec)
        timed.append(timed_by_shape[key])
    return {"timed": timed, "multiply_adds": sized}


def _shape_key(config: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in config.items() if k not in SIZE_FREE}, sort_keys=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    spec = json.loads(args[0])
    print(json.dumps(measure(spec)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

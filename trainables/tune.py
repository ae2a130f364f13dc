"""The Ray Tune wrapper: one trial = one training call that reports and checkpoints every epoch.

Uses ``ray.tune`` only (``tune.report``, ``tune.get_checkpoint``, ``tune.Checkpoint``): Ray 2.60
runs function trainables without Train V2's ``ray.train.report``. A restored trial resumes from its
last reported checkpoint. Each report adds ``hostname`` and ``node_id`` so results show where a
trial ran.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from lensing.cache import TASKS
from lensing.errors import LensSearchError
from trainables.contracts import (
    ClassificationSplits,
    ClassifierConfig,
    SuperResConfig,
    SuperResSplits,
)

CLASSIFY, SUPERRES = TASKS
FIXED_KEYS = {
    CLASSIFY: ("epochs", "backbone", "image_size", "weights", "seed", "threads"),
    SUPERRES: ("epochs", "seed", "threads"),
}


def _node_id() -> str:
    import ray

    try:
        return ray.get_runtime_context().get_node_id()
    except Exception:  # not inside Ray (e.g. a direct call in a test)
        return ""


def _trial_fn(train: Callable[..., object], fixed: dict[str, Any] | None) -> None:
    """Train one trial, resuming from Tune's checkpoint if the trial was restored.

    ``train`` is a training function with its config and data already given.
    """
    from ray import tune

    from trainables.runtime import set_threads

    fixed = dict(fixed or {})
    threads = fixed.pop("threads", None)
    if threads is not None:
        set_threads(int(threads))
    where = {"hostname": socket.gethostname(), "node_id": _node_id()}

    def report(metrics: dict[str, Any], folder: Path | None) -> None:
        tune.report({**metrics, **where}, checkpoint=tune.Checkpoint.from_directory(str(folder)))

    checkpoint = tune.get_checkpoint()
    scratch = tempfile.TemporaryDirectory(prefix="lens-search-trial-", ignore_cleanup_errors=True)
    with scratch as work:
        if checkpoint is None:
            train(checkpoint_dir=work, on_epoch=report, **fixed)
            return
        with checkpoint.as_directory() as resume_from:
            train(checkpoint_dir=work, resume_from=resume_from, on_epoch=report, **fixed)


# Ray Tune hands a trial its sampled parameters as a plain dict: they are the task space's.


def _classify_fn(
    config: dict[str, Any], data: Any = None, fixed: dict[str, Any] | None = None
) -> None:
    from trainables.classify import train_classifier

    _trial_fn(partial(train_classifier, cast(ClassifierConfig, config), data), fixed)


def _superres_fn(
    config: dict[str, Any], data: Any = None, fixed: dict[str, Any] | None = None
) -> None:
    from trainables.superres import train_superres

    _trial_fn(partial(train_superres, cast(SuperResConfig, config), data), fixed)


def make_tune_trainable(
    task: str, data: ClassificationSplits | SuperResSplits, **fixed: Any
) -> Callable[..., Any]:
    """A trainable for ``tune.Tuner``; ``data`` travels once through Ray's object store.

    ``fixed``: ``epochs`` (required: the most a trial trains), ``seed``, ``threads`` (the
    backend's intra- and inter-op threads, ``trainables.runtime.set_threads``), and for
    ``classify`` also ``backbone``, ``image_size``, ``weights``.

    Example:
        >>> tuner = tune.Tuner(make_tune_trainable("superres", data, epochs=9),
        ...                    param_space=SUPERRES_SPACE.to_tune())
    """
    from ray import tune

    if task not in TASKS:
        raise LensSearchError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    unknown = sorted(set(fixed) - set(FIXED_KEYS[task]))
    if unknown:
        raise LensSearchError(
            f"{task}: unknown fixed settings {unknown}; valid: {', '.join(FIXED_KEYS[task])}"
        )
    if "epochs" not in fixed:
        raise LensSearchError(f"{task}: make_tune_trainable needs epochs=<max epochs per trial>")
    if task == CLASSIFY and fixed.get("weights") is not None:
        from trainables.backbones import DEFAULT_BACKBONE
        from trainables.models import resolve_weights

        resolve_weights(fixed.get("backbone", DEFAULT_BACKBONE), fixed["weights"])
    function = _classify_fn if task == CLASSIFY else _superres_fn
    return tune.with_parameters(function, data=data, fixed=fixed)

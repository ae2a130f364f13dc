"""The Ray Tune wrapper: one trial = one training call that reports and checkpoints every epoch.

Uses ``ray.tune`` only (``tune.report``, ``tune.get_checkpoint``, ``tune.Checkpoint``): Ray 2.60
runs function trainables without Train V2's ``ray.train.report``. A restored trial resumes from its
last reported checkpoint. Each report adds ``hostname`` and ``node_id`` so results show where a
trial ran.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import socket
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

from lens_search.errors import LensSearchError
from lens_search.training.contracts import ClassificationSplits, SuperResSplits

Trainer = Callable[..., list[dict[str, Any]]]
"""``trainer(config, data, *, checkpoint_dir, on_epoch, resume_from, **fixed)``: trains one
configuration and calls ``on_epoch(metrics, checkpoint_folder)`` after every epoch."""

TRAINERS = {
    "classify": "lens_search.training.classify:train_classifier",
    "superres": "lens_search.training.superres:train_superres",
}
"""This package's trainers by the name of their task (``make_tune_trainable`` also takes any
other trainer itself)."""
WRAPPER_KEYS = frozenset({"checkpoint_dir", "on_epoch", "resume_from"})
"""What the trial itself hands the trainer: never fixed."""


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

    from lens_search.training.runtime import set_threads

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


def _trainable_fn(label: str) -> Callable[..., None]:
    """The trial function, named ``_<label>_fn``: Tune names trials and their folders after it
    (``_superres_fn_<id>_<count>_...``), and ``search.orphans`` knows a trial's folder by it."""

    def trial(
        config: dict[str, Any],
        trainer: str | Trainer = "",
        data: Any = None,
        fixed: dict[str, Any] | None = None,
    ) -> None:
        _trial_fn(partial(resolve_trainer(trainer), config, data), fixed)

    trial.__name__ = f"_{label}_fn"
    return trial


def trainer_path(trainer: str) -> str:
    """``module:function`` of a trainer given by a task name of ``TRAINERS`` or by that path."""
    path = TRAINERS.get(trainer, trainer)
    if path.count(":") != 1:
        raise LensSearchError(
            f"unknown task {trainer!r}; choose from {', '.join(TRAINERS)}, or give a trainer "
            "as module:function"
        )
    return path


def resolve_trainer(trainer: str | Trainer) -> Trainer:
    """A trainer, given itself, by the name of one of this package's tasks (``TRAINERS``) or as
    ``module:function`` (imported here: in a trial, not in the driver)."""
    if callable(trainer):
        return trainer
    module, name = trainer_path(trainer).split(":")
    return cast(Trainer, getattr(importlib.import_module(module), name))


def fixed_keys(trainer: str | Trainer) -> frozenset[str]:
    """The keywords a trainer takes that a search may fix: its keyword-only parameters, the
    loop's options (``trainables.loop.EpochRun``) when it passes ``**run`` on, and ``threads``;
    not what the trial hands it itself (``WRAPPER_KEYS``). A trainer given by name or path is
    read from its source, not imported (its module imports Keras: seconds and hundreds of MB the
    driver does not need)."""
    from lens_search.training.loop import EpochRun

    if callable(trainer):
        parameters = inspect.signature(trainer).parameters.values()
        named = {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}
        passes_run = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    else:
        named, passes_run = _source_signature(trainer_path(trainer))
    keys = {"threads"} | named | (set(EpochRun.__annotations__) if passes_run else set())
    return frozenset(keys - WRAPPER_KEYS)


def _source_signature(path: str) -> tuple[set[str], bool]:
    """(keyword-only names, takes ``**kwargs``) of the function ``module:function``, read from
    the module's source with ``ast``."""
    module, name = path.split(":")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise LensSearchError(f"trainer {path}: no module {module}")
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return {a.arg for a in node.args.kwonlyargs}, node.args.kwarg is not None
    raise LensSearchError(f"trainer {path}: no function {name} in {module}")


def make_tune_trainable(
    task: str | Trainer,
    data: ClassificationSplits | SuperResSplits | Any,
    *,
    label: str | None = None,
    **fixed: Any,
) -> Callable[..., Any]:
    """A trainable for ``tune.Tuner``; ``data`` travels once through Ray's object store.

    ``task``: a trainer (``Trainer``), its ``module:function`` path (a task's ``Task.trainer``),
    or ``"classify"`` or ``"superres"`` for this package's. ``label`` names the trials
    (``_<label>_fn_...``; default: the task's name, or the trainer function's). ``fixed``:
    ``epochs`` (required: the most a trial trains), ``seed``, ``threads`` (the backend's
    intra- and inter-op threads, ``trainables.runtime.set_threads``), and the trainer's own
    keywords (``backbone``, ``image_size``, ``weights`` for the classifier); anything else is
    refused.

    Example:
        >>> tuner = tune.Tuner(make_tune_trainable("superres", data, epochs=9),
        ...                    param_space=SUPERRES_SPACE.to_tune())
    """
    from ray import tune

    name = task if isinstance(task, str) else getattr(task, "__name__", "trainer")
    valid = fixed_keys(task)
    unknown = sorted(set(fixed) - valid)
    if unknown:
        raise LensSearchError(
            f"{name}: unknown fixed settings {unknown}; valid: {', '.join(sorted(valid))}"
        )
    if "epochs" not in fixed:
        raise LensSearchError(f"{name}: make_tune_trainable needs epochs=<max epochs per trial>")
    trainer = task if callable(task) else trainer_path(task)
    if label is None:
        by_path = {path: known for known, path in TRAINERS.items()}
        label = (
            by_path.get(trainer, str(trainer).rsplit(":", 1)[-1])
            if isinstance(trainer, str)
            else name
        )
    return tune.with_parameters(_trainable_fn(label), trainer=trainer, data=data, fixed=fixed)

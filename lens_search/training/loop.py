"""The per-epoch loop shared by both trainers: train, evaluate, checkpoint, report, resume.

A checkpoint folder holds everything the next epoch depends on, so a run resumed from it trains
on exactly as an uninterrupted run with the same seed would:

- ``model.weights.h5``: the weights and the optimizer's variables (Keras writes a built optimizer
  into it: Adam's moments and its iteration count; ``load_checkpoint`` builds the optimizer
  before loading, else Keras would skip them and Adam would restart from zero);
- ``state.json``: ``epochs_done``, ``history``, ``optimizer_iterations`` (to check that Adam's
  state came back) and ``random_state``: the state of every ``keras.random.SeedGenerator`` in the
  model (dropout, RandomRotation/RandomShear/RandomTranslation), which ``save_weights`` leaves out.

Nothing else carries over between epochs: the batch order and the numpy augmentation are drawn
from ``(seed, epoch[, batch])``, and the global seeds (``keras.utils.set_random_seed``) are set
afresh by every training call and drawn from only while the model is built. A checkpoint from
before ``random_state`` existed still loads: training resumes with the seed generators' initial
states and says so in one warning (``logging``); one whose optimizer state does not load into
the model resumes with a fresh optimizer, also with a warning.

An epoch's checkpoint is complete before ``on_epoch`` is called, so an exception raised there (or
after it) leaves a checkpoint to resume from; the reliability tests inject their failures that
way, from a wrapper around the trainable (``tests/harness/failures.py``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Required, TypedDict, Unpack

import keras
import numpy as np

from lens_search.errors import LensSearchError

WEIGHTS_FILE = "model.weights.h5"
STATE_FILE = "state.json"
BEST_FOLDER = "best"
"""Where ``run_epochs`` keeps the best epoch's checkpoint (inside ``checkpoint_dir``) when it
watches a ``Patience``."""

log = logging.getLogger(__name__)

OnEpoch = Callable[[dict[str, Any], "Path | None"], None]
Augment = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Patience:
    """Early stopping on a validation metric, with the best epoch's weights restored, and the
    learning rate halved on a plateau: what Keras' ``EarlyStopping(restore_best_weights=True)``
    and ``ReduceLROnPlateau(factor=0.5)`` do inside ``model.fit``.

    ``stop_after``: epochs without a better ``metric`` before training stops (None: never);
    ``halve_lr_after``: epochs without a better ``metric`` before the learning rate is halved,
    again after as many more (None: never). A NaN is never better. ``run_epochs`` then leaves
    the best epoch's checkpoint in ``checkpoint_dir`` (the weights a caller loads afterwards),
    while the history it returns keeps every epoch trained.
    """

    metric: str
    mode: str = "max"
    stop_after: int | None = None
    halve_lr_after: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in {"max", "min"}:
            raise LensSearchError(f"mode must be max or min, got {self.mode!r}")
        for name in ("stop_after", "halve_lr_after"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise LensSearchError(f"{name} must be at least 1 epoch, got {value}")

    def better(self, value: float, best: float | None) -> bool:
        """True if ``value`` improves on ``best`` (any finite value improves on None)."""
        if not math.isfinite(value):
            return False
        if best is None:
            return True
        return value > best if self.mode == "max" else value < best


class EpochRun(TypedDict, total=False):
    """The keyword options every trainer passes on to ``run_epochs`` as they are.

    ``epochs``: epochs in all, resumed ones included; ``checkpoint_dir``: where each epoch's
    checkpoint is written (none if None); ``resume_from``: a checkpoint folder to continue from;
    ``on_epoch(metrics, checkpoint_dir)``: called after each epoch's checkpoint; ``verbose``: 1
    shows each epoch's progress bar (as ``model.fit`` does), 0 nothing; ``patience``: early
    stopping and plateau halving (``Patience``; a retrain's, never a trial's: ASHA stops trials).
    """

    epochs: Required[int]
    checkpoint_dir: str | Path | None
    resume_from: str | Path | None
    on_epoch: OnEpoch | None
    verbose: int
    patience: Patience | None


class ShuffledBatches:
    """One epoch of full batches in a seeded order, optionally augmented per batch in numpy.

    Held as two arrays that ``fit_one_epoch`` slices into views (``batch``): a Python
    ``PyDataset`` feeding the same batches made an epoch about 4x slower on a 2-core CPU. Every
    batch has ``batch_size`` items (the remainder is dropped, so the training step is traced
    once), except when there are fewer items than that: then there is one batch of all of them.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        batch_size: int,
        seed: int,
        epoch: int,
        augment: Augment | None = None,
    ) -> None:
        self.batch_size = min(int(batch_size), len(x))
        order = np.random.default_rng([seed, epoch]).permutation(len(x))
        rows = order[: len(x) // self.batch_size * self.batch_size]
        self.x, self.y = x[rows], y[rows]
        if augment is not None:
            for index in range(len(self)):
                batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
                rng = np.random.default_rng([seed, epoch, index])
                self.x[batch], self.y[batch] = augment(self.x[batch], self.y[batch], rng)

    def __len__(self) -> int:
        return len(self.x) // self.batch_size

    def batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch ``index`` (0-based): views into the epoch's arrays."""
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[rows], self.y[rows]


def fit_one_epoch(model: keras.Model, batches: ShuffledBatches, epoch: int, verbose: int) -> float:
    """Train ``model`` for epoch ``epoch`` (1-based) and return its mean training loss.

    One ``train_on_batch`` per batch, the compiled training step ``model.fit`` runs, without
    ``fit``'s input pipeline: under TensorFlow, ``fit``'s autotuned ``tf.data`` pipeline made
    epochs wait after their last batch (bench/RESULTS.md, "The 10.3-s epochs"). The loss
    returned is the mean of the batches' losses, as ``fit`` reports it (the batches are equal).
    ``verbose`` 1 shows the epoch's progress bar, as ``fit`` does.
    """
    progress = None
    if verbose:
        print(f"Epoch {epoch}")
        progress = keras.utils.Progbar(len(batches), verbose=verbose)
    losses = []
    for index in range(len(batches)):
        x, y = batches.batch(index)
        losses.append(float(model.train_on_batch(x, y, return_dict=True)["loss"]))
        if progress is not None:
            progress.update(index + 1, [("loss", losses[-1])])
    return float(np.mean(losses))


def predict_in_batches(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``model.predict(x, batch_size=batch_size)``, one ``predict_on_batch`` per batch.

    The same forward pass without ``predict``'s ``tf.data`` pipeline (see ``fit_one_epoch``):
    0.26-0.34 s against 0.33-0.69 s for 600 validation images of the ``cnn`` at 48 px on 2
    cores. A last, smaller batch traces the forward pass once more, once per model.
    """
    outputs = [
        np.asarray(model.predict_on_batch(x[start : start + batch_size]))
        for start in range(0, len(x), batch_size)
    ]
    return np.concatenate(outputs)


def batch_norm_layers(network: keras.layers.Layer) -> list[keras.layers.BatchNormalization]:
    """Every trainable ``BatchNormalization`` layer in ``network``, nested models included."""
    found = []
    for layer in getattr(network, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            if layer.trainable:
                found.append(layer)
        else:
            found.extend(batch_norm_layers(layer))
    return found


class _TrainingModeCall(keras.layers.Layer):
    """Calls ``inner`` in training mode, whatever mode it is called in (for a compiled probe)."""

    def __init__(self, inner: keras.layers.Layer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, x: Any) -> Any:
        return self.inner(x, training=True)


class BatchNormCalibrator:
    """Sets the moving statistics of ``network``'s batch norms to their mean over some batches.

    "Precise BN" (Wu & Johnson, 2021): the exponential moving average that training leaves lags
    the weights, which keep changing under it, and it was gathered on augmented images. A call
    runs the network in training mode on each batch with momentum 0 (so each moving statistic
    becomes that batch's), averages the per-batch means and variances, and assigns the averages.
    Weights do not change; frozen batch norms (``trainable=False``) keep their statistics. The
    forward pass is compiled once (``predict_on_batch``) and reused by later calls, so batches
    must keep one shape (an eager pass took about 1.3x as long on small_cnn at 64 px).
    """

    def __init__(self, network: keras.Model) -> None:
        self.network = network
        self.norms = batch_norm_layers(network)
        self._probe: keras.Model | None = None

    def __call__(self, batches: Iterable[Any]) -> int:
        """Recalibrate from ``batches`` (inputs of ``network``); return the layers set."""
        if not self.norms:
            return 0
        momenta = [layer.momentum for layer in self.norms]
        sums: list[np.ndarray] = []
        count = 0
        try:
            for layer in self.norms:
                layer.momentum = 0.0
            for batch in batches:
                if self._probe is None:
                    probe_input = keras.Input(tuple(batch.shape[1:]))
                    probe_output = _TrainingModeCall(self.network)(probe_input)
                    self._probe = keras.Model(probe_input, probe_output)
                self._probe.predict_on_batch(batch)
                stats = [
                    np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64)
                    for layer in self.norms
                    for v in (layer.moving_mean, layer.moving_variance)
                ]
                sums = stats if not sums else [a + b for a, b in zip(sums, stats, strict=True)]
                count += 1
        finally:
            for layer, momentum in zip(self.norms, momenta, strict=True):
                layer.momentum = momentum
        if count:
            for index, layer in enumerate(self.norms):
                layer.moving_mean.assign(sums[2 * index] / count)
                layer.moving_variance.assign(sums[2 * index + 1] / count)
        return len(self.norms)


def random_state_variables(model: keras.Model) -> list[Any]:
    """The state variables of every ``SeedGenerator`` in ``model``, in layer order.

    Keras' ``model.variables`` holds weights and seed generator states; ``model.weights`` only
    the weights (and ``save_weights`` writes only those and the optimizer).
    """
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def save_checkpoint(model: keras.Model, folder: Path, history: list[dict[str, Any]]) -> None:
    """Write weights, optimizer and state into ``folder``, each file replaced atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp_weights = folder / f"tmp-{WEIGHTS_FILE}"
    model.save_weights(str(tmp_weights))
    os.replace(tmp_weights, folder / WEIGHTS_FILE)
    state = {
        "epochs_done": len(history),
        "history": history,
        "optimizer_iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "random_state": [
            keras.ops.convert_to_numpy(v).tolist() for v in random_state_variables(model)
        ],
    }
    tmp_state = folder / f"tmp-{STATE_FILE}"
    tmp_state.write_text(json.dumps(state, indent=1, allow_nan=True))
    os.replace(tmp_state, folder / STATE_FILE)


def read_state(folder: str | Path) -> dict[str, Any]:
    """``state.json`` of a checkpoint folder (LensSearchError if it is not one)."""
    folder = Path(folder)
    path = folder / STATE_FILE
    if not path.is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise LensSearchError(
            f"{folder} is not a checkpoint folder (needs {STATE_FILE} and {WEIGHTS_FILE})"
        )
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise LensSearchError(f"{path}: unreadable checkpoint state ({exc})") from exc


def load_checkpoint(model: keras.Model, folder: str | Path) -> list[dict[str, Any]]:
    """Load weights, optimizer and random state from a checkpoint folder; return its history."""
    state = read_state(folder)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(str(Path(folder) / WEIGHTS_FILE))
    _check_optimizer_restored(model, state, folder)
    _restore_random_state(model, state, folder)
    return list(state["history"])[: int(state["epochs_done"])]


def _check_optimizer_restored(model: keras.Model, state: dict[str, Any], folder: Any) -> None:
    """Warn when the optimizer's state did not come back (Keras skips a mismatch with a warning)."""
    iterations = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    saved = state.get("optimizer_iterations")
    restored = iterations == int(saved) if saved is not None else iterations > 0
    if not restored and int(state["epochs_done"]) > 0:
        log.warning(
            "resuming from %s with a fresh optimizer: its optimizer state does not fit the model",
            folder,
        )


def _restore_random_state(model: keras.Model, state: dict[str, Any], folder: Any) -> None:
    """Set every seed generator to its saved state (warn if the checkpoint has none that fits)."""
    variables = random_state_variables(model)
    if not variables:
        return
    if "random_state" not in state:
        why = "holds no random state (an older checkpoint)"
    else:
        saved = [np.asarray(value) for value in state["random_state"]]
        if [a.shape for a in saved] == [tuple(v.shape) for v in variables]:
            for variable, array in zip(variables, saved, strict=True):
                variable.assign(array.astype(variable.dtype))
            return
        why = "holds the random state of another model"
    log.warning(
        "resuming from %s: it %s; dropout and augmentation restart their random streams",
        folder,
        why,
    )


def run_epochs(
    model: keras.Model,
    *,
    batches: Callable[[int], ShuffledBatches],
    evaluate: Callable[[], dict[str, float]],
    **run: Unpack[EpochRun],
) -> list[dict[str, Any]]:
    """Run epochs ``done+1 .. epochs``; after each: evaluate, checkpoint, call ``on_epoch``.

    ``batches(epoch)`` gives one epoch's training batches; ``evaluate()`` returns the validation
    metrics. Returns the whole history (resumed epochs included), one dict per epoch. With a
    ``patience`` it may stop before ``epochs``, and the checkpoint left is the best epoch's.
    """
    epochs = run["epochs"]
    if epochs < 1:
        raise LensSearchError(f"epochs must be >= 1, got {epochs}")
    checkpoint_dir, resume_from = run.get("checkpoint_dir"), run.get("resume_from")
    on_epoch, verbose = run.get("on_epoch"), run.get("verbose", 0)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    resume = Path(resume_from) if resume_from is not None else None
    history = load_checkpoint(model, resume) if resume is not None else []
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    watch = _Watch(run.get("patience"), model, folder)
    for epoch in range(len(history) + 1, epochs + 1):
        start = time.perf_counter()
        loss = fit_one_epoch(model, batches(epoch), epoch, verbose)
        metrics: dict[str, Any] = {"epoch": epoch, **evaluate(), "loss": loss}
        metrics["epoch_seconds"] = time.perf_counter() - start
        history.append(metrics)
        stop = watch.after_epoch(metrics, history)  # before the checkpoint: it halves the rate
        if folder is not None:
            save_checkpoint(model, folder, history)
        if on_epoch is not None:
            on_epoch(dict(metrics), folder)
        if stop:
            break
    watch.restore_best()
    return history


class _Watch:
    """What ``run_epochs`` does for a ``Patience``: keep the best checkpoint, halve the learning
    rate on a plateau, say when to stop, and put the best checkpoint back at the end."""

    def __init__(self, patience: Patience | None, model: keras.Model, folder: Path | None):
        self.patience, self.model, self.folder = patience, model, folder
        self.best: float | None = None
        self.best_epoch = 0
        self.since = 0

    def after_epoch(self, metrics: dict[str, Any], history: list[dict[str, Any]]) -> bool:
        """Record the epoch (``metrics`` gains ``lr`` and ``best_epoch``); True: stop now."""
        patience = self.patience
        if patience is None:
            return False
        value = float(metrics[patience.metric])
        if patience.better(value, self.best):
            self.best, self.best_epoch, self.since = value, int(metrics["epoch"]), 0
            if self.folder is not None:
                save_checkpoint(self.model, self.folder / BEST_FOLDER, history)
        else:
            self.since += 1
        metrics["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        metrics["best_epoch"] = self.best_epoch
        halve = patience.halve_lr_after
        if halve is not None and self.since and self.since % halve == 0:
            learning_rate = self.model.optimizer.learning_rate
            learning_rate.assign(learning_rate * 0.5)
        return patience.stop_after is not None and self.since >= patience.stop_after

    def restore_best(self) -> None:
        """Put the best epoch's checkpoint where the last epoch's is (weights loaded from the
        folder are then the best ones), and the best folder away."""
        if self.patience is None or self.folder is None:
            return
        best = self.folder / BEST_FOLDER
        if not best.is_dir():
            return
        for name in (WEIGHTS_FILE, STATE_FILE):
            os.replace(best / name, self.folder / name)
        shutil.rmtree(best)

"""Early stopping with the best epoch restored, and the learning rate halved on a plateau.

A real Keras model trains real epochs through ``run_epochs``; only the validation metric is
scripted, so when it improves (and so what must be kept) is known in advance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from lens_search.errors import LensSearchError
from lens_search.training.loop import (
    BEST_FOLDER,
    STATE_FILE,
    Patience,
    ShuffledBatches,
    load_checkpoint,
    run_epochs,
)

LR = 0.01


def tiny_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(LR), "mse")
    return model


def run(
    scores: list[float], patience: Patience | None, folder: Path, epochs: int | None = None
) -> tuple[list[dict[str, Any]], dict[int, list[np.ndarray]], keras.Model]:
    """Train ``epochs`` (default: one per score) with ``scores`` as the validation metric; also
    return each epoch's weights as they were when its checkpoint was written."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model = tiny_model()
    weights: dict[int, list[np.ndarray]] = {}
    script = iter(scores)

    def evaluate() -> dict[str, float]:
        return {"val_auc": next(script)}

    def on_epoch(metrics: dict[str, Any], _folder: Path | None) -> None:
        weights[metrics["epoch"]] = [w.copy() for w in model.get_weights()]

    history = run_epochs(
        model,
        batches=lambda epoch: ShuffledBatches(x, y, batch_size=8, seed=0, epoch=epoch),
        evaluate=evaluate,
        epochs=epochs or len(scores),
        checkpoint_dir=folder,
        on_epoch=on_epoch,
        patience=patience,
    )
    return history, weights, model


def loaded_weights(folder: Path) -> list[np.ndarray]:
    model = tiny_model()
    load_checkpoint(model, folder)
    return model.get_weights()


def test_stops_after_patience_and_leaves_the_best_epochs_checkpoint(tmp_path: Path) -> None:
    scores = [0.80, 0.90, 0.85, 0.88, 0.89, 0.95, 0.99]
    history, weights, _ = run(scores, Patience("val_auc", "max", stop_after=3), tmp_path)
    # epoch 2 is best; 3, 4 and 5 bring nothing better: training stops after epoch 5
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert [h["best_epoch"] for h in history] == [1, 2, 2, 2, 2]
    kept = loaded_weights(tmp_path)
    for got, want in zip(kept, weights[2], strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(weights[2][0], weights[5][0])  # the last epoch's would differ
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["epochs_done"] == 2 and not (tmp_path / BEST_FOLDER).exists()


def test_minimised_metric_and_nan_never_count_as_better(tmp_path: Path) -> None:
    scores = [0.5, math.nan, 0.4, 0.45, 0.3]
    history, _, _ = run(scores, Patience("val_auc", "min", stop_after=2), tmp_path)
    assert [h["best_epoch"] for h in history] == [1, 1, 3, 3, 5]


def test_halves_the_learning_rate_on_a_plateau_and_keeps_it_in_the_checkpoint(
    tmp_path: Path,
) -> None:
    scores = [0.7, 0.8, 0.8, 0.79, 0.81, 0.6, 0.6]
    history, _, model = run(scores, Patience("val_auc", halve_lr_after=2), tmp_path)
    # no better after epochs 3, 4 (halve), 6, 7 (halve): the rate each epoch trained with
    assert [h["lr"] for h in history] == pytest.approx([LR, LR, LR, LR, LR / 2, LR / 2, LR / 2])
    assert float(model.optimizer.learning_rate) == pytest.approx(LR / 4)  # halved after 7 too
    assert len(history) == 7  # no stop_after: every epoch trained
    restored = tiny_model()
    load_checkpoint(restored, tmp_path)  # epoch 5's checkpoint: the best, trained at LR / 2
    assert float(restored.optimizer.learning_rate) == pytest.approx(LR / 2)


def test_without_patience_every_epoch_trains_and_the_last_is_kept(tmp_path: Path) -> None:
    history, weights, _ = run([0.9, 0.1, 0.1], None, tmp_path)
    assert len(history) == 3 and "best_epoch" not in history[-1]
    for got, want in zip(loaded_weights(tmp_path), weights[3], strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "largest"}, "mode must be max or min, got 'largest'"),
        ({"stop_after": 0}, "stop_after must be at least 1 epoch, got 0"),
        ({"halve_lr_after": -1}, "halve_lr_after must be at least 1 epoch, got -1"),
    ],
)
def test_bad_patience_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(LensSearchError, match=message):
        Patience("val_auc", **kwargs)

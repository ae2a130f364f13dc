"""train_classifier on tiny data with the cnn backbone: metrics, checkpoints, resume."""

from __future__ import annotations

import json
import types
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from lens_search.spaces import CLASSIFY_SPACE
from lens_search.training.classify import train_classifier
from lens_search.training.loop import STATE_FILE, WEIGHTS_FILE
from lens_search.training.models import build_classifier

CLASSES = ("no", "sphere", "vort")
KEYS = {
    "epoch",
    "val_auc",
    "val_auc_no",
    "val_auc_sphere",
    "val_auc_vort",
    "val_loss",
    "val_accuracy",
    "loss",
    "epoch_seconds",
}
SIZE = 32
CONFIG = {**CLASSIFY_SPACE.defaults(), "lr": 1e-3, "batch_size": 16}


def blobs(n_per_class: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class-dependent Gaussian blobs (narrow, medium, wide) with noise, in [0, 1]."""
    y = np.repeat(np.arange(3), n_per_class)
    yy, xx = np.mgrid[:size, :size] / size
    x = np.empty((len(y), size, size, 1), np.float32)
    for i, label in enumerate(y):
        cy, cx = rng.uniform(0.35, 0.65, 2)
        width = (0.05, 0.12, 0.25)[label]
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))
        x[i, ..., 0] = blob + rng.normal(0, 0.05, (size, size))
    return np.clip(x, 0, 1), y


@pytest.fixture(scope="module")
def data() -> types.SimpleNamespace:
    rng = np.random.default_rng(0)
    x_train, y_train = blobs(24, SIZE, rng)
    x_val, y_val = blobs(8, SIZE, rng)
    return types.SimpleNamespace(
        x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, classes=CLASSES
    )


def train(data: types.SimpleNamespace, **kwargs) -> list[dict]:
    return train_classifier(CONFIG, data, backbone="cnn", image_size=SIZE, **kwargs)


def test_two_epochs_report_metrics_checkpoint_and_match_sklearn(data, tmp_path: Path) -> None:
    calls = []
    history = train(
        data,
        epochs=2,
        checkpoint_dir=tmp_path,
        on_epoch=lambda m, d: calls.append((m, d, json.loads((d / STATE_FILE).read_text()))),
    )
    assert [m["epoch"] for m in history] == [1, 2]
    assert all(set(m) == KEYS for m in history)
    assert [c[0] for c in calls] == history and calls[0][1] == tmp_path
    assert calls[0][2]["epochs_done"] == 1  # the checkpoint is written before on_epoch
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["epochs_done"] == 2 and state["history"] == history
    model = build_classifier(CONFIG, image_size=SIZE, backbone="cnn")
    model.load_weights(str(tmp_path / WEIGHTS_FILE))
    probs = model.predict(data.x_val, verbose=0)
    expected = roc_auc_score(data.y_val, probs, multi_class="ovr", average="macro")
    assert history[-1]["val_auc"] == pytest.approx(expected, abs=1e-9)
    assert history[-1]["val_auc_vort"] == pytest.approx(roc_auc_score(data.y_val == 2, probs[:, 2]))
    assert history[-1]["val_accuracy"] == pytest.approx(np.mean(probs.argmax(1) == data.y_val))


def test_resume_continues_the_history_and_runs_are_deterministic(
    data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LENS_SEARCH_DETERMINISTIC", "1")
    first = train(data, epochs=1, checkpoint_dir=tmp_path / "a")
    history = train(data, epochs=3, checkpoint_dir=tmp_path / "b", resume_from=tmp_path / "a")
    assert [m["epoch"] for m in history] == [1, 2, 3]
    assert history[0] == first[0]
    assert json.loads((tmp_path / "b" / STATE_FILE).read_text())["epochs_done"] == 3
    again = train(data, epochs=1)
    assert {k: v for k, v in again[0].items() if k != "epoch_seconds"} == {
        k: v for k, v in first[0].items() if k != "epoch_seconds"
    }


def test_resize_to_image_size(data) -> None:
    history = train_classifier(CONFIG, data, epochs=1, backbone="cnn", image_size=24)
    assert history[0]["epoch"] == 1 and 0.0 <= history[0]["val_auc"] <= 1.0

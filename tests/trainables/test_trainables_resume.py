"""A run resumed from its epoch-2 checkpoint ends at epoch 4 as an uninterrupted run would.

Checkpoints carry Adam's state and every Keras seed generator (dropout, augmentation layers), so
epochs 3 and 4 of a resumed run train exactly as those of an uninterrupted run with the same
seed: directly (super-resolution, classification with augmentation and dropout) and as a Ray
Tune trial that fails after epoch 2 and is retried from its checkpoint.
"""

from __future__ import annotations

import json
import logging
import shutil
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import ray
from ray import tune

from lens_search.data.load import load_classification
from lens_search.spaces import CLASSIFY_SPACE, SUPERRES_SPACE
from lens_search.training.classify import train_classifier
from lens_search.training.loop import STATE_FILE, OnEpoch, load_checkpoint, random_state_variables
from lens_search.training.models import build_superres
from lens_search.training.superres import train_superres
from lens_search.training.tune import make_tune_trainable
from tests.harness.failures import FailureSwitch, with_injected_failures

SEED = 3
EPOCHS = 4
# Ops are deterministic once this is set (issue 16 makes TensorFlow's op determinism opt-in).
DETERMINISTIC = {"LENS_SEARCH_DETERMINISTIC": "1"}
SR_CONFIG = {
    **SUPERRES_SPACE.defaults(),
    "lr": 3e-3,
    "num_layers": 2,
    "filters_1": 16,
    "filters_2": 16,
    "batch_size": 8,
    "dropout": 0.2,  # one seed generator per Dropout layer
    "translation": 0.1,
}
SR_STEPS = 32 // 8  # optimizer steps per epoch: 32 training pairs in batches of 8
CLASSIFY_CONFIG = {
    **CLASSIFY_SPACE.defaults(),
    "lr": 1e-3,
    "batch_size": 8,
    "rotation": 0.2,
    "shear": 0.2,
    "translation": 0.1,
    "dropout": 0.3,
}


@pytest.fixture(scope="module")
def deterministic() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in DETERMINISTIC.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def pairs() -> types.SimpleNamespace:
    """40 HR images of Gaussian blobs (32 px) and their noisy 2x2 means, 32 to train, 8 to val."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:32, :32] / 32
    hr = np.zeros((40, 32, 32, 1), np.float32)
    for image in hr:
        for _ in range(3):
            cy, cx, width = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.03, 0.15)
            image[..., 0] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))
    hr = np.clip(hr / hr.max(axis=(1, 2, 3), keepdims=True), 0, 1)
    lr = hr.reshape(40, 16, 2, 16, 2, 1).mean(axis=(2, 4))
    lr = np.clip(lr + rng.normal(0, 0.01, lr.shape), 0, 1).astype(np.float32)
    return types.SimpleNamespace(lr_train=lr[:32], hr_train=hr[:32], lr_val=lr[32:], hr_val=hr[32:])


def keep_checkpoint(epoch: int, copy_to: Path) -> OnEpoch:
    """An ``on_epoch`` that copies the checkpoint of ``epoch`` away (what Tune would hold)."""

    def on_epoch(metrics: dict[str, Any], folder: Path | None) -> None:
        if metrics["epoch"] == epoch:
            shutil.copytree(folder, copy_to)

    return on_epoch


def saved_state(folder: str | Path) -> dict[str, Any]:
    return json.loads((Path(folder) / STATE_FILE).read_text())


def assert_same_final_state(resumed: str | Path, uninterrupted: str | Path) -> None:
    """Adam's step count and every seed generator ended where the uninterrupted run's did."""
    got, want = saved_state(resumed), saved_state(uninterrupted)
    assert got["epochs_done"] == want["epochs_done"] == EPOCHS
    assert got["optimizer_iterations"] == want["optimizer_iterations"]
    assert got["random_state"] == want["random_state"] and want["random_state"]


@pytest.fixture(scope="module")
def superres_runs(
    deterministic: None, pairs: types.SimpleNamespace, tmp_path_factory: pytest.TempPathFactory
) -> types.SimpleNamespace:
    """4 uninterrupted epochs, and 2 more from that run's epoch-2 checkpoint."""
    root = tmp_path_factory.mktemp("superres")
    common = {"epochs": EPOCHS, "seed": SEED}
    full = train_superres(
        SR_CONFIG,
        pairs,
        checkpoint_dir=root / "full",
        on_epoch=keep_checkpoint(2, root / "epoch2"),
        **common,
    )
    resumed = train_superres(
        SR_CONFIG, pairs, checkpoint_dir=root / "resumed", resume_from=root / "epoch2", **common
    )
    return types.SimpleNamespace(root=root, full=full, resumed=resumed)


def test_superres_resumed_after_epoch_2_ends_as_if_never_interrupted(
    superres_runs: types.SimpleNamespace,
) -> None:
    full, resumed = superres_runs.full, superres_runs.resumed
    assert [m["epoch"] for m in resumed] == [1, 2, 3, 4]
    assert resumed[:2] == full[:2]  # the resumed run's history is the checkpoint's
    assert resumed[-1]["val_psnr"] == pytest.approx(full[-1]["val_psnr"], abs=0.02)
    for got, want in zip(resumed[2:], full[2:], strict=True):
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-6)
    assert_same_final_state(superres_runs.root / "resumed", superres_runs.root / "full")
    assert saved_state(superres_runs.root / "full")["optimizer_iterations"] == EPOCHS * SR_STEPS


def test_checkpoint_restores_adam_and_seed_generators(
    superres_runs: types.SimpleNamespace,
) -> None:
    folder = superres_runs.root / "epoch2"
    model = build_superres(SR_CONFIG)
    history = load_checkpoint(model, folder)
    assert [m["epoch"] for m in history] == [1, 2]
    assert int(model.optimizer.iterations) == 2 * SR_STEPS
    assert len(random_state_variables(model)) == 2  # one per Dropout layer
    restored = [keras.ops.convert_to_numpy(v).tolist() for v in random_state_variables(model)]
    assert restored == saved_state(folder)["random_state"]
    assert all(counter > 0 for _, counter in restored)  # each advanced by the 2 epochs


def test_checkpoint_without_random_state_loads_with_a_warning(
    superres_runs: types.SimpleNamespace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = tmp_path / "old"
    shutil.copytree(superres_runs.root / "epoch2", old)
    state = saved_state(old)
    del state["random_state"], state["optimizer_iterations"]
    (old / STATE_FILE).write_text(json.dumps(state))
    model = build_superres(SR_CONFIG)
    with caplog.at_level(logging.WARNING, logger="lens_search.training.loop"):
        assert len(load_checkpoint(model, old)) == 2
    assert "holds no random state" in caplog.text and "restart their random streams" in caplog.text
    assert "fresh optimizer" not in caplog.text
    assert int(model.optimizer.iterations) == 2 * SR_STEPS


def test_classifier_with_augmentation_resumed_after_epoch_2_ends_as_if_never_interrupted(
    deterministic: None, tiny_classify_dir: Path, tmp_path: Path
) -> None:
    data = load_classification(tiny_classify_dir)
    common = {"epochs": EPOCHS, "seed": SEED, "backbone": "small_cnn", "image_size": 32}
    full = train_classifier(
        CLASSIFY_CONFIG,
        data,
        checkpoint_dir=tmp_path / "full",
        on_epoch=keep_checkpoint(2, tmp_path / "epoch2"),
        **common,
    )
    resumed = train_classifier(
        CLASSIFY_CONFIG,
        data,
        checkpoint_dir=tmp_path / "resumed",
        resume_from=tmp_path / "epoch2",
        **common,
    )
    assert [m["epoch"] for m in resumed] == [1, 2, 3, 4]
    assert resumed[-1]["val_auc"] == pytest.approx(full[-1]["val_auc"], abs=0.002)
    assert resumed[-1]["val_loss"] == pytest.approx(full[-1]["val_loss"], abs=1e-4)
    # Rotation, shear, translation and dropout: four seed generators, all carried on.
    assert len(saved_state(tmp_path / "full")["random_state"]) == 4
    assert_same_final_state(tmp_path / "resumed", tmp_path / "full")


def test_tune_trial_retried_after_failing_at_epoch_2_ends_as_an_uninterrupted_run(
    superres_runs: types.SimpleNamespace, pairs: types.SimpleNamespace, tmp_path: Path
) -> None:
    # Determinism must reach Ray's workers: they take their environment from runtime_env.
    assert not ray.is_initialized()
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": DETERMINISTIC},
    )
    try:
        results = tune.Tuner(
            with_injected_failures(
                make_tune_trainable("superres", pairs, epochs=EPOCHS, seed=SEED),
                FailureSwitch(fail_at=2, once=True),
            ),
            param_space=SR_CONFIG,
            tune_config=tune.TuneConfig(num_samples=1),
            run_config=tune.RunConfig(
                storage_path=str(tmp_path),
                name="retried",
                failure_config=tune.FailureConfig(max_failures=1),
            ),
        ).fit()
    finally:
        ray.shutdown()

    assert results.num_errors == 0
    trial, uninterrupted = results[0], superres_runs.full[-1]
    assert trial.metrics["epoch"] == EPOCHS
    # It failed after reporting epoch 2 and went on from that checkpoint in a new attempt.
    assert trial.metrics["iterations_since_restore"] == EPOCHS - 2
    assert trial.metrics["val_psnr"] == pytest.approx(uninterrupted["val_psnr"], abs=0.02)
    with trial.checkpoint.as_directory() as folder:
        assert_same_final_state(folder, superres_runs.root / "full")

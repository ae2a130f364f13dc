"""make_tune_trainable under a real local Ray: reports, checkpoints, and resume after a failure."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest
from ray import tune

from lens_search.errors import LensSearchError
from lens_search.spaces import SUPERRES_SPACE
from lens_search.training.loop import STATE_FILE
from lens_search.training.tune import make_tune_trainable
from tests.harness.failures import FailureSwitch, with_injected_failures

FAIL_AT = 2


def tiny_pairs() -> types.SimpleNamespace:
    rng = np.random.default_rng(0)
    hr = rng.random((24, 16, 16, 1)).astype(np.float32)
    lr = hr.reshape(24, 8, 2, 8, 2, 1).mean(axis=(2, 4))
    return types.SimpleNamespace(lr_train=lr[:16], hr_train=hr[:16], lr_val=lr[16:], hr_val=hr[16:])


def test_superres_trial_reports_checkpoints_and_resumes(local_ray, tmp_path: Path) -> None:
    config = {**SUPERRES_SPACE.defaults(), "num_layers": 2, "filters_1": 16, "filters_2": 16}
    tuner = tune.Tuner(
        # The trial fails once, right after reporting epoch FAIL_AT.
        with_injected_failures(
            make_tune_trainable("superres", tiny_pairs(), epochs=3, seed=0),
            FailureSwitch(fail_at=FAIL_AT, once=True),
        ),
        param_space=config,
        tune_config=tune.TuneConfig(num_samples=1),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), name="t", failure_config=tune.FailureConfig(max_failures=1)
        ),
    )
    results = tuner.fit()
    assert results.num_errors == 0
    result = results[0]
    assert result.metrics["epoch"] == 3
    assert np.isfinite(result.metrics["val_psnr"]) and "bicubic_psnr" in result.metrics
    assert result.metrics["hostname"] and result.metrics["node_id"]
    # Epoch FAIL_AT raised after its report; the restored trial went on from that checkpoint:
    # its first report after the restart was epoch FAIL_AT + 1, not epoch 1.
    assert result.metrics["iterations_since_restore"] == 3 - FAIL_AT
    assert result.checkpoint is not None
    with result.checkpoint.as_directory() as folder:
        assert (Path(folder) / STATE_FILE).is_file()


def test_bad_task_and_fixed_settings() -> None:
    with pytest.raises(LensSearchError, match="detect"):
        make_tune_trainable("detect", None, epochs=1)
    with pytest.raises(LensSearchError, match="backbone"):
        make_tune_trainable("superres", None, epochs=1, backbone="cnn")
    with pytest.raises(LensSearchError, match="epochs"):
        make_tune_trainable("classify", None, backbone="cnn")

"""One training epoch of the shared loop (``train_on_batch`` per batch, as ``model.fit`` would)
and its predictions in batches."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lens_search.spaces import CLASSIFY_SPACE
from lens_search.training.loop import ShuffledBatches, fit_one_epoch, predict_in_batches
from lens_search.training.models import build_classifier


def _model() -> keras.Model:
    keras.utils.set_random_seed(3)
    config = {**CLASSIFY_SPACE.defaults(), "cnn_width": 8, "cnn_stages": 2, "cnn_blocks": 1}
    return build_classifier(config, image_size=24, backbone="cnn")


def _batches(epoch: int) -> ShuffledBatches:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (44, 24, 24, 1)).astype("float32")
    y = rng.integers(0, 3, 44)
    return ShuffledBatches(x, y, batch_size=8, seed=1, epoch=epoch)


def test_an_epoch_trains_every_full_batch_as_model_fit_does() -> None:
    by_loop, by_fit = _model(), _model()
    np.testing.assert_array_equal(by_loop.get_weights()[0], by_fit.get_weights()[0])
    batches = _batches(1)
    assert len(batches) == 5  # 44 images in batches of 8: 4 left out

    loss = fit_one_epoch(by_loop, batches, 1, 0)
    history = by_fit.fit(
        batches.x, batches.y, batch_size=8, shuffle=False, epochs=1, verbose=0
    ).history

    assert int(by_loop.optimizer.iterations) == int(by_fit.optimizer.iterations) == 5
    assert loss == pytest.approx(history["loss"][-1], rel=1e-4)
    for mine, theirs in zip(by_loop.get_weights(), by_fit.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)


def test_the_epoch_loss_is_the_mean_of_its_batches() -> None:
    model, batches = _model(), _batches(2)
    before = [w.copy() for w in model.get_weights()]
    probe = _model()
    losses = []
    for index in range(len(batches)):
        x, y = batches.batch(index)
        losses.append(float(probe.train_on_batch(x, y, return_dict=True)["loss"]))

    assert fit_one_epoch(model, batches, 2, 0) == pytest.approx(np.mean(losses), rel=1e-5)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_verbose_shows_the_epoch_and_its_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    fit_one_epoch(_model(), _batches(3), 3, 1)
    shown = capsys.readouterr().out
    assert "Epoch 3" in shown and "5/5" in shown and "loss" in shown

    fit_one_epoch(_model(), _batches(3), 3, 0)
    assert capsys.readouterr().out == ""


def test_predictions_in_batches_are_model_predict_s() -> None:
    model = _model()
    x = np.random.default_rng(5).uniform(0.0, 1.0, (21, 24, 24, 1)).astype("float32")

    mine = predict_in_batches(model, x, 8)  # 8 + 8 + a last batch of 5

    assert mine.shape == (21, 3)
    np.testing.assert_allclose(mine, model.predict(x, batch_size=8, verbose=0), rtol=1e-5)

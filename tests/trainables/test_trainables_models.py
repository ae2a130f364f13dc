"""Model construction: backbones, freezing, weights handling, the SuperResCNN's bicubic start.

Also the counted facts of ``trainables.footprint``, checked against the built models.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from lens_search.errors import LensSearchError
from lens_search.spaces import CLASSIFY_SPACE, SUPERRES_SPACE
from lens_search.training.footprint import CNN_SHAPE, cnn_floats_per_pixel, cnn_parameters
from lens_search.training.models import (
    IMAGENET_FILE,
    DepthToSpace,
    bicubic_upsample,
    build_classifier,
    build_superres,
    plain_cnn,
)
from lens_search.training.runtime import prepare_backend


def test_cnn_classifier_shapes_and_frozen_layers() -> None:
    prepare_backend(0)
    config = {**CLASSIFY_SPACE.defaults(), "fine_tune_fraction": 0.25}
    model = build_classifier(config, image_size=32, backbone="cnn")
    assert model.input_shape == (None, 32, 32, 1) and model.output_shape == (None, 3)
    assert model.layers[-1].dtype_policy.name == "float32"
    backbone = model.get_layer("cnn")
    body = [layer for layer in backbone.layers if not isinstance(layer, keras.layers.InputLayer)]
    trainable = [layer.trainable for layer in body]
    top = math.ceil(0.25 * len(body))  # the top quarter of the layers, at least one
    assert 1 <= top < len(body)
    assert all(trainable[-top:]) and not any(trainable[:-top])
    probs = model.predict(np.random.default_rng(0).random((4, 32, 32, 1)), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"backbone": "resnet"}, ["resnet", "cnn", "inception_resnet_v2"]),
        ({"backbone": "inception_resnet_v2", "image_size": 64}, ["64", "75"]),
        ({"backbone": "cnn", "image_size": 8}, ["8", "16"]),
    ],
)
def test_bad_backbone_settings(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(LensSearchError) as info:
        build_classifier(CLASSIFY_SPACE.defaults(), **kwargs)
    for word in words:
        assert word in str(info.value)


def test_imagenet_weights_without_the_cached_file_fail_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    start = time.perf_counter()
    with pytest.raises(LensSearchError) as info:
        build_classifier(CLASSIFY_SPACE.defaults(), image_size=75, weights="imagenet")
    assert time.perf_counter() - start < 2.0
    assert str(tmp_path / "keras" / "models" / IMAGENET_FILE) in str(info.value)
    with pytest.raises(LensSearchError, match="missing.h5"):
        build_classifier(CLASSIFY_SPACE.defaults(), image_size=75, weights=tmp_path / "missing.h5")


def test_cnn_loads_a_weights_file(tmp_path: Path) -> None:
    prepare_backend(0)
    first = build_classifier(CLASSIFY_SPACE.defaults(), image_size=32, backbone="cnn")
    path = tmp_path / "backbone.weights.h5"
    first.get_layer("cnn").save_weights(str(path))
    second = build_classifier(
        CLASSIFY_SPACE.defaults(), image_size=32, backbone="cnn", weights=path
    )
    for a, b in zip(first.get_layer("cnn").weights, second.get_layer("cnn").weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def cnn_convolutions(model: keras.Model) -> list[int]:
    """Filters of each convolution of a classifier's ``cnn`` backbone, in order."""
    layers = model.get_layer("cnn").layers
    return [layer.filters for layer in layers if isinstance(layer, keras.layers.Conv2D)]


@pytest.mark.parametrize(
    ("width", "stages", "blocks"),
    [(8, 2, 1), (24, 4, 2), (8, 4, 1), (24, 2, 2), (16, 4, 2)],
)
def test_cnn_builds_at_each_searched_depth_and_width(
    width: int, stages: int, blocks: int, tmp_path: Path
) -> None:
    """Every searched extreme builds, predicts at the smallest size, and reloads in safe mode."""
    space = CLASSIFY_SPACE
    for name, value in (("cnn_width", width), ("cnn_stages", stages), ("cnn_blocks", blocks)):
        param = space[name]
        choices = getattr(param, "choices", None) or (param.low, param.high)
        assert min(choices) <= value <= max(choices)
    prepare_backend(0)
    config = {**space.defaults(), "cnn_width": width, "cnn_stages": stages, "cnn_blocks": blocks}
    model = build_classifier(config, image_size=16, backbone="cnn")
    expected = [width * 2**stage for stage in range(stages) for _ in range(blocks)]
    assert cnn_convolutions(model) == expected
    x = np.random.default_rng(0).random((2, 16, 16, 1), dtype=np.float32)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert cnn_convolutions(loaded) == expected
    np.testing.assert_allclose(loaded.predict(x, verbose=0), probs, rtol=1e-6, atol=1e-7)


def test_cnn_space_bounds_are_the_tested_extremes() -> None:
    """The extremes above are the space's own bounds; its defaults are the 8-64, 8-conv CNN."""
    assert CLASSIFY_SPACE["cnn_width"].choices == (8, 16, 24)
    assert (CLASSIFY_SPACE["cnn_stages"].low, CLASSIFY_SPACE["cnn_stages"].high) == (2, 4)
    assert (CLASSIFY_SPACE["cnn_blocks"].low, CLASSIFY_SPACE["cnn_blocks"].high) == (1, 2)
    model = build_classifier(CLASSIFY_SPACE.defaults(), image_size=16, backbone="cnn")
    assert cnn_convolutions(model) == [8, 8, 16, 16, 32, 32, 64, 64]


def test_small_cnn_is_an_alias_of_cnn() -> None:
    model = build_classifier(CLASSIFY_SPACE.defaults(), image_size=16, backbone="small_cnn")
    assert model.get_layer("cnn") is not None


@pytest.mark.parametrize("shape", [(16, 4, 2), (8, 2, 1), (24, 4, 2), (32, 5, 3)])
def test_cnn_activation_count_matches_the_model(shape: tuple[int, int, int]) -> None:
    """The per-pixel figure is a count of the layers' outputs, checked on the real model."""
    config = dict(zip(CNN_SHAPE, shape, strict=True))
    model = plain_cnn(32, **config)
    floats = sum(math.prod(layer.output.shape[1:]) for layer in model.layers)
    assert floats / 32**2 == cnn_floats_per_pixel(**config)
    assert model.count_params() == cnn_parameters(**config)


def test_depth_to_space_matches_tensorflow() -> None:
    import tensorflow as tf

    x = np.random.default_rng(0).random((2, 3, 5, 8)).astype(np.float32)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(DepthToSpace(2)(x)), tf.nn.depth_to_space(x, 2).numpy()
    )


@pytest.mark.parametrize("lr_size", [None, (8, 12)])
def test_untrained_superres_is_bicubic(lr_size: tuple[int, int] | None) -> None:
    prepare_backend(0)
    config = {**SUPERRES_SPACE.defaults(), "num_layers": 4, "kernel_size": 5, "dropout": 0.1}
    model = build_superres(config, lr_size=lr_size)
    assert [layer.filters for layer in model.layers if layer.name.startswith("conv_")] == [
        config[f"filters_{i}"] for i in range(1, 5)
    ]
    lr = np.random.default_rng(0).random((3, 8, 12, 1)).astype(np.float32)
    hr = model.predict(lr, verbose=0)
    assert hr.shape == (3, 16, 24, 1)
    np.testing.assert_allclose(hr, bicubic_upsample(lr), atol=1e-6)


@pytest.mark.slow
def test_inception_resnet_v2_classifier_trains_one_step() -> None:
    """The full backbone at its minimum size; one eager step (tracing it costs minutes here)."""
    prepare_backend(0)
    model = build_classifier(CLASSIFY_SPACE.defaults(), image_size=75, weights=None)
    assert model.count_params() > 50_000_000
    model.compile(optimizer=model.optimizer, loss=model.loss, run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.random((4, 75, 75, 1)).astype(np.float32)
    y = np.array([0, 1, 2, 0])
    before = keras.ops.convert_to_numpy(model.layers[-1].kernel).copy()
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert not np.array_equal(before, keras.ops.convert_to_numpy(model.layers[-1].kernel))
    probs = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_classifier_with_shear_reloads_in_safe_mode(tmp_path: Path) -> None:
    """Keras 3.15's own RandomShear config does not load again; the project's layer does."""
    config = {**CLASSIFY_SPACE.defaults(), "shear": 0.2, "rotation": 0.1, "translation": 0.1}
    model = build_classifier(config, image_size=32, backbone="cnn")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    x = np.random.default_rng(0).random((4, 32, 32, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

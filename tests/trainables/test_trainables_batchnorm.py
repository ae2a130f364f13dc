"""Precise batch norm: moving statistics recomputed from un-augmented training images."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from lens_search.spaces import CLASSIFY_SPACE
from lens_search.training.classify import recalibrate_classifier
from lens_search.training.loop import BatchNormCalibrator
from lens_search.training.models import backbone_inputs, build_classifier, classifier_backbone


def test_moving_statistics_become_the_average_of_the_batch_statistics() -> None:
    inner_in = keras.Input((6, 6, 3))
    frozen = layers.BatchNormalization(momentum=0.5, name="frozen")
    frozen.trainable = False
    inner = keras.Model(inner_in, frozen(layers.BatchNormalization(name="inner_bn")(inner_in)))
    inputs = keras.Input((6, 6, 2))
    features = layers.Conv2D(3, 3, padding="same", name="conv")(inputs)
    net = keras.Model(inputs, inner(layers.BatchNormalization(momentum=0.9, name="bn")(features)))
    rng = np.random.default_rng(0)
    batches = [rng.normal(2.0, 3.0, (5, 6, 6, 2)).astype("float32") for _ in range(3)]
    frozen_before = np.asarray(frozen.moving_mean).copy()

    assert BatchNormCalibrator(net)(iter(batches)) == 2

    conv = keras.Model(inputs, features)
    outs = [np.asarray(conv(b), dtype=np.float64) for b in batches]
    bn = net.get_layer("bn")
    np.testing.assert_allclose(
        bn.moving_mean, np.mean([o.mean((0, 1, 2)) for o in outs], axis=0), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        bn.moving_variance, np.mean([o.var((0, 1, 2)) for o in outs], axis=0), rtol=1e-4
    )
    assert bn.momentum == 0.9 and frozen.momentum == 0.5
    np.testing.assert_array_equal(frozen.moving_mean, frozen_before)


@pytest.mark.parametrize("n_images", [32, 40])
def test_classifier_statistics_come_from_unaugmented_training_images(n_images: int) -> None:
    config = {**CLASSIFY_SPACE.defaults(), "rotation": 0.5, "shear": 0.3, "translation": 0.15}
    model = build_classifier(config, image_size=32, backbone="cnn")
    x = np.random.default_rng(1).uniform(0.0, 1.0, (n_images, 32, 32, 1)).astype("float32")
    x[:, 8:24, 8:24] *= 0.2  # a dark centre: rotation or shear would move it

    assert recalibrate_classifier(model, x, batch_size=16, seed=0) == 8  # 4 stages x 2 blocks

    backbone = classifier_backbone(model)
    first_bn = next(lay for lay in backbone.layers if isinstance(lay, layers.BatchNormalization))
    conv = keras.Model(backbone.input, first_bn.input)
    # 32 images: both full batches; 40: the two full batches of the seeded subset's order
    rows = np.sort(np.random.default_rng([0, 1]).permutation(n_images))[:32]
    means = [
        np.asarray(conv(backbone_inputs(model, x[rows[i : i + 16]]))).mean((0, 1, 2))
        for i in (0, 16)
    ]
    np.testing.assert_allclose(first_bn.moving_mean, np.mean(means, axis=0), rtol=1e-4, atol=1e-6)

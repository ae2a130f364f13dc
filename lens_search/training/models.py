"""Keras 3 models (``keras.layers`` / ``keras.ops`` only, so any backend runs them).

- ``build_classifier``: 1-channel image -> training-only augmentation (RandomRotation, RandomShear,
  RandomTranslation; reflect fill) -> 3 identical channels scaled to [-1, 1] -> backbone
  (InceptionResNetV2, or the plain ``cnn`` whose depth and widths are searched) -> global average
  pooling -> dropout -> float32 softmax. The lower ``1 - fine_tune_fraction`` of the backbone's
  layers are frozen.
- ``build_superres``: SuperResCNN; ``num_layers`` ReLU convolutions with ``filters_1..`` filters,
  a sub-pixel x2 upsampling (convolution to 4 channels + depth-to-space), added to a bicubic
  upsampling of the input (global residual). The last convolution starts at zero, so an untrained
  model is exactly bicubic. Linear output; ``trainables.superres.predict_hr`` clips to [0, 1].

Both come compiled with Adam(``config["lr"]``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
from keras import layers, ops

from lens_search.errors import LensSearchError
from lens_search.spaces.classify import BACKBONE_PARAMS, CLASSIFY_SPACE
from lens_search.training.backbones import DEFAULT_BACKBONE, MIN_IMAGE_SIZE, backbone_name
from lens_search.training.contracts import ClassifierConfig, SuperResConfig

IMAGENET_FILE = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"


def keras_models_dir() -> Path:
    """Where Keras caches weights: ``$KERAS_HOME/models``, by default ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def resolve_weights(backbone: str, weights: str | Path | None) -> str | None:
    """The weights file to load into the backbone, checked before anything is built.

    ``None``: random init; ``"imagenet"``: the file in the Keras cache (never downloaded);
    anything else: a path to a weights file for the backbone.
    """
    if weights is None:
        return None
    if str(weights) == "imagenet":
        if backbone_name(backbone) != "inception_resnet_v2":
            raise LensSearchError(
                f"backbone {backbone!r} has no imagenet weights; use weights=None"
            )
        path = keras_models_dir() / IMAGENET_FILE
        if not path.is_file():
            raise LensSearchError(
                f"imagenet weights not found at {path}; this machine does not download them: "
                f"copy {IMAGENET_FILE} (from the Keras applications release) there, "
                "or pass a weights path"
            )
        return str(path)
    path = Path(weights).expanduser()
    if not path.is_file():
        raise LensSearchError(f"weights file not found: {path}")
    return str(path)


def cnn_shape(config: ClassifierConfig) -> dict[str, int]:
    """``cnn_width``, ``cnn_stages`` and ``cnn_blocks`` of ``config``, space defaults if absent."""
    defaults = CLASSIFY_SPACE.defaults()
    given: Mapping[str, Any] = config  # looked up by the names spaces.classify declares
    return {name: int(given.get(name, defaults[name])) for name in BACKBONE_PARAMS["cnn"]}


def plain_cnn(image_size: int, *, cnn_width: int, cnn_stages: int, cnn_blocks: int) -> keras.Model:
    """The ``cnn`` backbone: ``cnn_stages`` stages of ``cnn_blocks`` x (conv 3x3, BN, ReLU).

    Stage ``s`` has ``cnn_width * 2**s`` filters; a 2x2 max pooling joins two stages. Batch norm is
    what lets it learn on lens images, whose pixels sit near one value (mean 0.17, std 0.09):
    the fixed 3-convolution ``small_cnn`` it replaces stayed at AUC 0.55-0.57 without it. Its
    moving statistics lag the weights; the trainer recomputes them before each validation
    (``trainables.classify.recalibrate_classifier``).
    """
    inputs = keras.Input((image_size, image_size, 3))
    x = inputs
    for stage in range(cnn_stages):
        if stage:
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
        filters = cnn_width * 2**stage
        for block in range(cnn_blocks):
            name = f"stage{stage + 1}_block{block + 1}"
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
            x = layers.Activation("relu", name=f"{name}_relu")(x)
    return keras.Model(inputs, x, name="cnn")


def _backbone(
    name: str, image_size: int, weights: str | None, config: ClassifierConfig
) -> keras.Model:
    if name == "inception_resnet_v2":
        return keras.applications.InceptionResNetV2(
            include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
        )
    model = plain_cnn(image_size, **cnn_shape(config))
    if weights is not None:
        model.load_weights(weights)
    return model


def freeze_lower_layers(backbone: keras.Model, fine_tune_fraction: float) -> int:
    """Freeze all but the top ``fine_tune_fraction`` of the backbone's layers; return #trainable."""
    if not 0.0 < fine_tune_fraction <= 1.0:
        raise LensSearchError(f"fine_tune_fraction must be in (0, 1], got {fine_tune_fraction}")
    body = [layer for layer in backbone.layers if not isinstance(layer, layers.InputLayer)]
    trainable = max(1, math.ceil(fine_tune_fraction * len(body)))
    for index, layer in enumerate(body):
        layer.trainable = index >= len(body) - trainable
    return trainable


@keras.saving.register_keras_serializable(package="lens_search")
class SymmetricShear(layers.RandomShear):
    """RandomShear whose saved config loads again.

    Keras 3.15 saves ``x_factor`` as ``(-f, f)`` and its constructor then refuses the negative
    bound, so a saved model with RandomShear could not be loaded; this saves ``f``.
    """

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in ("x_factor", "y_factor"):
            value = config.get(key)
            if isinstance(value, (list, tuple)):
                config[key] = max(abs(float(bound)) for bound in value)
        return config


def augmentation_layers(config: ClassifierConfig) -> list[layers.Layer]:
    """Random rotation, shear and translation; Keras runs them only in training."""
    augment: list[layers.Layer] = []
    if config.get("rotation", 0.0) > 0:
        augment.append(layers.RandomRotation(config["rotation"], fill_mode="reflect"))
    if config.get("shear", 0.0) > 0:
        augment.append(SymmetricShear(config["shear"], config["shear"], fill_mode="reflect"))
    if config.get("translation", 0.0) > 0:
        t = config["translation"]
        augment.append(layers.RandomTranslation(t, t, fill_mode="reflect"))
    return augment


def build_classifier(
    config: ClassifierConfig,
    *,
    image_size: int = 128,
    backbone: str = DEFAULT_BACKBONE,
    weights: str | Path | None = None,
    num_classes: int = 3,
) -> keras.Model:
    """A compiled classifier of (S, S, 1) images in [0, 1] (see module docstring)."""
    backbone = backbone_name(backbone)
    if image_size < MIN_IMAGE_SIZE[backbone]:
        raise LensSearchError(
            f"image_size {image_size} is too small for {backbone} "
            f"(minimum {MIN_IMAGE_SIZE[backbone]})"
        )
    weights_file = resolve_weights(backbone, weights)
    inputs = keras.Input((image_size, image_size, 1), name="image")
    x = inputs
    for layer in augmentation_layers(config):
        x = layer(x)
    x = layers.Concatenate(name="to_rgb")([x, x, x])
    x = layers.Rescaling(2.0, offset=-1.0, name="to_unit_range")(x)
    base = _backbone(backbone, image_size, weights_file, config)
    freeze_lower_layers(base, float(config.get("fine_tune_fraction", 1.0)))
    x = base(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(float(config.get("dropout", 0.0)))(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="probs")(x)
    model = keras.Model(inputs, outputs, name=f"classifier_{backbone}")
    model.compile(
        optimizer=keras.optimizers.Adam(float(config["lr"])),
        loss="sparse_categorical_crossentropy",
    )
    return model


def classifier_backbone(model: keras.Model) -> keras.Model:
    """The backbone model nested in a classifier from ``build_classifier``."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise LensSearchError(f"{model.name} is not a classifier from build_classifier")
    return nested[0]


def backbone_inputs(model: keras.Model, images: Any) -> Any:
    """What the classifier's backbone sees for (N, S, S, 1) ``images``, without augmentation."""
    x = model.get_layer("to_rgb")([images, images, images])
    return model.get_layer("to_unit_range")(x)


@keras.saving.register_keras_serializable(package="lens_search")
class DepthToSpace(layers.Layer):
    """Sub-pixel shuffle: (B, h, w, r*r*C) -> (B, r*h, r*w, C), as ``tf.nn.depth_to_space``."""

    def __init__(self, factor: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x: Any) -> Any:
        r = self.factor
        shape = ops.shape(x)
        batch, height, width, channels = shape[0], shape[1], shape[2], shape[3] // (r * r)
        x = ops.reshape(x, (batch, height, width, r, r, channels))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (batch, height * r, width * r, channels))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        b, h, w, c = input_shape
        r = self.factor
        return (b, None if h is None else h * r, None if w is None else w * r, c // (r * r))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


def build_superres(
    config: SuperResConfig, *, lr_size: tuple[int, int] | None = None
) -> keras.Model:
    """A compiled x2 SuperResCNN of (h, w, 1) images (see module docstring)."""
    num_layers = int(config["num_layers"])
    kernel_size = int(config["kernel_size"])
    dropout = float(config.get("dropout", 0.0))
    filters: Mapping[str, Any] = config  # filters_1 .. filters_<num_layers>
    height, width = lr_size if lr_size is not None else (None, None)
    inputs = keras.Input((height, width, 1), name="lr")
    x = inputs
    for i in range(1, num_layers + 1):
        x = layers.Conv2D(
            int(filters[f"filters_{i}"]),
            kernel_size,
            padding="same",
            activation="relu",
            name=f"conv_{i}",
        )(x)
        if dropout > 0:
            x = layers.Dropout(dropout)(x)
    x = layers.Conv2D(4, 3, padding="same", kernel_initializer="zeros", name="to_subpixels")(x)
    x = DepthToSpace(2, name="depth_to_space")(x)
    bicubic = layers.UpSampling2D(2, interpolation="bicubic", name="bicubic")(inputs)
    outputs = layers.Add(dtype="float32", name="hr")([bicubic, x])
    model = keras.Model(inputs, outputs, name="super_res_cnn")
    model.compile(optimizer=keras.optimizers.Adam(float(config["lr"])), loss="mse")
    return model


def bicubic_upsample(lr: Any) -> Any:
    """x2 bicubic upsampling, the same operation as the model's residual branch (numpy out)."""
    lr = ops.convert_to_tensor(lr, dtype="float32")
    shape = ops.shape(lr)
    hr = ops.image.resize(lr, (shape[1] * 2, shape[2] * 2), interpolation="bicubic")
    return ops.convert_to_numpy(hr)

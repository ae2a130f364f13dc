"""What one training image of a backbone holds in memory, counted, importable without Keras.

Training keeps every layer's output of the forward pass for the backward pass, so a backbone
costs per input pixel the sum of its layers' output sizes. Counted, not guessed: the sum of the
output sizes of every layer of InceptionResNetV2 (``include_top=False``) at 299 px is 81.2
million floats, 908 per input pixel (651 at 128 px, where its valid-padded convolutions trim more
of the edges); the ``cnn`` backbone's count follows from its shape (``cnn_floats_per_pixel``: 190
for the space defaults, checked against the built model in the tests). ``search.memory`` turns
these into the least memory a batch needs.
"""

from __future__ import annotations

from lens_search.spaces.classify import BACKBONE_PARAMS
from lens_search.training.backbones import resolve_alias

ACTIVATION_FLOATS_PER_PIXEL = {"inception_resnet_v2": 910}
"""Layer outputs of one image per input pixel (see the module docstring for the count)."""
PARAMETERS = {"inception_resnet_v2": 54_336_736}
"""Weights of the backbone (``count_params``); the head adds a few hundred."""
CNN_SHAPE = BACKBONE_PARAMS["cnn"]
"""The parameters the ``cnn`` backbone's size follows from: width, stages, blocks."""


def shape_params(backbone: str) -> tuple[str, ...]:
    """The search parameters ``backbone``'s size depends on (none for a fixed architecture)."""
    return CNN_SHAPE if _is_cnn(backbone) else ()


def floats_per_pixel(backbone: str, shape: dict[str, int] | None = None) -> float | None:
    """Layer outputs per input pixel; None for an unknown backbone or a cnn without ``shape``."""
    if _is_cnn(backbone):
        return None if shape is None else cnn_floats_per_pixel(**shape)
    return ACTIVATION_FLOATS_PER_PIXEL.get(backbone)


def weight_count(backbone: str, shape: dict[str, int] | None = None) -> int | None:
    """Weights of the backbone; None for an unknown backbone or a cnn without ``shape``."""
    if _is_cnn(backbone):
        return None if shape is None else cnn_parameters(**shape)
    return PARAMETERS.get(backbone)


def cnn_floats_per_pixel(cnn_width: int, cnn_stages: int, cnn_blocks: int) -> float:
    """Layer outputs per input pixel of the ``cnn`` backbone (``trainables.models.plain_cnn``).

    The input's 3 channels, then per stage the pooled previous stage and, for every block, the
    outputs of its convolution, batch norm and ReLU; stage ``s`` has ``cnn_width * 2**s``
    channels on ``4**-s`` of the input's pixels.
    """
    total = 3.0
    for stage in range(cnn_stages):
        area = 4.0**-stage
        if stage:
            total += cnn_width * 2 ** (stage - 1) * area
        total += 3 * cnn_blocks * cnn_width * 2**stage * area
    return total


def cnn_parameters(cnn_width: int, cnn_stages: int, cnn_blocks: int) -> int:
    """Weights of the ``cnn`` backbone: 3x3 kernels without bias, 4 per batch-norm channel."""
    count, channels_in = 0, 3
    for stage in range(cnn_stages):
        channels = cnn_width * 2**stage
        for _ in range(cnn_blocks):
            count += 9 * channels_in * channels + 4 * channels
            channels_in = channels
    return count


def _is_cnn(backbone: str) -> bool:
    """Whether ``backbone`` names the plain CNN (its aliases included)."""
    return resolve_alias(backbone) == "cnn"

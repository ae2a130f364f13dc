"""Will one training batch fit in memory? A lower bound, checked before a classification search.

Training keeps every layer's output of the forward pass for the backward pass, so a batch needs
at least ``batch x image_size**2 x floats per input pixel x 4 bytes`` of activations, plus the
weights with their gradients and Adam's two moments (4 copies). Counted, not guessed: the sum of
the output sizes of every layer of InceptionResNetV2 (``include_top=False``) at 299 px is
81.2 million floats, 908 per input pixel (651 at 128 px, where its valid-padded convolutions
trim more of the edges); the ``cnn`` backbone's count follows from its shape
(``cnn_floats_per_pixel``: 190 for the space defaults, checked against the built model in the
tests), and a search checks the largest shape its space can produce. The bound leaves out the
gradients of the activations, the workspace of convolutions and the data set itself, so a batch
that fails it cannot train, and sane settings (128 px, batch 64: 4.4 GiB) pass easily. Checked
for an embedded Ray only: on a cluster (``--address``) the trials run on machines this one cannot
see.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lensing.errors import LensSearchError
from spaces import ChoiceParam, FloatParam, IntParam, Param
from trainables.backbones import ALIASES

if TYPE_CHECKING:
    from experiments.tasks import Task
    from search.config import SearchConfig

FLOAT_BYTES = 4
GIB = 2**30
ACTIVATION_FLOATS_PER_PIXEL = {"inception_resnet_v2": 910}
"""Layer outputs of one image per input pixel (see the module docstring for the count)."""
PARAMETERS = {"inception_resnet_v2": 54_336_736}
"""Weights of the backbone (``count_params``); the head adds a few hundred."""
CNN_SHAPE = ("cnn_width", "cnn_stages", "cnn_blocks")
WEIGHT_COPIES = 4
"""Weights, their gradients and Adam's first and second moments."""


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


def batch_bytes(
    backbone: str, image_size: int, batch_size: int, cnn_shape: dict[str, int] | None = None
) -> int | None:
    """The least memory one training batch of ``backbone`` needs, or None for an unknown one.

    ``cnn_shape`` (``cnn_width``, ``cnn_stages``, ``cnn_blocks``) is needed for the cnn backbone.
    """
    if _is_cnn(backbone):
        if cnn_shape is None:
            return None
        per_pixel = cnn_floats_per_pixel(**cnn_shape)
        weights = cnn_parameters(**cnn_shape)
    elif backbone in ACTIVATION_FLOATS_PER_PIXEL:
        per_pixel, weights = ACTIVATION_FLOATS_PER_PIXEL[backbone], PARAMETERS[backbone]
    else:
        return None
    activations = batch_size * image_size**2 * per_pixel * FLOAT_BYTES
    return int(activations) + WEIGHT_COPIES * weights * FLOAT_BYTES


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_batch_fits(
    backbone: str,
    image_size: int,
    batch_size: int,
    memory: int | None = None,
    cnn_shape: dict[str, int] | None = None,
) -> None:
    """Raise LensSearchError if one batch cannot fit in ``memory`` (default: this machine's)."""
    needed = batch_bytes(backbone, image_size, batch_size, cnn_shape)
    memory = machine_memory() if memory is None else memory
    if needed is None or memory is None or needed <= memory:
        return
    raise LensSearchError(
        f"--image-size {image_size} cannot train here: one batch of {batch_size} images for "
        f"{backbone} needs at least {_gib(needed)} (activations of "
        f"{_per_pixel(backbone, cnn_shape):,.0f} floats per pixel, plus weights), more than the "
        f"{_gib(memory)} of memory of this machine; use a smaller --image-size or fix "
        "batch_size lower in --space"
    )


def check_search_fits(task: Task, config: SearchConfig) -> None:
    """Refuse an embedded classification search whose largest batch cannot fit in memory."""
    if not task.has_backbone or config.address is not None:
        return
    space = task.searched_space(config.space, weights=config.weights, backbone=config.backbone)
    largest = largest_value(space["batch_size"])
    cnn_shape = None
    if _is_cnn(config.backbone):
        cnn_shape = {name: int(largest_value(space[name])) for name in CNN_SHAPE}
    if largest is not None:
        check_batch_fits(config.backbone, config.image_size, int(largest), cnn_shape=cnn_shape)


def largest_value(param: Param) -> Any:
    """The largest number a parameter can produce (None if it produces no numbers)."""
    if isinstance(param, FloatParam | IntParam):
        return param.high
    values = param.choices if isinstance(param, ChoiceParam) else (param.value,)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(numbers, default=None)


def _per_pixel(backbone: str, cnn_shape: dict[str, int] | None) -> float:
    if _is_cnn(backbone) and cnn_shape is not None:
        return cnn_floats_per_pixel(**cnn_shape)
    return ACTIVATION_FLOATS_PER_PIXEL[backbone]


def _is_cnn(backbone: str) -> bool:
    """Whether ``backbone`` names the plain CNN (its aliases included, ``trainables.backbones``)."""
    return ALIASES.get(backbone, backbone) == "cnn"


def _gib(size: int) -> str:
    return f"{size / GIB:,.1f} GiB"

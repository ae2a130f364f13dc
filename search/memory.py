"""Will one training batch fit in memory? A lower bound, checked before a classification search.

Training keeps every layer's output of the forward pass for the backward pass, so a batch needs
at least ``batch x image_size**2 x floats per input pixel x 4 bytes`` of activations, plus the
weights with their gradients and Adam's two moments (4 copies). Counted, not guessed: the sum of
the output sizes of every layer of InceptionResNetV2 (``include_top=False``) at 299 px is
81.2 million floats, 908 per input pixel (651 at 128 px, where its valid-padded convolutions
trim more of the edges); ``small_cnn`` has 94 at any size. The bound leaves out the gradients of
the activations, the workspace of convolutions and the data set itself, so a batch that fails
it cannot train, and sane settings (128 px, batch 64: 4.4 GiB) pass easily. Checked for an
embedded Ray only: on a cluster (``--address``) the trials run on machines this one cannot see.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lensing.errors import LensSearchError
from spaces import ChoiceParam, FloatParam, IntParam, Param

if TYPE_CHECKING:
    from search.config import SearchConfig
    from search.tasks import Task

FLOAT_BYTES = 4
GIB = 2**30
ACTIVATION_FLOATS_PER_PIXEL = {"inception_resnet_v2": 910, "small_cnn": 94}
"""Layer outputs of one image per input pixel (see the module docstring for the count)."""
PARAMETERS = {"inception_resnet_v2": 54_336_736, "small_cnn": 23_920}
"""Weights of the backbone (``count_params``); the head adds a few hundred."""
WEIGHT_COPIES = 4
"""Weights, their gradients and Adam's first and second moments."""


def batch_bytes(backbone: str, image_size: int, batch_size: int) -> int | None:
    """The least memory one training batch of ``backbone`` needs, or None for an unknown one."""
    per_pixel = ACTIVATION_FLOATS_PER_PIXEL.get(backbone)
    if per_pixel is None:
        return None
    activations = batch_size * image_size**2 * per_pixel * FLOAT_BYTES
    return activations + WEIGHT_COPIES * PARAMETERS[backbone] * FLOAT_BYTES


def machine_memory() -> int | None:
    """Physical memory of this machine in bytes (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_batch_fits(
    backbone: str, image_size: int, batch_size: int, memory: int | None = None
) -> None:
    """Raise LensSearchError if one batch cannot fit in ``memory`` (default: this machine's)."""
    needed = batch_bytes(backbone, image_size, batch_size)
    memory = machine_memory() if memory is None else memory
    if needed is None or memory is None or needed <= memory:
        return
    raise LensSearchError(
        f"--image-size {image_size} cannot train here: one batch of {batch_size} images for "
        f"{backbone} needs at least {_gib(needed)} (activations of "
        f"{ACTIVATION_FLOATS_PER_PIXEL[backbone]} floats per pixel, plus weights), more than the "
        f"{_gib(memory)} of memory of this machine; use a smaller --image-size or fix "
        "batch_size lower in --space"
    )


def check_search_fits(task: Task, config: SearchConfig) -> None:
    """Refuse an embedded classification search whose largest batch cannot fit in memory."""
    if not task.has_backbone or config.address is not None:
        return
    space = task.searched_space(config.space, weights=config.weights)
    largest = largest_value(space["batch_size"])
    if largest is not None:
        check_batch_fits(config.backbone, config.image_size, int(largest))


def largest_value(param: Param) -> Any:
    """The largest number a parameter can produce (None if it produces no numbers)."""
    if isinstance(param, FloatParam | IntParam):
        return param.high
    values = param.choices if isinstance(param, ChoiceParam) else (param.value,)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(numbers, default=None)


def _gib(size: int) -> str:
    return f"{size / GIB:,.1f} GiB"

"""Will one training batch fit in memory? A lower bound, checked before a classification search.

Training keeps every layer's output of the forward pass for the backward pass, so a batch needs
at least ``batch x image_size**2 x floats per input pixel x 4 bytes`` of activations, plus the
weights with their gradients and Adam's two moments (4 copies). The floats per pixel and the
weights of each backbone are counted facts of ``trainables.footprint`` (InceptionResNetV2: 910
per input pixel; ``cnn``: computed from its shape), and a search checks the largest shape its
space can produce. The bound leaves out the gradients of the activations, the workspace of
convolutions and the data set itself, so a batch that fails it cannot train, and sane settings
(128 px, batch 64: 4.4 GiB) pass easily. Checked for an embedded Ray only: on a cluster
(``--address``) the trials run on machines this one cannot see.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from lens_search.errors import LensSearchError
from lens_search.spaces import Param
from lens_search.training.footprint import floats_per_pixel, weight_count

if TYPE_CHECKING:
    from lens_search.experiments.tasks import Task
    from lens_search.search.config import SearchConfig

FLOAT_BYTES = 4
GIB = 2**30
WEIGHT_COPIES = 4
"""Weights, their gradients and Adam's first and second moments."""


def batch_bytes(
    backbone: str, image_size: int, batch_size: int, cnn_shape: dict[str, int] | None = None
) -> int | None:
    """The least memory one training batch of ``backbone`` needs, or None for an unknown one.

    ``cnn_shape`` (``cnn_width``, ``cnn_stages``, ``cnn_blocks``) is needed for the cnn backbone.
    """
    per_pixel = floats_per_pixel(backbone, cnn_shape)
    weights = weight_count(backbone, cnn_shape)
    if per_pixel is None or weights is None:
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
    per_pixel = floats_per_pixel(backbone, cnn_shape)
    raise LensSearchError(
        f"--image-size {image_size} cannot train here: one batch of {batch_size} images for "
        f"{backbone} needs at least {_gib(needed)} (activations of "
        f"{per_pixel:,.0f} floats per pixel, plus weights), more than the "
        f"{_gib(memory)} of memory of this machine; use a smaller --image-size or fix "
        "batch_size lower in --space"
    )


def check_search_fits(task: Task, config: SearchConfig) -> None:
    """Refuse an embedded search whose largest batch cannot fit in memory (``Task.batch_fit``
    says what to check; a cluster's workers are not this machine)."""
    if config.address is not None:
        return
    space = task.searched_space(config.space, weights=config.weights, backbone=config.backbone)
    fit = task.batch_fit(config.to_dict(), space)
    if fit is not None:
        backbone, image_size, batch_size, shape = fit
        check_batch_fits(backbone, image_size, batch_size, cnn_shape=shape)


def largest_value(param: Param) -> Any:
    """The largest number a parameter can produce (None if it produces no numbers)."""
    return param.largest()


def _gib(size: int) -> str:
    return f"{size / GIB:,.1f} GiB"

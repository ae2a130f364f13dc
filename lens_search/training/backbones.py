"""The classification backbones and what a search must know of them, importable without Keras.

The one home of these facts: the CLI validates ``--backbone`` and ``--image-size`` with them and
``search.tasks`` asks which parameters a backbone's search samples, before Keras is imported;
``trainables.models`` builds the backbones with the same names and limits.
"""

from __future__ import annotations

from lens_search.errors import LensSearchError
from lens_search.spaces.classify import BACKBONE_PARAMS

BACKBONES = ("inception_resnet_v2", "cnn")
"""``inception_resnet_v2`` is the default (GPU searches); ``cnn`` is a plain CNN trained from
scratch whose depth and filter counts are searched, light enough for a CPU."""

DEFAULT_BACKBONE = "inception_resnet_v2"

ALIASES = {"small_cnn": "cnn"}
"""Earlier names still accepted: ``small_cnn`` was a fixed 3-convolution CNN, now ``cnn``."""

MIN_IMAGE_SIZE = {"inception_resnet_v2": 75, "cnn": 16}
"""Pixels a side below which a backbone cannot be built: InceptionResNetV2's valid-padded stem
needs 75 (Keras' limit); the ``cnn`` pools up to 4 times."""

FROM_SCRATCH_FIXED = {"fine_tune_fraction": 1.0}
"""Parameters that a backbone starting from random weights always builds with these values:
freezing layers that never learned anything only removes capacity (the search would spend
trials finding that out), so such a search leaves them out of its space (and its leaderboard)."""


def resolve_alias(name: str) -> str:
    """``name`` with an earlier name (``ALIASES``) resolved; any other name unchanged."""
    return ALIASES.get(name, name)


def backbone_name(name: str) -> str:
    """The backbone ``name`` stands for (an alias resolved); LensSearchError if unknown."""
    name = resolve_alias(name)
    if name not in BACKBONES:
        raise LensSearchError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}")
    return name


def is_backbone(name: str) -> bool:
    """Whether ``name`` (or the alias it is) names a backbone."""
    return resolve_alias(name) in BACKBONES


def min_image_size(name: str) -> int:
    """The smallest image size backbone ``name`` (an alias resolved) can be built for."""
    return MIN_IMAGE_SIZE[backbone_name(name)]


def image_size_limits() -> str:
    """Every backbone's minimum image size, for help texts (``>= 75 for inception_resnet_v2``)."""
    return ", ".join(f">= {size} for {name}" for name, size in MIN_IMAGE_SIZE.items())


def other_backbone_params(name: str) -> set[str]:
    """The search parameters that only backbones other than ``name`` have (a search skips them)."""
    chosen = backbone_name(name)
    return {param for owner, names in BACKBONE_PARAMS.items() if owner != chosen for param in names}

"""The classification backbones by name, importable without Keras (the CLI validates with it)."""

from __future__ import annotations

from lensing.errors import LensSearchError

BACKBONES = ("inception_resnet_v2", "cnn")
"""``inception_resnet_v2`` is the default (GPU searches); ``cnn`` is a plain CNN trained from
scratch whose depth and filter counts are searched, light enough for a CPU."""

ALIASES = {"small_cnn": "cnn"}
"""Earlier names still accepted: ``small_cnn`` was a fixed 3-convolution CNN, now ``cnn``."""

MIN_IMAGE_SIZE = {"inception_resnet_v2": 75, "cnn": 16}


def backbone_name(name: str) -> str:
    """The backbone ``name`` stands for (an alias resolved); LensSearchError if unknown."""
    name = ALIASES.get(name, name)
    if name not in BACKBONES:
        raise LensSearchError(f"unknown backbone {name!r}; choose from {', '.join(BACKBONES)}")
    return name

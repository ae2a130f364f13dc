"""The classification backbones by name, importable without Keras (the CLI validates with it)."""

from __future__ import annotations

BACKBONES = ("inception_resnet_v2", "small_cnn")
"""``inception_resnet_v2`` is the default; ``small_cnn`` is a light one for CPU smoke runs."""

MIN_IMAGE_SIZE = {"inception_resnet_v2": 75, "small_cnn": 16}

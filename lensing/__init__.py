"""Lens data: lenstronomy simulation, loading, inspection and the default-data cache.

    >>> from lensing import default_dataset, load_classification
    >>> data = load_classification(default_dataset("classify", per_class=333, size=128))

Names are imported on first use, so ``import lensing`` does not load lenstronomy or scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from lensing.errors import LensSearchError

_HOMES = {
    "CLASSES": "lensing.load",
    "ClassificationData": "lensing.load",
    "SuperResData": "lensing.load",
    "load_classification": "lensing.load",
    "load_superres": "lensing.load",
    "simulate_classification": "lensing.simulate",
    "simulate_superres": "lensing.simulate",
    "default_dataset": "lensing.cache",
    "inspect_dataset": "lensing.inspect",
    "PRESETS": "lensing.presets",
}

__all__ = ["LensSearchError", *_HOMES]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'lensing' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)

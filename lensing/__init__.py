"""Lens data: lenstronomy simulation, loading, inspection and the default-data cache.

    >>> from lensing import default_dataset, load_classification
    >>> data = load_classification(default_dataset("classify", per_class=333, size=128))

The public names are listed once, in ``__init__.pyi`` (read by type checkers and by
``lazy_loader``), and imported on first use, so ``import lensing`` does not load lenstronomy or
scikit-learn.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

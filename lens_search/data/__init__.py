"""Lens data: lenstronomy simulation, loading, inspection and the default-data cache.

    >>> from lens_search.data import default_dataset, load_classification
    >>> data = load_classification(default_dataset("classify", per_class=333, size=128))

The public names are listed once, in ``__init__.pyi`` (read by type checkers and by
``lazy_loader``), and imported on first use, so ``import lens_search.data`` does not load
lenstronomy or scikit-learn.
"""

from __future__ import annotations

import lazy_loader

from lens_search.errors import LensSearchError  # also here: ``from lensing import LensSearchError``

__getattr__, _, _names = lazy_loader.attach_stub(__name__, __file__)
__all__ = [*_names, "LensSearchError"]


def __dir__() -> list[str]:
    return list(__all__)

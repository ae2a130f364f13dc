"""How trials are scheduled: Ray Tune runs them, Optuna samples them, ASHA stops the weak.

    >>> from search import SearchConfig, run_search

The public names are listed once, in ``__init__.pyi``, and imported on first use: ``import
search`` loads neither Ray nor Keras.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

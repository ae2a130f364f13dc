"""What comes out of a search: ``python -m results.leaderboard | retrain | evaluate | plots |
predict``.

Modules: ``leaderboard``, ``select`` (the k-th trial's config), ``retrain``, ``evaluate`` (a
split, by default ``test/``, with ``intervals``: bootstrap 95 % intervals),
``figures``, ``export`` (safe-mode ``.keras`` files), ``plots``, ``importance``, ``predict``,
``outputs`` (all-or-nothing folders). Experiments are read with ``experiments.trials``.
The public names are listed once, in ``__init__.pyi``, and imported on first use, so
``results.leaderboard`` starts without loading Keras.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

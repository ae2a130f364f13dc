"""lens-search: hyperparameter search for the DeepLense lensing tasks (Ray Tune, Optuna, ASHA).

One root package; its layers, lowest first, import only downward (``tests/test_layers.py``):
``data`` (simulation, loading, the default-data cache), ``spaces`` (what is searched),
``training`` (models and training loops, the Ray Tune trainables), ``experiments`` (the tasks,
the experiment folder), then ``search`` and ``results`` (the commands). ``errors`` and ``cli``
(one clear line and exit status 2 for a user's error) serve every layer. Each layer's public names
are listed once, in its ``__init__.pyi``, and imported on first use::

    >>> import lens_search
    >>> lens_search.LensSearchError
    <class 'lens_search.errors.LensSearchError'>
"""

from __future__ import annotations

import lazy_loader

LAYERS = ("data", "spaces", "training", "experiments", "search", "results")

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=[*LAYERS, "errors", "cli"],
    submod_attrs={"errors": ["LensSearchError"]},
)

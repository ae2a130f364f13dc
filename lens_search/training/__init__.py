"""How one trial trains and what it reports: Keras 3 models, metrics, checkpoints, the Tune wrapper.

The public names are listed once, in ``__init__.pyi``, and imported on first use: ``import
trainables`` loads neither Keras (and so TensorFlow) nor Ray, so command lines can validate their
flags and fail fast without them.
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

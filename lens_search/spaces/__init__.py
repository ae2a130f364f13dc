"""What is searched: one declaration per task, usable by Optuna, Ray Tune and keras-tuner.

The public names are listed once, in ``__init__.pyi``, and imported on first use (as in every
package of the project).
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

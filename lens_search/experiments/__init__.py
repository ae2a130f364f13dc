"""What a search and its results share: the task registry and the experiment folder.

Modules: ``tasks`` (the two tasks: metric, space, data, defaults), ``storage`` (local folders and
storage URIs, their files and who may write them), ``settings`` (the search's settings file),
``study`` (the Optuna study kept in the experiment), ``trials`` (reading Ray Tune's state back:
the ResultGrid and each trial's status) and ``ray_adapter`` (the one private read of Ray).
Below ``search`` and ``results``; it imports neither. The public names are listed once, in
``__init__.pyi``, and imported on first use (as in every package of the project).
"""

from __future__ import annotations

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

"""Save and load whole models as ``.keras`` files that load in Keras safe mode.

Loading needs ``trainables.models`` imported: it registers the project's own layers
(``DepthToSpace``, ``SymmetricShear``); ``load_model`` does that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from lens_search.errors import LensSearchError, one_line


def save_model(model: keras.Model, path: str | Path) -> None:
    """Write ``model`` with its optimizer state to a ``.keras`` file."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # so loading restores it whole
    model.save(Path(path))


def load_model(path: str | Path, compile: bool = True) -> Any:
    """A ``.keras`` model loaded with ``safe_mode=True``; LensSearchError if it is not one."""
    import lens_search.training.models  # noqa: F401  (registers the project's layers)

    path = Path(path).expanduser()
    if not path.is_file():
        raise LensSearchError(f"{path}: no such model file")
    if path.suffix != ".keras":
        raise LensSearchError(f"{path}: expected a .keras model file (saved by results.retrain)")
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        raise LensSearchError(f"{path}: cannot load the model ({one_line(exc, 'last')})") from exc

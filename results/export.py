"""Save and load whole models as ``.keras`` files that load in Keras safe mode.

Keras 3.15's ``RandomShear`` cannot be rebuilt from its own config (``get_config`` gives
``x_factor=[-f, f]``, which its constructor rejects), so a classifier trained with shear > 0 saves
but does not load. Random augmentation layers do nothing at inference, so ``save_model`` replaces
those that cannot be rebuilt by ``Identity`` layers of the same name (weights are shared, the
predictions are the same). Loading needs ``trainables.models`` imported: it registers the
super-resolution model's ``DepthToSpace`` layer; ``load_model`` does that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from lensing.errors import LensSearchError


def _rebuilds(layer: keras.layers.Layer) -> bool:
    try:
        type(layer).from_config(layer.get_config())
    except (TypeError, ValueError):
        return False
    return True


def _inference_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
    if _rebuilds(layer):
        return layer
    if type(layer).__name__.startswith("Random"):
        return keras.layers.Identity(name=layer.name)
    raise TypeError(f"layer {layer.name} ({type(layer).__name__}) cannot be saved and reloaded")


def loadable_model(model: keras.Model) -> keras.Model:
    """``model`` itself, or a copy sharing its weights where augmentation layers cannot reload."""
    if all(_rebuilds(layer) for layer in model.layers):
        return model
    copy = keras.models.clone_model(model, clone_function=_inference_layer)
    if model.optimizer is not None:
        copy.compile(optimizer=model.optimizer, loss=model.loss)
    return copy


def save_model(model: keras.Model, path: str | Path) -> None:
    """Write ``model`` (see ``loadable_model``) to a ``.keras`` file."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)  # so loading restores it whole
    loadable_model(model).save(Path(path))


def load_model(path: str | Path, compile: bool = True) -> Any:
    """A ``.keras`` model loaded with ``safe_mode=True``; LensSearchError if it is not one."""
    import trainables.models  # noqa: F401  (registers DepthToSpace)

    path = Path(path).expanduser()
    if not path.is_file():
        raise LensSearchError(f"{path}: no such model file")
    if path.suffix != ".keras":
        raise LensSearchError(f"{path}: expected a .keras model file (saved by results.retrain)")
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (ValueError, TypeError, OSError, KeyError) as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__
        raise LensSearchError(f"{path}: cannot load the model ({reason})") from exc

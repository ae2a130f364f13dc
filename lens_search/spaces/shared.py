"""The parameters both task spaces search, declared once with the bounds the models accept.

The learning rate has one range for both tasks (log-uniform 1e-5..1e-2); dropout, the
augmentation factors and the batch size are searched over ranges of each task's own.
"""

from __future__ import annotations

from lens_search.spaces.params import (
    AUGMENT_FACTOR,
    BATCH_SIZE,
    DROPOUT,
    LEARNING_RATE,
    ChoiceParam,
    FloatParam,
)


def learning_rate(default: float) -> FloatParam:
    """``lr``: Adam's learning rate, log-uniform 1e-5..1e-2."""
    return FloatParam("lr", 1e-5, 1e-2, log=True, default=default, valid=LEARNING_RATE)


def dropout(high: float, default: float) -> FloatParam:
    """``dropout``: a ``keras.layers.Dropout`` rate, 0..``high``."""
    return FloatParam("dropout", 0.0, high, default=default, valid=DROPOUT)


def augment_factor(name: str, high: float, default: float) -> FloatParam:
    """A Keras augmentation factor (a fraction: rotation, shear, translation), 0..``high``."""
    return FloatParam(name, 0.0, high, default=default, valid=AUGMENT_FACTOR)


def batch_size(choices: tuple[int, ...], default: int) -> ChoiceParam:
    """``batch_size``: one of ``choices``."""
    return ChoiceParam("batch_size", choices, default=default, valid=BATCH_SIZE)

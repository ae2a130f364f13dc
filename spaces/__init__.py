"""What is searched: one declaration per task, usable by Optuna, Ray Tune and keras-tuner."""

from __future__ import annotations

from spaces.classify import CLASSIFY_SPACE
from spaces.overrides import load_space_overrides
from spaces.params import Bounds, ChoiceParam, FixedParam, FloatParam, IntParam, Param
from spaces.space import SearchSpace
from spaces.superres import SUPERRES_SPACE

__all__ = [
    "CLASSIFY_SPACE",
    "SUPERRES_SPACE",
    "Bounds",
    "ChoiceParam",
    "FixedParam",
    "FloatParam",
    "IntParam",
    "Param",
    "SearchSpace",
    "load_space_overrides",
]

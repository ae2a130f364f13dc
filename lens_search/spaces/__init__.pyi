from .classify import CLASSIFY_SPACE
from .overrides import load_space_overrides
from .params import Bounds, ChoiceParam, FixedParam, FloatParam, IntParam, Param
from .space import SearchSpace
from .superres import SUPERRES_SPACE

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

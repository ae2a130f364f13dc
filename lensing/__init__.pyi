from .cache import default_dataset
from .errors import LensSearchError
from .inspect import inspect_dataset
from .layout import CLASSES
from .load import ClassificationData, SuperResData, load_classification, load_superres
from .presets import PRESETS
from .simulate import simulate_classification, simulate_superres

__all__ = [
    "CLASSES",
    "PRESETS",
    "ClassificationData",
    "LensSearchError",
    "SuperResData",
    "default_dataset",
    "inspect_dataset",
    "load_classification",
    "load_superres",
    "simulate_classification",
    "simulate_superres",
]

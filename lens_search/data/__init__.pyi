from .cache import default_dataset
from .inspect import inspect_dataset
from .layout import CLASSES
from .load import (
    ClassificationData,
    ClassificationTest,
    SuperResData,
    SuperResTest,
    load_classification,
    load_classification_test,
    load_superres,
    load_superres_test,
)
from .presets import PRESETS
from .simulate import simulate_classification, simulate_superres

__all__ = [
    "CLASSES",
    "PRESETS",
    "ClassificationData",
    "ClassificationTest",
    "SuperResData",
    "SuperResTest",
    "default_dataset",
    "inspect_dataset",
    "load_classification",
    "load_classification_test",
    "load_superres",
    "load_superres_test",
    "simulate_classification",
    "simulate_superres",
]

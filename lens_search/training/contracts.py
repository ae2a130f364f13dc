"""What one trial is given: the data splits and the config the search samples.

The splits are ``lensing.load``'s data classes, named here for the trainers (tests and benchmarks
may hand a trainer any object with the same arrays, e.g. a namespace; nothing checks the type at
run time). The configs are TypedDicts whose keys are the parameters of ``spaces.CLASSIFY_SPACE``
and ``spaces.SUPERRES_SPACE`` (``tests/trainables/test_trainables_contracts.py`` holds them
equal); Ray Tune hands the trainable a plain dict, which ``trainables.tune`` passes on as one of
these.
"""

from __future__ import annotations

from typing import Required, TypedDict

from lens_search.data.load import ClassificationData, SuperResData

ClassificationSplits = ClassificationData
"""A classification trial's data: ``lensing.load.ClassificationData``, the one definition of the
arrays (images float32 (N, H, W, 1) in [0, 1], int class indices)."""
SuperResSplits = SuperResData
"""A super-resolution trial's data: ``lensing.load.SuperResData`` (LR float32 (N, h, w, 1) and HR
(N, 2h, 2w, 1), all in [0, 1])."""


class ClassifierConfig(TypedDict, total=False):
    """A classification trial's parameters; the ``cnn_*`` ones shape only the ``cnn`` backbone."""

    lr: Required[float]
    batch_size: Required[int]
    dropout: float
    fine_tune_fraction: float
    rotation: float
    shear: float
    translation: float
    cnn_width: int
    cnn_stages: int
    cnn_blocks: int


class SuperResConfig(TypedDict, total=False):
    """A super-resolution trial's parameters; ``filters_1..filters_<num_layers>`` are read."""

    lr: Required[float]
    batch_size: Required[int]
    num_layers: Required[int]
    kernel_size: Required[int]
    filters_1: int
    filters_2: int
    filters_3: int
    filters_4: int
    dropout: float
    flip: bool
    rot90: bool
    translation: float

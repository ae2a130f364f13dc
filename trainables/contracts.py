"""What one trial is given: the data splits and the config the search samples.

The splits are Protocols: ``lensing.load.ClassificationData`` and ``SuperResData`` satisfy them,
and so does any object with the same arrays (a test's namespace). The configs are TypedDicts whose
keys are the parameters of ``spaces.CLASSIFY_SPACE`` and ``spaces.SUPERRES_SPACE``
(``tests/trainables/test_trainables_contracts.py`` holds them equal); Ray Tune hands the trainable
a plain dict, which ``trainables.tune`` passes on as one of these.
"""

from __future__ import annotations

from typing import Protocol, Required, TypedDict, runtime_checkable

import numpy as np


@runtime_checkable
class ClassificationSplits(Protocol):
    """Images float32 (N, H, W, 1) in [0, 1] and int class indices; ``classes`` is optional."""

    @property
    def x_train(self) -> np.ndarray: ...

    @property
    def y_train(self) -> np.ndarray: ...

    @property
    def x_val(self) -> np.ndarray: ...

    @property
    def y_val(self) -> np.ndarray: ...


@runtime_checkable
class SuperResSplits(Protocol):
    """LR float32 (N, h, w, 1) and HR (N, 2h, 2w, 1) images, all in [0, 1]."""

    @property
    def lr_train(self) -> np.ndarray: ...

    @property
    def hr_train(self) -> np.ndarray: ...

    @property
    def lr_val(self) -> np.ndarray: ...

    @property
    def hr_val(self) -> np.ndarray: ...


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

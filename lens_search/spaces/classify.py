"""The classification search space (3 lens classes; InceptionResNetV2 or the plain ``cnn``).

- ``lr``: Adam learning rate, log-uniform 1e-5..1e-2; default 3e-4, and 1e-3 for the ``cnn``
  (``BACKBONE_DEFAULTS``).
- ``dropout``: dropout before the softmax head, 0..0.5.
- ``cnn_width``: filters of the ``cnn`` backbone's first stage (8, 16 or 24); each later stage
  doubles them.
- ``cnn_stages``: stages of the ``cnn`` backbone, 2..4; a 2x2 max pooling joins two stages.
- ``cnn_blocks``: conv 3x3 + batch norm + ReLU blocks per stage of the ``cnn`` backbone, 1..2.
  The ranges stop where a CPU trial stays affordable: the largest configuration costs about 2.3x
  the defaults' convolution work (width 32, 5 stages of 3 blocks cost about 7.5x and one such
  trial did not finish an epoch of the Quick start in 7 minutes); an overrides file may widen
  them up to the hard bounds (width <= 256, stages <= 5, blocks <= 8).
- ``rotation``: ``keras.layers.RandomRotation`` factor, a fraction of a full turn, 0..0.5
  (0.5 = up to +-180 degrees: lenses have no preferred orientation).
- ``shear``: ``keras.layers.RandomShear`` factor, a fraction of the image width/height the image is
  sheared over, drawn in [-shear, shear] on both axes, 0..0.3.
- ``translation``: ``keras.layers.RandomTranslation`` factor, a fraction of the size, 0..0.15.
- ``batch_size``: 16, 32 or 64.
- ``fine_tune_fraction``: fraction of the backbone's layers that train, counted from the top
  (0.25, 0.5, 0.75 or 1.0 = everything trains).

Each parameter's ``valid`` bounds say what the model accepts (an overrides file may widen a range
up to them, never past): lr in (0, 1], dropout in [0, 1), the three augmentation factors in [0, 1]
(Keras' limits), batch_size an integer >= 1, fine_tune_fraction in (0, 1], the ``cnn_*``
integers >= 1.

The ``cnn_*`` parameters shape only the ``cnn`` backbone (``BACKBONE_PARAMS``): a search of
another backbone leaves them out (``experiments.tasks.Task.searched_space``). Their defaults (8
filters, 4 stages of 2 blocks: 8-64 filters, 8 convolutions) are what the model is built with
when a config lacks them (what they reach, and at what cost per epoch: ``bench.epoch_cost`` in
bench/RESULTS.md).
"""

from __future__ import annotations

from lens_search.spaces.params import Bounds, ChoiceParam, IntParam
from lens_search.spaces.shared import augment_factor, batch_size, dropout, learning_rate
from lens_search.spaces.space import SearchSpace

FINE_TUNE_FRACTION = Bounds(0.0, 1.0, low_open=True)
"""At least one backbone layer trains; 1.0 trains them all."""
CNN_WIDTH = Bounds(1, 256, integer=True)
"""Filters of the cnn backbone's first stage (each later stage doubles them)."""
CNN_STAGES = Bounds(1, 5, integer=True)
"""Stages of the cnn backbone; 5 stages pool a 16-pixel image (its minimum size) down to 1."""
CNN_BLOCKS = Bounds(1, 8, integer=True)
"""Convolution blocks per stage of the cnn backbone."""

BACKBONE_PARAMS = {"cnn": ("cnn_width", "cnn_stages", "cnn_blocks")}
"""Parameters that only one backbone has, by backbone name."""

BACKBONE_DEFAULTS: dict[str, dict[str, float]] = {"cnn": {"lr": 1e-3}}
"""Defaults that differ by backbone (``Task.searched_space`` applies them). The ``cnn`` trains from
scratch in a few epochs and learns fastest near 1e-3 (AUC 0.824 / 0.926 / 0.969 after 1 / 2 / 10
epochs against 0.712 / 0.848 / 0.948 at 3e-4); InceptionResNetV2 keeps 3e-4, which also suits
fine-tuning from pretrained weights."""

CLASSIFY_SPACE = SearchSpace(
    "classify",
    (
        learning_rate(default=3e-4),
        dropout(0.5, default=0.2),
        ChoiceParam("cnn_width", (8, 16, 24), default=8, valid=CNN_WIDTH),
        IntParam("cnn_stages", 2, 4, default=4, valid=CNN_STAGES),
        IntParam("cnn_blocks", 1, 2, default=2, valid=CNN_BLOCKS),
        augment_factor("rotation", 0.5, default=0.25),
        augment_factor("shear", 0.3, default=0.05),
        augment_factor("translation", 0.15, default=0.05),
        batch_size((16, 32, 64), default=32),
        ChoiceParam(
            "fine_tune_fraction", (0.25, 0.5, 0.75, 1.0), default=1.0, valid=FINE_TUNE_FRACTION
        ),
    ),
)

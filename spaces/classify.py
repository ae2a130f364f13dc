"""The classification search space (3 lens classes; InceptionResNetV2 or the plain ``cnn``).

- ``lr``: Adam learning rate, log-uniform 1e-5..1e-2.
- ``dropout``: dropout before the softmax head, 0..0.5.
- ``cnn_width``: filters of the ``cnn`` backbone's first stage (8, 16 or 32); each later stage
  doubles them.
- ``cnn_stages``: stages of the ``cnn`` backbone, 2..5; a 2x2 max pooling joins two stages.
- ``cnn_blocks``: conv 3x3 + batch norm + ReLU blocks per stage of the ``cnn`` backbone, 1..3.
- ``rotation``: ``keras.layers.RandomRotation`` factor, a fraction of a full turn, 0..0.5
  (0.5 = up to +-180 degrees: lenses have no preferred orientation).
- ``shear``: ``keras.layers.RandomShear`` factor, a fraction of the image width/height the image is
  sheared over, drawn in [-shear, shear] on both axes, 0..0.3.
- ``translation``: ``keras.layers.RandomTranslation`` factor, a fraction of the size, 0..0.15.
- ``batch_size``: 16, 32 or 64.
- ``fine_tune_fraction``: fraction of the backbone's layers that train, counted from the top
  (0.25, 0.5, 0.75 or 1.0 = everything trains).

The ``cnn_*`` parameters shape only the ``cnn`` backbone (``BACKBONE_PARAMS``): a search of
another backbone leaves them out (``search.tasks.Task.searched_space``). Their defaults (16
filters, 4 stages of 2 blocks: 16-128 filters, 8 convolutions) are what the model is built with
when a config lacks them.
"""

from __future__ import annotations

from spaces.params import ChoiceParam, FloatParam, IntParam
from spaces.space import SearchSpace

BACKBONE_PARAMS = {"cnn": ("cnn_width", "cnn_stages", "cnn_blocks")}
"""Parameters that only one backbone has, by backbone name."""

CLASSIFY_SPACE = SearchSpace(
    "classify",
    (
        FloatParam("lr", 1e-5, 1e-2, log=True, default=3e-4),
        FloatParam("dropout", 0.0, 0.5, default=0.2),
        ChoiceParam("cnn_width", (8, 16, 32), default=16),
        IntParam("cnn_stages", 2, 5, default=4),
        IntParam("cnn_blocks", 1, 3, default=2),
        FloatParam("rotation", 0.0, 0.5, default=0.25),
        FloatParam("shear", 0.0, 0.3, default=0.05),
        FloatParam("translation", 0.0, 0.15, default=0.05),
        ChoiceParam("batch_size", (16, 32, 64), default=32),
        ChoiceParam("fine_tune_fraction", (0.25, 0.5, 0.75, 1.0), default=1.0),
    ),
)

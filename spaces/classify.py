"""The classification search space (InceptionResNetV2 fine-tuning on 3 lens classes).

- ``lr``: Adam learning rate, log-uniform 1e-5..1e-2.
- ``dropout``: dropout before the softmax head, 0..0.5.
- ``rotation``: ``keras.layers.RandomRotation`` factor, a fraction of a full turn, 0..0.5
  (0.5 = up to +-180 degrees: lenses have no preferred orientation).
- ``shear``: ``keras.layers.RandomShear`` factor, a fraction of the image width/height the image is
  sheared over, drawn in [-shear, shear] on both axes, 0..0.3.
- ``translation``: ``keras.layers.RandomTranslation`` factor, a fraction of the size, 0..0.15.
- ``batch_size``: 16, 32 or 64.
- ``fine_tune_fraction``: fraction of the backbone's layers that train, counted from the top
  (0.25, 0.5, 0.75 or 1.0 = everything trains).
"""

from __future__ import annotations

from spaces.params import ChoiceParam, FloatParam
from spaces.space import SearchSpace

CLASSIFY_SPACE = SearchSpace(
    "classify",
    (
        FloatParam("lr", 1e-5, 1e-2, log=True, default=3e-4),
        FloatParam("dropout", 0.0, 0.5, default=0.2),
        FloatParam("rotation", 0.0, 0.5, default=0.25),
        FloatParam("shear", 0.0, 0.3, default=0.05),
        FloatParam("translation", 0.0, 0.15, default=0.05),
        ChoiceParam("batch_size", (16, 32, 64), default=32),
        ChoiceParam("fine_tune_fraction", (0.25, 0.5, 0.75, 1.0), default=1.0),
    ),
)

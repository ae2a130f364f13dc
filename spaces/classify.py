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

Each parameter's ``valid`` bounds say what the model accepts (an overrides file may widen a range
up to them, never past): lr in (0, 1], dropout in [0, 1), the three augmentation factors in [0, 1]
(Keras' limits), batch_size an integer >= 1, fine_tune_fraction in (0, 1].
"""

from __future__ import annotations

from spaces.params import (
    AUGMENT_FACTOR,
    BATCH_SIZE,
    DROPOUT,
    LEARNING_RATE,
    Bounds,
    ChoiceParam,
    FloatParam,
)
from spaces.space import SearchSpace

FINE_TUNE_FRACTION = Bounds(0.0, 1.0, low_open=True)
"""At least one backbone layer trains; 1.0 trains them all."""

CLASSIFY_SPACE = SearchSpace(
    "classify",
    (
        FloatParam("lr", 1e-5, 1e-2, log=True, default=3e-4, valid=LEARNING_RATE),
        FloatParam("dropout", 0.0, 0.5, default=0.2, valid=DROPOUT),
        FloatParam("rotation", 0.0, 0.5, default=0.25, valid=AUGMENT_FACTOR),
        FloatParam("shear", 0.0, 0.3, default=0.05, valid=AUGMENT_FACTOR),
        FloatParam("translation", 0.0, 0.15, default=0.05, valid=AUGMENT_FACTOR),
        ChoiceParam("batch_size", (16, 32, 64), default=32, valid=BATCH_SIZE),
        ChoiceParam(
            "fine_tune_fraction", (0.25, 0.5, 0.75, 1.0), default=1.0, valid=FINE_TUNE_FRACTION
        ),
    ),
)

"""The super-resolution search space (SuperResCNN, x2).

- ``lr``: Adam learning rate, log-uniform 1e-5..1e-2.
- ``num_layers``: convolution layers before the upsampling, 2..4.
- ``filters_1`` .. ``filters_4``: filters of each layer (16, 32, 64 or 128); the model uses the
  first ``num_layers`` of them and ignores the rest (they are still suggested, so the space is flat
  and every library can render it).
- ``kernel_size``: 3 or 5.
- ``dropout``: dropout after each hidden convolution, 0..0.3.
- ``flip``, ``rot90``: random flips / quarter turns, applied identically to LR and HR.
- ``translation``: random shift, a fraction of the LR size, 0..0.1 (whole LR pixels, HR shifted by
  twice as many, wrapping around).
- ``batch_size``: 8, 16 or 32.

Each parameter's ``valid`` bounds say what the model accepts (an overrides file may widen a range
up to them, never past): lr in (0, 1], num_layers an integer in [1, 4], filters integers in
[1, 1024], kernel_size an integer in [1, 15], dropout in [0, 1), translation in [0, 1],
batch_size an integer >= 1.
"""

from __future__ import annotations

from lens_search.spaces.params import Bounds, ChoiceParam, IntParam
from lens_search.spaces.shared import augment_factor, batch_size, dropout, learning_rate
from lens_search.spaces.space import SearchSpace

FILTER_CHOICES = (16, 32, 64, 128)
MAX_LAYERS = 4
LAYERS = Bounds(1, MAX_LAYERS, integer=True)
"""The model has ``filters_1..filters_{MAX_LAYERS}``, so it can build 1 to MAX_LAYERS layers."""
FILTERS = Bounds(1, 1024, integer=True)
KERNEL_SIZE = Bounds(1, 15, integer=True)

SUPERRES_SPACE = SearchSpace(
    "superres",
    (
        learning_rate(default=1e-3),
        IntParam("num_layers", 2, MAX_LAYERS, default=3, valid=LAYERS),
        ChoiceParam("filters_1", FILTER_CHOICES, default=64, valid=FILTERS),
        ChoiceParam("filters_2", FILTER_CHOICES, default=32, valid=FILTERS),
        ChoiceParam("filters_3", FILTER_CHOICES, default=32, valid=FILTERS),
        ChoiceParam("filters_4", FILTER_CHOICES, default=32, valid=FILTERS),
        ChoiceParam("kernel_size", (3, 5), default=3, valid=KERNEL_SIZE),
        dropout(0.3, default=0.0),
        ChoiceParam("flip", (True, False), default=True),
        ChoiceParam("rot90", (True, False), default=True),
        augment_factor("translation", 0.1, default=0.0),
        batch_size((8, 16, 32), default=16),
    ),
)

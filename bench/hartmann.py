"""The multi-fidelity Hartmann functions of mf-prior-bench (``mfh3_*``, ``mfh6_*``), in numpy.

The formula of ``mfpbench/synthetic/hartmann/generators.py`` (mf-prior-bench 1.10): at fidelity
``z`` in 1..100 the Hartmann function's weights ``alpha`` lose ``bias * (1 - s)`` and the value
gains ``|N(0, 1)| * noise * (1 - s)``, where ``s = log(z) / log(100)``; at ``z = 100`` it is the
plain Hartmann function. The noise draw is seeded by ``abs(1337 * z * hash(x))`` as the package
seeds it, so a configuration gets the same value at the same fidelity every time, and the
values equal the package's (``tests/bench/test_bench_hartmann.py`` checks some). The package
pins numpy < 2; this copy lets the benchmark run in the project's own environment.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

MAX_FIDELITY = 100
"""mf-prior-bench's fidelity range is 1..100."""
NOISE_SEED = 1337
"""The package's default seed of the noise draws."""
CORRELATIONS = {
    "good": (2.5, 2.0),
    "moderate": (3.0, 3.0),
    "bad": (3.5, 4.0),
    "terrible": (4.0, 5.0),
}
"""(bias, noise) of each variant: how well low fidelities rank configurations like the top one."""

ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
A = {
    3: np.array([[3.0, 10, 30], [0.1, 10, 35], [3.0, 10, 30], [0.1, 10, 35]]),
    6: np.array(
        [
            [10, 3, 17, 3.5, 1.7, 8],
            [0.05, 10, 17, 0.1, 8, 14],
            [3, 3.5, 1.7, 10, 17, 8],
            [17, 8, 0.05, 10, 0.1, 14],
        ]
    ),
}
P = {
    3: 1e-4
    * np.array([[3689, 1170, 2673], [4699, 4387, 7470], [1091, 8732, 5547], [381, 5743, 8828]]),
    6: 1e-4
    * np.array(
        [
            [1312, 1696, 5569, 124, 8283, 5886],
            [2329, 4135, 8307, 3736, 1004, 9991],
            [2348, 1451, 3522, 2883, 3047, 6650],
            [4047, 8828, 8732, 5743, 1091, 381],
        ]
    ),
}
OPTIMUM = {
    3: (0.114614, 0.555649, 0.852547),
    6: (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573),
}
"""The minimisers the package declares (its ``optimum``)."""


@dataclass(frozen=True)
class MFHartmann:
    """One variant, e.g. ``mfh3_good``: ``dims`` inputs in [0, 1], minimised."""

    dims: int
    bias: float
    noise: float

    def __call__(self, x: tuple[float, ...], z: int) -> float:
        """The value at ``x`` and integer fidelity ``z`` (1..100)."""
        if len(x) != self.dims or not 1 <= z <= MAX_FIDELITY:
            raise ValueError(f"need {self.dims} inputs and a fidelity in 1..{MAX_FIDELITY}")
        scaled = math.log(z) / math.log(MAX_FIDELITY)
        alpha = ALPHA - self.bias * (1 - scaled)
        inner = np.sum(A[self.dims] * (np.asarray(x, dtype=float) - P[self.dims]) ** 2, axis=-1)
        value = -float(np.sum(alpha * np.exp(-inner)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the seed overflows as the package's does
            rng = np.random.default_rng(seed=abs(NOISE_SEED * z * hash(x)))
        return value + float(np.abs(rng.normal(size=1))[0]) * self.noise * (1 - scaled)

    @property
    def minimum(self) -> float:
        """The plain Hartmann function's minimum (at full fidelity, at ``OPTIMUM``)."""
        return self(OPTIMUM[self.dims], MAX_FIDELITY)


VARIANTS = {
    f"mfh{dims}_{name}": MFHartmann(dims, bias, noise)
    for dims in (3, 6)
    for name, (bias, noise) in CORRELATIONS.items()
}


def fidelity(epoch: int, max_epochs: int) -> int:
    """Epochs mapped onto the fidelity: ``z = 100 * epoch / max_epochs``, rounded (the package
    seeds its noise with an integer fidelity)."""
    return max(1, min(MAX_FIDELITY, round(MAX_FIDELITY * epoch / max_epochs)))

"""Bounds: the hard limits of what a model accepts, separate from the searched range."""

from __future__ import annotations

import pytest

from lens_search.errors import LensSearchError
from lens_search.spaces import Bounds, ChoiceParam, FixedParam, FloatParam, IntParam


@pytest.mark.parametrize(
    ("bounds", "inside", "outside", "shown"),
    [
        (Bounds(0.0, 1.0, low_open=True), [1e-9, 1.0], [0.0, -1.0, 1.5], "in (0, 1]"),
        (Bounds(0.0, 1.0, high_open=True), [0.0, 0.999], [1.0, -0.01], "in [0, 1)"),
        (Bounds(1, 4, integer=True), [1, 4, 2.0], [0, 5, 2.5], "an integer in [1, 4]"),
        (Bounds(low=1), [1, 1e9], [0.5], ">= 1"),
    ],
)
def test_bounds(bounds: Bounds, inside: list, outside: list, shown: str) -> None:
    assert all(bounds.contains(v) for v in inside)
    assert not any(bounds.contains(v) for v in [*outside, True, "1", float("nan"), float("inf")])
    assert bounds.describe() == shown


def test_every_kind_of_parameter_checks_its_bounds() -> None:
    positive = Bounds(0.0, low_open=True)
    with pytest.raises(LensSearchError, match="x: low 0.0 is outside .* > 0"):
        FloatParam("x", 0.0, 1.0, valid=positive)
    with pytest.raises(LensSearchError, match="x: high 3"):
        IntParam("x", 1, 3, valid=Bounds(1, 2, integer=True))
    with pytest.raises(LensSearchError, match="x: choice -1"):
        ChoiceParam("x", (1, -1), valid=positive)
    with pytest.raises(LensSearchError, match="x: value 0"):
        FixedParam("x", 0, valid=positive)
    assert FixedParam("x", 2, valid=positive) == FixedParam("x", 2)  # bounds are not the value

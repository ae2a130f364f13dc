"""bench.hartmann gives the values of mf-prior-bench's own multi-fidelity Hartmann functions."""

from __future__ import annotations

import pytest

from bench.hartmann import MAX_FIDELITY, VARIANTS, fidelity

# mf-prior-bench 1.10.0 (numpy 1.26, its own venv): mfpbench.get(name).query(config, at=z).value
PACKAGE_VALUES = [
    ("mfh3_good", (0.1, 0.1, 0.1), 100, -0.34664797444515605),
    ("mfh3_good", (0.25, 0.5, 0.75), 11, 0.2402486360735272),
    ("mfh3_good", (0.9, 0.3, 0.6), 33, -0.08303779636084188),
    ("mfh3_terrible", (0.25, 0.5, 0.75), 11, 3.438258717874108),
    ("mfh3_terrible", (0.9, 0.3, 0.6), 33, 0.41609489170403946),
    ("mfh6_moderate", (0.1,) * 6, 100, -0.0698735633134345),
    ("mfh6_moderate", (0.25, 0.5, 0.75, 0.2, 0.4, 0.6), 11, 1.0437246732081493),
    ("mfh6_bad", (0.25, 0.5, 0.75, 0.2, 0.4, 0.6), 11, 1.705516422807713),
    ("mfh6_bad", (0.9, 0.3, 0.6, 0.1, 0.8, 0.5), 33, 0.2252999394055244),
]


@pytest.mark.parametrize(("name", "x", "z", "expected"), PACKAGE_VALUES)
def test_values_equal_the_packages(
    name: str, x: tuple[float, ...], z: int, expected: float
) -> None:
    assert VARIANTS[name](x, z) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_full_fidelity_is_the_plain_hartmann_with_the_packages_optimum() -> None:
    assert VARIANTS["mfh3_bad"].minimum == pytest.approx(-3.8627797869493365, abs=1e-12)
    assert VARIANTS["mfh6_good"].minimum == pytest.approx(-3.322368011391339, abs=1e-12)
    x = (0.3, 0.6, 0.2)  # no bias and no noise at z = 100: every variant agrees
    assert len({VARIANTS[f"mfh3_{c}"](x, MAX_FIDELITY) for c in ("good", "terrible")}) == 1
    assert VARIANTS["mfh3_good"](x, 11) != VARIANTS["mfh3_terrible"](x, 11)


def test_epochs_map_onto_the_fidelity_range() -> None:
    assert [fidelity(e, 9) for e in (1, 3, 9)] == [11, 33, 100]
    assert fidelity(1, 200) == 1

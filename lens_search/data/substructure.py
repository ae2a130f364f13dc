"""Dark-matter substructure as point masses: CDM subhalos (``sphere``), axion vortex (``vort``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from lenstronomy.Cosmo.lens_cosmo import LensCosmo

from lens_search.data.presets import Z_LENS, Z_SOURCE

N_SUBHALOS = 25
SUBHALO_MASS_RANGE = (1e6, 1e10)  # Msun
SUBHALO_MASS_SLOPE = -0.9  # p(m) ~ m**slope
SUBHALO_RADIUS_RANGE = (0.25, 2.0)  # arcsec from the lens centre
N_VORTEX_MASSES = 100
VORTEX_TOTAL_MASS = 3e10  # Msun
LOG10_AXION_MASS = (-24.0, -22.0)  # eV
VORTEX_HALF_LENGTH_CLIP = (0.03, 3.0)  # arcsec


@dataclass(frozen=True)
class PointMasses:
    """Point masses in the lens plane; ``info`` holds the physical parameters for parameters.csv."""

    theta_E: np.ndarray = field(default_factory=lambda: np.zeros(0))
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    info: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.theta_E)


@lru_cache(maxsize=1)
def _critical_density() -> float:
    """Critical surface density in Msun / arcsec**2 for the project's lens and source redshifts."""
    return float(LensCosmo(z_lens=Z_LENS, z_source=Z_SOURCE).sigma_crit_angle)


def point_mass_theta_e(mass: np.ndarray | float) -> np.ndarray:
    """Einstein radius (arcsec) of a point mass (Msun): M = pi theta_E**2 Sigma_crit."""
    return np.sqrt(np.asarray(mass, dtype=float) / (np.pi * _critical_density()))


def draw_subhalo_masses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Masses from p(m) ~ m**-0.9 on [1e6, 1e10] Msun by inverting the power-law CDF."""
    a = SUBHALO_MASS_SLOPE + 1.0
    low, high = (m**a for m in SUBHALO_MASS_RANGE)
    return (low + rng.uniform(size=n) * (high - low)) ** (1.0 / a)


def draw_subhalos(rng: np.random.Generator) -> PointMasses:
    """25 CDM subhalos at r ~ U(0.25, 2.0) arcsec, angle ~ U(0, 2 pi)."""
    masses = draw_subhalo_masses(rng, N_SUBHALOS)
    radius = rng.uniform(*SUBHALO_RADIUS_RANGE, size=N_SUBHALOS)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=N_SUBHALOS)
    info = {
        "n_subhalos": N_SUBHALOS,
        "subhalo_mass_total": float(masses.sum()),
        "subhalo_mass_max": float(masses.max()),
    }
    return PointMasses(
        point_mass_theta_e(masses), radius * np.cos(angle), radius * np.sin(angle), info
    )


def vortex_half_length(axion_mass_ev: float) -> float:
    """Half-length L = 0.06e-22 / (2 m_axion) arcsec, clipped to 0.03-3 arcsec."""
    return float(np.clip(0.06e-22 / (2.0 * axion_mass_ev), *VORTEX_HALF_LENGTH_CLIP))


def draw_vortex(rng: np.random.Generator) -> PointMasses:
    """A line of 100 equal point masses (3e10 Msun in total) through the lens centre."""
    axion_mass = float(10.0 ** rng.uniform(*LOG10_AXION_MASS))
    angle = float(rng.uniform(0.0, 2.0 * np.pi))
    half_length = vortex_half_length(axion_mass)
    along = np.linspace(-half_length, half_length, N_VORTEX_MASSES)
    theta_e = np.full(N_VORTEX_MASSES, point_mass_theta_e(VORTEX_TOTAL_MASS / N_VORTEX_MASSES))
    info = {
        "m_axion": axion_mass,
        "vortex_half_length": half_length,
        "vortex_angle": angle,
        "vortex_mass_total": VORTEX_TOTAL_MASS,
    }
    return PointMasses(theta_e, along * np.cos(angle), along * np.sin(angle), info)


def draw_substructure(rng: np.random.Generator, cls: str) -> PointMasses:
    """The substructure of class ``cls`` (``no``, ``sphere`` or ``vort``)."""
    if cls == "sphere":
        return draw_subhalos(rng)
    if cls == "vort":
        return draw_vortex(rng)
    return PointMasses()

"""The four kinds of search parameter: one declaration serves Optuna, Ray Tune and keras-tuner."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lensing.errors import LensSearchError

ChoiceValue = bool | int | float | str


def _python(value: Any) -> Any:
    """Turn numpy scalars into plain Python values (JSON- and Optuna-friendly)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class FloatParam:
    """A real number in [low, high], sampled uniformly or (``log=True``) log-uniformly."""

    name: str
    low: float
    high: float
    log: bool = False
    default: float | None = None

    def __post_init__(self) -> None:
        _check_range(self.name, self.low, self.high, self.log)
        if self.default is not None and not self.low <= self.default <= self.high:
            raise LensSearchError(
                f"{self.name}: default {self.default} is outside [{self.low}, {self.high}]"
            )

    def default_value(self) -> float:
        if self.default is not None:
            return float(self.default)
        if self.log:
            return float(math.sqrt(self.low * self.high))
        return float((self.low + self.high) / 2)

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class IntParam:
    """An integer in [low, high] (both included) on a grid of ``step``."""

    name: str
    low: int
    high: int
    step: int = 1
    log: bool = False
    default: int | None = None

    def __post_init__(self) -> None:
        _check_range(self.name, self.low, self.high, self.log)
        if self.step < 1:
            raise LensSearchError(f"{self.name}: step must be >= 1, got {self.step}")
        if self.log and self.step != 1:
            raise LensSearchError(f"{self.name}: a log-scaled integer needs step 1")
        if self.default is not None and not self.low <= self.default <= self.high:
            raise LensSearchError(
                f"{self.name}: default {self.default} is outside [{self.low}, {self.high}]"
            )

    def default_value(self) -> int:
        if self.default is not None:
            return int(self.default)
        return int(self.low + ((self.high - self.low) // (2 * self.step)) * self.step)

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return int(min(self.high, math.floor(value)))
        return int(self.low + rng.integers(0, (self.high - self.low) // self.step + 1) * self.step)


@dataclass(frozen=True)
class ChoiceParam:
    """One of a few values (bools, numbers or strings)."""

    name: str
    choices: tuple[ChoiceValue, ...]
    default: ChoiceValue | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(_python(c) for c in self.choices))
        if not self.choices:
            raise LensSearchError(f"{self.name}: choices must not be empty")
        for choice in self.choices:
            if not isinstance(choice, bool | int | float | str):
                raise LensSearchError(
                    f"{self.name}: choices must be bools, numbers or strings, got {choice!r}"
                )
        if self.default is not None and self.default not in self.choices:
            raise LensSearchError(f"{self.name}: default {self.default!r} is not a choice")

    def default_value(self) -> ChoiceValue:
        return self.choices[0] if self.default is None else self.default

    def sample(self, rng: np.random.Generator) -> ChoiceValue:
        return self.choices[int(rng.integers(0, len(self.choices)))]

    @property
    def is_bool(self) -> bool:
        return all(isinstance(c, bool) for c in self.choices)


@dataclass(frozen=True)
class FixedParam:
    """A value that is not searched (still part of every config)."""

    name: str
    value: Any

    def default_value(self) -> Any:
        return self.value

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value


Param = FloatParam | IntParam | ChoiceParam | FixedParam


def _check_range(name: str, low: float, high: float, log: bool) -> None:
    for bound, value in (("low", low), ("high", high)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise LensSearchError(f"{name}: {bound} must be a finite number, got {value!r}")
    if low > high:
        raise LensSearchError(f"{name}: inverted range, low {low} > high {high}")
    if log and low <= 0:
        raise LensSearchError(f"{name}: a log-scaled range needs low > 0, got low {low}")

"""The four kinds of search parameter: one declaration serves Optuna, Ray Tune and keras-tuner.

Each parameter may carry ``valid``: the hard ``Bounds`` of what the model accepts, apart from the
range it is searched over by default. Every value a parameter can produce (both ends of a range,
every choice, a fixed value) is checked against them when the parameter is made, so an overrides
file that would give an untrainable value (a learning rate of 0, a dropout of 1) is refused
before anything starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lensing.errors import LensSearchError

ChoiceValue = bool | int | float | str


@dataclass(frozen=True)
class Bounds:
    """The values a model accepts for one parameter: an interval, optionally of integers only."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def contains(self, value: Any) -> bool:
        """True if the model accepts ``value``."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value) or (self.integer and not float(value).is_integer()):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self) -> str:
        """The interval as a reader writes it: ``(0, 1]``, ``>= 1``, ``an integer in [1, 4]``."""
        kind = "an integer " if self.integer else ""
        if self.low is None and self.high is None:
            return f"{kind}any finite number".strip()
        if self.high is None:
            return f"{kind}{'>' if self.low_open else '>='} {self.low:g}"
        if self.low is None:
            return f"{kind}{'<' if self.high_open else '<='} {self.high:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{kind}in {left}{self.low:g}, {self.high:g}{right}"


LEARNING_RATE = Bounds(0.0, 1.0, low_open=True)
"""Adam's step size: 0 never moves the weights (every trial would score as chance)."""
DROPOUT = Bounds(0.0, 1.0, high_open=True)
"""``keras.layers.Dropout``'s rate; 1 drops everything."""
BATCH_SIZE = Bounds(1, 4096, integer=True)
"""Images per step; the memory one batch needs is checked apart (``search.memory``)."""
AUGMENT_FACTOR = Bounds(0.0, 1.0)
"""Keras' RandomRotation/RandomShear/RandomTranslation factors (fractions); 0 turns one off."""


def check_valid(name: str, valid: Bounds | None, values: dict[str, Any]) -> None:
    """Raise LensSearchError if a value a parameter can produce lies outside ``valid``.

    ``values`` maps what the value is (``low``, ``high``, ``value``, ``choice``) to the value.
    """
    if valid is None:
        return
    for what, value in values.items():
        if not valid.contains(value):
            raise LensSearchError(
                f"{name}: {what} {value!r} is outside what the model accepts "
                f"({name} must be {valid.describe()})"
            )


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
    valid: Bounds | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_interval(self)

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

    def describe(self) -> str:
        """``name: low .. high[, log scale] (default d)``, as a plan prints it."""
        return _describe_range(self)


@dataclass(frozen=True)
class IntParam:
    """An integer in [low, high] (both included) on a grid of ``step``."""

    name: str
    low: int
    high: int
    step: int = 1
    log: bool = False
    default: int | None = None
    valid: Bounds | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_interval(self)
        if self.step < 1:
            raise LensSearchError(f"{self.name}: step must be >= 1, got {self.step}")
        if self.log and self.step != 1:
            raise LensSearchError(f"{self.name}: a log-scaled integer needs step 1")

    def default_value(self) -> int:
        if self.default is not None:
            return int(self.default)
        return int(self.low + ((self.high - self.low) // (2 * self.step)) * self.step)

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return int(min(self.high, math.floor(value)))
        return int(self.low + rng.integers(0, (self.high - self.low) // self.step + 1) * self.step)

    def describe(self) -> str:
        """``name: low .. high[, log scale] (default d)``, as a plan prints it."""
        return _describe_range(self)


@dataclass(frozen=True)
class ChoiceParam:
    """One of a few values (bools, numbers or strings)."""

    name: str
    choices: tuple[ChoiceValue, ...]
    default: ChoiceValue | None = None
    valid: Bounds | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(_python(c) for c in self.choices))
        if not self.choices:
            raise LensSearchError(f"{self.name}: choices must not be empty")
        for choice in self.choices:
            if not isinstance(choice, bool | int | float | str):
                raise LensSearchError(
                    f"{self.name}: choices must be bools, numbers or strings, got {choice!r}"
                )
            check_valid(self.name, self.valid, {"choice": choice})
        if self.default is not None and self.default not in self.choices:
            raise LensSearchError(f"{self.name}: default {self.default!r} is not a choice")

    def default_value(self) -> ChoiceValue:
        return self.choices[0] if self.default is None else self.default

    def sample(self, rng: np.random.Generator) -> ChoiceValue:
        return self.choices[int(rng.integers(0, len(self.choices)))]

    def describe(self) -> str:
        """``name: one of a, b, c (default d)``, as a plan prints it."""
        choices = ", ".join(str(c) for c in self.choices)
        return f"{self.name}: one of {choices} (default {self.default_value()})"

    @property
    def is_bool(self) -> bool:
        return all(isinstance(c, bool) for c in self.choices)


@dataclass(frozen=True)
class FixedParam:
    """A value that is not searched (still part of every config)."""

    name: str
    value: Any
    valid: Bounds | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_valid(self.name, self.valid, {"value": self.value})

    def default_value(self) -> Any:
        return self.value

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def describe(self) -> str:
        """``name: fixed at v``, as a plan prints it."""
        return f"{self.name}: fixed at {self.value}"


Param = FloatParam | IntParam | ChoiceParam | FixedParam


def _describe_range(param: FloatParam | IntParam) -> str:
    scale = ", log scale" if param.log else ""
    return f"{param.name}: {param.low:g} .. {param.high:g}{scale} (default {param.default_value()})"


def _check_interval(param: FloatParam | IntParam) -> None:
    """What a float and an integer range both need: finite ends in order (positive when
    log-scaled), inside ``valid``, and the default between them."""
    _check_range(param.name, param.low, param.high, param.log)
    check_valid(param.name, param.valid, {"low": param.low, "high": param.high})
    if param.default is not None and not param.low <= param.default <= param.high:
        raise LensSearchError(
            f"{param.name}: default {param.default} is outside [{param.low}, {param.high}]"
        )


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

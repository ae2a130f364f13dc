"""The four kinds of search parameter: one declaration serves Optuna, Ray Tune and keras-tuner.

Each kind carries its own behaviour, so no caller branches on the kind: ``searched``,
``default_value``, ``sample``, ``describe``; the search libraries' forms (``suggest`` for Optuna's
define-by-run, ``tune_domain``, ``keras_tuner``, ``config_space`` for ConfigSpace/BOHB,
``optuna_distribution`` for importance); the unit cube (``to_unit``/``from_unit``); reading a
value back (``parse``, ``check_value``), ``largest`` (memory checks), ``range_labels`` (plots) and
what an override may do to it (``ranged``, ``as_range``). Optuna, Ray and ConfigSpace are imported
only by the method that needs them.

Each parameter may carry ``valid``: the hard ``Bounds`` of what the model accepts, apart from the
range it is searched over by default. Every value a parameter can produce (both ends of a range,
every choice, a fixed value) is checked against them when the parameter is made, so an overrides
file that would give an untrainable value (a learning rate of 0, a dropout of 1) is refused
before anything starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lens_search.errors import LensSearchError

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


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_integer(value: Any) -> bool:
    """A finite number with no fractional part (``2`` and ``2.0``, not ``2.5`` nor ``True``)."""
    return is_number(value) and float(value).is_integer()


def _python(value: Any) -> Any:
    """Turn numpy scalars into plain Python values (JSON- and Optuna-friendly)."""
    return value.item() if isinstance(value, np.generic) else value


class _Interval:
    """What a float and an integer range share: the range's description, unit-cube position,
    ends and override target (the dataclasses below give ``name``, ``low``, ``high``, ``log``)."""

    name: str
    low: Any
    high: Any
    log: bool

    def default_value(self) -> Any:
        raise NotImplementedError

    @property
    def searched(self) -> bool:
        return True

    def describe(self) -> str:
        """``name: low .. high[, log scale] (default d)``, as a plan prints it."""
        scale = ", log scale" if self.log else ""
        return f"{self.name}: {self.low:g} .. {self.high:g}{scale} (default {self.default_value()})"

    def to_unit(self, value: Any) -> float:
        """Where ``value`` lies in the range, 0..1, on a log scale for a log parameter."""
        low, high, v = float(self.low), float(self.high), float(value)
        if self.log:
            low, high, v = math.log(low), math.log(high), math.log(max(v, 1e-300))
        return (v - low) / (high - low) if high > low else 0.5

    def largest(self) -> Any:
        """The largest value it can produce."""
        return self.high

    def range_labels(self) -> tuple[str, str]:
        """The two ends, as an axis labels them."""
        return f"{self.low:.3g}", f"{self.high:.3g}"

    def as_range(self) -> Any:
        """What an override's ``low``/``high`` re-range: itself."""
        return self


@dataclass(frozen=True)
class FloatParam(_Interval):
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

    def suggest(self, trial: Any) -> float:
        """Optuna's define-by-run suggestion of this parameter on ``trial``."""
        return float(trial.suggest_float(self.name, self.low, self.high, log=self.log))

    def tune_domain(self) -> Any:
        """Ray Tune's domain: ``tune.loguniform`` or ``tune.uniform``."""
        from ray import tune

        return (tune.loguniform if self.log else tune.uniform)(self.low, self.high)

    def keras_tuner(self, hp: Any) -> Any:
        """Declared on keras-tuner ``HyperParameters``: ``hp.Float``."""
        sampling = "log" if self.log else "linear"
        return hp.Float(
            self.name, self.low, self.high, sampling=sampling, default=self.default_value()
        )

    def config_space(self) -> Any:
        """ConfigSpace's form (what ``TuneBOHB`` samples); None for a range of one value."""
        import ConfigSpace as CS

        if self.low == self.high:
            return None
        return CS.UniformFloatHyperparameter(self.name, self.low, self.high, log=self.log)

    def optuna_distribution(self, values: Sequence[Any] = ()) -> Any:
        """Optuna's distribution, widened to hold ``values`` (trials of an overridden space)."""
        from optuna.distributions import FloatDistribution

        low, high = min([self.low, *values]), max([self.high, *values])
        return FloatDistribution(float(low), float(high), log=self.log)

    def from_unit(self, u: float) -> float:
        """The value at ``u`` in [0, 1] (the inverse of ``to_unit``)."""
        if self.log:
            low, high = math.log(self.low), math.log(self.high)
            return float(math.exp(low + u * (high - low)))
        return float(self.low + u * (self.high - self.low))

    def parse(self, text: str) -> float:
        """A value written as text (a CSV cell) back into a number."""
        return float(text)

    def check_value(self, value: Any) -> float:
        """``value`` as this parameter's kind (a fixed value or choice an override gives)."""
        if not is_number(value):
            raise LensSearchError(f"{self.name}: wrong kind, expected a number, got {value!r}")
        return float(value)

    def ranged(self, changes: dict[str, Any], default: Any) -> FloatParam:
        """A copy with an override's ``low``, ``high``, ``log`` (and ``default``) applied."""
        if "step" in changes:
            raise LensSearchError(f"{self.name}: step is only for integer parameters")
        changes, default = _ranged(self, changes, default)
        return replace(self, **changes, default=default)


@dataclass(frozen=True)
class IntParam(_Interval):
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

    def suggest(self, trial: Any) -> int:
        """Optuna's define-by-run suggestion of this parameter on ``trial``."""
        return int(trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log))

    def tune_domain(self) -> Any:
        """Ray Tune's domain: ``tune.lograndint``, ``tune.randint`` or on a step ``qrandint``."""
        from ray import tune

        if self.log:
            return tune.lograndint(self.low, self.high + 1)
        if self.step == 1:
            return tune.randint(self.low, self.high + 1)
        return tune.qrandint(self.low, self.high, self.step)

    def keras_tuner(self, hp: Any) -> Any:
        """Declared on keras-tuner ``HyperParameters``: ``hp.Int``."""
        if self.log:  # keras-tuner reads a step of a log range as a factor: none is 1
            return hp.Int(
                self.name, self.low, self.high, sampling="log", default=self.default_value()
            )
        return hp.Int(self.name, self.low, self.high, step=self.step, default=self.default_value())

    def config_space(self) -> Any:
        """ConfigSpace's form: an integer range, or an ordinal of a ``step`` grid's values; None
        for a range of one value."""
        import ConfigSpace as CS

        if self.low == self.high:
            return None
        if self.step > 1:
            grid = list(range(self.low, self.high + 1, self.step))
            return CS.OrdinalHyperparameter(self.name, grid)
        return CS.UniformIntegerHyperparameter(self.name, self.low, self.high, log=self.log)

    def optuna_distribution(self, values: Sequence[Any] = ()) -> Any:
        """Optuna's distribution, widened to hold ``values`` (its step kept while they lie on
        the grid)."""
        from optuna.distributions import IntDistribution

        low, high = min([self.low, *values]), max([self.high, *values])
        inside_grid = all((v - self.low) % self.step == 0 for v in values)
        step = self.step if inside_grid and low == self.low else 1
        return IntDistribution(int(low), int(high), log=self.log, step=step)

    def from_unit(self, u: float) -> int:
        """The grid value whose equal slice of [0, 1) holds ``u``."""
        steps = (self.high - self.low) // self.step + 1
        return int(self.low + min(int(u * steps), steps - 1) * self.step)

    def parse(self, text: str) -> int:
        """A value written as text (a CSV cell, maybe ``3.0``) back into an integer."""
        return int(float(text))

    def check_value(self, value: Any) -> int:
        """``value`` as this parameter's kind (a fixed value or choice an override gives)."""
        if not is_integer(value):
            raise LensSearchError(f"{self.name}: wrong kind, expected an integer, got {value!r}")
        return int(value)

    def ranged(self, changes: dict[str, Any], default: Any) -> IntParam:
        """A copy with an override's ``low``, ``high``, ``step``, ``log`` (and ``default``)."""
        for key in ("low", "high", "step"):
            if key in changes and not is_integer(changes[key]):
                raise LensSearchError(
                    f"{self.name}: {key} must be an integer, got {changes[key]!r}"
                )
        changes, default = _ranged(self, changes, default)
        changes = {k: v if k == "log" else int(v) for k, v in changes.items()}
        return replace(self, **changes, default=None if default is None else int(default))


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

    @property
    def searched(self) -> bool:
        return True

    def suggest(self, trial: Any) -> ChoiceValue:
        """Optuna's define-by-run suggestion of this parameter on ``trial``."""
        value: ChoiceValue = trial.suggest_categorical(self.name, list(self.choices))
        return value

    def tune_domain(self) -> Any:
        """Ray Tune's domain: ``tune.choice``."""
        from ray import tune

        return tune.choice(list(self.choices))

    def keras_tuner(self, hp: Any) -> Any:
        """Declared on keras-tuner ``HyperParameters``: ``hp.Boolean`` or ``hp.Choice``."""
        if self.is_bool:
            return hp.Boolean(self.name, default=self.default_value())
        return hp.Choice(self.name, list(self.choices), default=self.default_value())

    def config_space(self) -> Any:
        """ConfigSpace's form: a categorical of the choices."""
        import ConfigSpace as CS

        return CS.CategoricalHyperparameter(self.name, list(self.choices))

    def optuna_distribution(self, values: Sequence[Any] = ()) -> Any:
        """Optuna's categorical distribution, with ``values`` that are not choices added."""
        from optuna.distributions import CategoricalDistribution

        extra = tuple(v for v in dict.fromkeys(values) if v not in self.choices)
        return CategoricalDistribution(tuple(self.choices) + extra)

    def to_unit(self, value: Any) -> float:
        """The choice's index scaled to 0..1 (NaN for a value that is not a choice)."""
        if value not in self.choices:
            return math.nan
        return self.choices.index(value) / max(1, len(self.choices) - 1)

    def from_unit(self, u: float) -> ChoiceValue:
        """The choice whose equal slice of [0, 1) holds ``u``."""
        return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]

    def parse(self, text: str) -> ChoiceValue:
        """The choice written as ``text`` (compared as text: ``True``, ``32``, ``0.5``)."""
        for choice in self.choices:
            if str(choice) == text:
                return choice
        raise LensSearchError(f"{self.name}: {text!r} is not one of its choices")

    def check_value(self, value: Any) -> Any:
        """``value`` as this parameter's kind (a fixed value or choice an override gives)."""
        if self.is_bool and not isinstance(value, bool):
            raise LensSearchError(f"{self.name}: wrong kind, expected true or false, got {value!r}")
        if all(is_number(c) for c in self.choices) and not is_number(value):
            raise LensSearchError(f"{self.name}: wrong kind, expected a number, got {value!r}")
        return value

    def largest(self) -> Any:
        """The largest number among the choices (None if none is a number)."""
        return _largest_number(self.choices)

    def range_labels(self) -> tuple[str, str]:
        """The first and last choice, as an axis labels them."""
        return str(self.choices[0]), str(self.choices[-1])

    def as_range(self) -> FloatParam | IntParam:
        """Choices have no range to override."""
        raise LensSearchError(_NOT_A_RANGE.format(name=self.name))


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

    @property
    def searched(self) -> bool:
        return False

    def suggest(self, trial: Any) -> Any:
        """Nothing to suggest: the value (a define-by-run returns it with the fixed ones)."""
        return self.value

    def tune_domain(self) -> Any:
        """The value itself (Tune passes constants through)."""
        return self.value

    def keras_tuner(self, hp: Any) -> Any:
        """Declared on keras-tuner ``HyperParameters``: ``hp.Fixed``."""
        return hp.Fixed(self.name, self.value)

    def config_space(self) -> Any:
        """None: not sampled (the value travels with the fixed ones)."""
        return None

    def optuna_distribution(self, values: Sequence[Any] = ()) -> Any:
        """None: nothing was searched."""
        return None

    def to_unit(self, value: Any) -> float:
        """NaN: a fixed value has no place in a range."""
        return math.nan

    def from_unit(self, u: float) -> Any:
        return self.value

    def parse(self, text: str) -> Any:
        return self.value

    def check_value(self, value: Any) -> Any:
        return value

    def largest(self) -> Any:
        """The value if it is a number, else None."""
        return _largest_number((self.value,))

    def range_labels(self) -> tuple[str, str]:
        return str(self.value), str(self.value)

    def as_range(self) -> FloatParam | IntParam:
        """A range of the one number, for an override to widen; refused for other values."""
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise LensSearchError(_NOT_A_RANGE.format(name=self.name))
        kind = IntParam if isinstance(self.value, int) else FloatParam
        return kind(self.name, self.value, self.value, valid=self.valid)  # type: ignore[arg-type]


Param = FloatParam | IntParam | ChoiceParam | FixedParam


_NOT_A_RANGE = (
    "{name}: wrong kind of override, a range (low/high) is only for float or integer "
    "parameters; give choices or a single value"
)


def _largest_number(values: Sequence[Any]) -> Any:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(numbers, default=None)


def _ranged(
    param: FloatParam | IntParam, changes: dict[str, Any], default: Any
) -> tuple[dict[str, Any], Any]:
    """An override's range checked (``log`` a bool, ends numbers) and the default it keeps: the
    one given, else the old one while it is still inside, else none."""
    if "log" in changes and not isinstance(changes["log"], bool):
        raise LensSearchError(f"{param.name}: log must be true or false, got {changes['log']!r}")
    for key in ("low", "high"):
        if key in changes and not is_number(changes[key]):
            raise LensSearchError(f"{param.name}: {key} must be a number, got {changes[key]!r}")
    low, high = changes.get("low", param.low), changes.get("high", param.high)
    if default is None:
        old = param.default_value()
        default = old if low <= old <= high else None
    elif not is_number(default):
        raise LensSearchError(f"{param.name}: default must be a number, got {default!r}")
    return changes, default


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

"""``SearchSpace``: a task's hyperparameters declared once, rendered for each search library."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lensing.errors import LensSearchError
from spaces.overrides import override_param
from spaces.params import ChoiceParam, FixedParam, FloatParam, IntParam, Param


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of parameters; every method yields a config dict keyed by parameter name.

    Example:
        >>> import optuna
        >>> from spaces import CLASSIFY_SPACE
        >>> trial = optuna.create_study().ask()
        >>> config = {**CLASSIFY_SPACE.define_by_run(trial), **trial.params}
    """

    name: str
    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise LensSearchError(f"space {self.name}: duplicate parameters {duplicates}")

    def names(self) -> list[str]:
        """Parameter names in declaration order."""
        return [p.name for p in self.params]

    def __getitem__(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise LensSearchError(self._unknown(name))

    def searched(self) -> list[str]:
        """Names of the parameters that are searched (not fixed)."""
        return [p.name for p in self.params if not isinstance(p, FixedParam)]

    def defaults(self) -> dict[str, Any]:
        """A known-good config for smoke runs and tests.

        A search samples from its first trial on; evaluating the defaults first is a variant
        that ``bench.replay`` measures ("a-def"), not the searcher's behaviour.
        """
        return {p.name: p.default_value() for p in self.params}

    def sample(self, rng: np.random.Generator | int | None = None) -> dict[str, Any]:
        """One random config drawn with ``rng`` (a Generator or a seed)."""
        rng = np.random.default_rng(rng)
        return {p.name: p.sample(rng) for p in self.params}

    def define_by_run(self, trial: Any) -> dict[str, Any]:
        """Optuna define-by-run: suggest every searched parameter, return the fixed ones.

        Pass it as ``OptunaSearch(space=SPACE.define_by_run, metric=..., mode=...)``; Ray merges the
        suggested values with the returned dict into the trial's config.
        """
        fixed: dict[str, Any] = {}
        for p in self.params:
            if isinstance(p, FloatParam):
                trial.suggest_float(p.name, p.low, p.high, log=p.log)
            elif isinstance(p, IntParam):
                trial.suggest_int(p.name, p.low, p.high, step=p.step, log=p.log)
            elif isinstance(p, ChoiceParam):
                trial.suggest_categorical(p.name, list(p.choices))
            else:
                fixed[p.name] = p.value
        return fixed

    def to_tune(self) -> dict[str, Any]:
        """Ray Tune domains (``tune.loguniform``, ``tune.choice`` ...), e.g. for random search."""
        from ray import tune

        space: dict[str, Any] = {}
        for p in self.params:
            if isinstance(p, FloatParam):
                space[p.name] = (tune.loguniform if p.log else tune.uniform)(p.low, p.high)
            elif isinstance(p, IntParam):
                if p.log:
                    space[p.name] = tune.lograndint(p.low, p.high + 1)
                elif p.step == 1:
                    space[p.name] = tune.randint(p.low, p.high + 1)
                else:
                    space[p.name] = tune.qrandint(p.low, p.high, p.step)
            elif isinstance(p, ChoiceParam):
                space[p.name] = tune.choice(list(p.choices))
            else:
                space[p.name] = p.value
        return space

    def build_keras_tuner(self, hp: Any) -> dict[str, Any]:
        """Declare every parameter on keras-tuner ``HyperParameters`` and return the config."""
        config: dict[str, Any] = {}
        for p in self.params:
            if isinstance(p, FloatParam):
                sampling = "log" if p.log else "linear"
                value = hp.Float(
                    p.name, p.low, p.high, sampling=sampling, default=p.default_value()
                )
            elif isinstance(p, IntParam):
                sampling = "log" if p.log else "linear"
                value = hp.Int(
                    p.name,
                    p.low,
                    p.high,
                    step=p.step,
                    sampling=sampling,
                    default=p.default_value(),
                )
            elif isinstance(p, ChoiceParam) and p.is_bool:
                value = hp.Boolean(p.name, default=p.default_value())
            elif isinstance(p, ChoiceParam):
                value = hp.Choice(p.name, list(p.choices), default=p.default_value())
            else:
                value = hp.Fixed(p.name, p.value)
            config[p.name] = value
        return config

    def with_overrides(self, mapping: Mapping[str, Any]) -> SearchSpace:
        """A copy with some parameters narrowed, re-ranged or fixed (see ``spaces.overrides``)."""
        if not isinstance(mapping, Mapping):
            raise LensSearchError(
                "space overrides must be a mapping of parameter names, "
                f"got {type(mapping).__name__}"
            )
        for name in mapping:
            if name not in self.names():
                raise LensSearchError(self._unknown(name))
        params = tuple(
            override_param(p, mapping[p.name]) if p.name in mapping else p for p in self.params
        )
        return SearchSpace(self.name, params)

    def _unknown(self, name: str) -> str:
        return (
            f"unknown parameter {name!r} for the {self.name} space; "
            f"valid names: {', '.join(self.names())}"
        )

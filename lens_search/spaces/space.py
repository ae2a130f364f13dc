"""``SearchSpace``: a task's hyperparameters declared once, rendered for each search library."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lens_search.errors import LensSearchError
from lens_search.spaces.overrides import override_param
from lens_search.spaces.params import Param


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
        return [p.name for p in self.params if p.searched]

    def defaults(self) -> dict[str, Any]:
        """Every parameter's default: a known-good configuration (the first trial of a search
        with ``--first-trial defaults``, smoke runs and tests)."""
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
            value = p.suggest(trial)
            if not p.searched:
                fixed[p.name] = value
        return fixed

    def to_tune(self) -> dict[str, Any]:
        """Ray Tune domains (``tune.loguniform``, ``tune.choice`` ...), e.g. for random search."""
        return {p.name: p.tune_domain() for p in self.params}

    def build_keras_tuner(self, hp: Any) -> dict[str, Any]:
        """Declare every parameter on keras-tuner ``HyperParameters`` and return the config."""
        return {p.name: p.keras_tuner(hp) for p in self.params}

    def to_unit(self, config: Mapping[str, Any]) -> np.ndarray:
        """The searched parameters of ``config`` as a point of the unit cube (``Param.to_unit``)."""
        return np.array([self[n].to_unit(config[n]) for n in self.searched()], dtype=float)

    def from_unit(self, point: Any) -> dict[str, Any]:
        """The configuration at ``point`` of the unit cube: the searched parameters from it
        (``Param.from_unit``), the fixed ones at their value."""
        searched = [self[n] for n in self.searched()]
        if len(point) != len(searched):
            raise LensSearchError(
                f"space {self.name}: a point of {len(point)} coordinates for "
                f"{len(searched)} searched parameters"
            )
        config = self.defaults()
        config.update({p.name: p.from_unit(float(u)) for p, u in zip(searched, point, strict=True)})
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

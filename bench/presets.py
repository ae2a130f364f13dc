"""Named search methods for the replays, one table for ``python -m bench.replay --task`` and
``--benchmark`` (as Syne Tune's ``baselines.py`` names its methods).

``PRESETS`` maps a name to a ``Preset``: a one-line description and a function that builds the
method's ``bench.engine.Policy`` from a ``Setting`` (the space, metric, epochs, seed, samples,
workers, a scratch folder and ASHA's overrides). The TPE presets are
``search.run.make_searcher`` and ``make_scheduler`` with ``SearchConfig`` settings, so
``default`` is exactly what a user's search runs; the others are the libraries' own searchers
(``bench.policies``). ``methods_named`` reads a ``--methods`` value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.engine import Policy
from bench.policies import (
    BohbPolicy,
    DehbPolicy,
    HyperbandPolicy,
    OptunaPolicy,
    RandomSearcher,
    RayPolicy,
    dehb_available,
    quiet_search_logs,
)
from lens_search.errors import LensSearchError

if TYPE_CHECKING:
    from lens_search.spaces import SearchSpace


@dataclass(frozen=True)
class Setting:
    """What a preset builds its policy from, for one replay (one seed)."""

    space: SearchSpace
    metric: str
    """The metric the policy is told, higher is better."""
    max_epochs: int
    seed: int
    samples: int
    """The search's ``--samples`` (TPE's start-up trials are a share of it)."""
    workers: int
    """Trials at once (keras-tuner's Hyperband always runs 1)."""
    folder: str
    """A scratch folder, removed after the replay."""
    asha: Mapping[str, int] = field(default_factory=dict)
    """``grace_period`` / ``reduction_factor`` for ``SearchConfig`` (else its defaults)."""


@dataclass(frozen=True)
class Preset:
    """A named method: ``description`` for tables and help, ``build`` for each replay."""

    description: str
    build: Callable[[Setting], Policy]


@dataclass(frozen=True)
class _Objective:
    """What ``make_searcher`` and ``make_scheduler`` read of a task: its metric and mode."""

    metric: str
    mode: str = "max"


def _ray(setting: Setting, tpe: Mapping[str, Any] | None, asha: bool) -> Policy:
    """TPE with ``SearchConfig`` settings ``tpe`` (None: random configurations), with the
    project's ASHA or without a scheduler."""
    from lens_search.search.config import SearchConfig
    from lens_search.search.run import make_scheduler, make_searcher

    settings: dict[str, Any] = {**(tpe or {}), **setting.asha}
    config = SearchConfig(
        samples=setting.samples, max_epochs=setting.max_epochs, seed=setting.seed, **settings
    )
    np.random.seed(setting.seed)  # ASHA draws its bracket from NumPy's global generator
    objective = _Objective(setting.metric)
    searcher: Any
    if tpe is None:
        searcher = RandomSearcher(setting.space, setting.seed)
    else:
        searcher = make_searcher(objective, setting.space, config)  # type: ignore[arg-type]
    scheduler = make_scheduler(objective, config) if asha else None  # type: ignore[arg-type]
    return RayPolicy(searcher, scheduler, setting.metric, setting.max_epochs, setting.workers)


def _tpe_asha(**tpe: Any) -> Callable[[Setting], Policy]:
    return lambda setting: _ray(setting, tpe, asha=True)


def _random(asha: bool) -> Callable[[Setting], Policy]:
    return lambda setting: _ray(setting, None, asha)


def _hyperband(setting: Setting) -> Policy:
    s = setting
    return HyperbandPolicy(s.space, s.metric, s.max_epochs, s.seed, s.folder)


def _bohb(setting: Setting) -> Policy:
    s = setting
    np.random.seed(s.seed)  # hpbandster's BOHB draws from NumPy's global generator
    return BohbPolicy(s.space, s.metric, s.max_epochs, s.seed, s.workers)


def _dehb(setting: Setting) -> Policy:
    s = setting
    np.random.seed(s.seed)
    return DehbPolicy(s.space, s.max_epochs, s.seed, s.workers, s.folder)


def _optuna(pruner: str) -> Callable[[Setting], Policy]:
    def build(setting: Setting) -> Policy:
        import optuna

        epochs = setting.max_epochs
        chosen: Any
        if pruner == "hyperband":
            chosen = optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=epochs, reduction_factor=3
            )
        else:
            chosen = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
        return OptunaPolicy(setting.space, chosen, epochs, setting.seed, setting.workers)

    return build


OPTUNA_TPE = {"tpe_model": "plain", "startup_trials": 10, "first_trial": "sampled"}
"""``SearchConfig`` settings for TPE as Optuna sets it up: 10 random start-up trials, the first
trial sampled, the model fitted on every trial (finished ones first)."""

DEFAULT = "default"
PRESETS: dict[str, Preset] = {
    DEFAULT: Preset("the product's default searcher (SearchConfig's defaults) + ASHA", _tpe_asha()),
    "default-complete": Preset(
        "default with stopped trials told COMPLETE", _tpe_asha(stopped_trials="complete")
    ),
    "tpe-asha": Preset(
        "TPE with Optuna's settings (10 start-up, first sampled) + ASHA, stopped = PRUNED",
        _tpe_asha(**OPTUNA_TPE),
    ),
    "tpe-asha-complete": Preset(
        "tpe-asha with stopped trials told COMPLETE (Ray's own OptunaSearch)",
        _tpe_asha(**OPTUNA_TPE, stopped_trials="complete"),
    ),
    "tpe-asha+defaults": Preset(
        "tpe-asha, the space's defaults trained first",
        _tpe_asha(**{**OPTUNA_TPE, "first_trial": "defaults"}),
    ),
    "tpe-asha+startup": Preset(
        "tpe-asha, start-up trials 5 % of --samples (at least 4)",
        _tpe_asha(**{**OPTUNA_TPE, "startup_trials": None}),
    ),
    "tpe-asha+rung": Preset(
        "tpe-asha, TPE fitted on the highest rung with enough results",
        _tpe_asha(**{**OPTUNA_TPE, "tpe_model": "rung"}),
    ),
    "tpe-asha+startup+rung": Preset(
        "tpe-asha with both",
        _tpe_asha(**{**OPTUNA_TPE, "startup_trials": None, "tpe_model": "rung"}),
    ),
    "tpe-asha+startup+defaults": Preset(
        "tpe-asha, start-up 5 % and the defaults first",
        _tpe_asha(**{**OPTUNA_TPE, "startup_trials": None, "first_trial": "defaults"}),
    ),
    "tpe-asha+all": Preset(
        "tpe-asha with start-up 5 %, the rung model and the defaults first",
        _tpe_asha(tpe_model="rung", startup_trials=None, first_trial="defaults"),
    ),
    "random": Preset("random configurations, every one trained to max_epochs", _random(False)),
    "random-asha": Preset("random configurations + ASHA", _random(True)),
    "hyperband": Preset("keras-tuner Hyperband (one trial at a time)", _hyperband),
    "bohb": Preset("BOHB (Ray's TuneBOHB + HyperBandForBOHB)", _bohb),
    "dehb": Preset(
        "DEHB (PyPI dehb; differential evolution + Hyperband, retrains from scratch)", _dehb
    ),
    "optuna-hyperband": Preset("Optuna TPE + HyperbandPruner", _optuna("hyperband")),
    "optuna-sha": Preset("Optuna TPE + SuccessiveHalvingPruner", _optuna("sha")),
}
OPTIONAL = {"dehb": dehb_available}
"""Presets whose library is optional, with the check that it imports."""

TASK_METHODS = (
    DEFAULT,
    "default-complete",
    "hyperband",
    "random",
    "random-asha",
    "bohb",
    "optuna-hyperband",
    "optuna-sha",
    "tpe-asha",
    "tpe-asha+defaults",
)
"""What ``--task`` replays when ``--methods`` is not given."""
BENCHMARK_METHODS = tuple(name for name in PRESETS if name != "default-complete")
"""What ``--benchmark`` replays when ``--methods`` is not given (``dehb`` where installed)."""

LETTERS = {
    "a": DEFAULT,
    "a'": "default-complete",
    "b": "hyperband",
    "c": "random",
    "d": "random-asha",
    "e": "bohb",
    "f": "optuna-hyperband",
    "f'": "optuna-sha",
    "a-mv": "tpe-asha",
    "a-def": "tpe-asha+defaults",
}
"""Letters ``--methods`` no longer takes, each with the preset that runs the same code."""


def installed(names: Sequence[str]) -> list[str]:
    """``names`` without the optional presets whose library is not installed."""
    return [n for n in names if n not in OPTIONAL or OPTIONAL[n]()]


def methods_named(text: str | None, defaults: Sequence[str]) -> list[str]:
    """The presets a ``--methods`` value names (comma-separated, in its order), or the installed
    ones of ``defaults`` when it is None or blank.

    Raises ``LensSearchError`` (one line) for a letter, naming its preset, for an unknown name,
    and for an optional preset whose library is not installed.
    """
    names = [m.strip() for m in (text or "").split(",") if m.strip()]
    if not names:
        return installed(defaults)
    for name in names:
        if name in LETTERS:
            raise LensSearchError(
                f"--methods: method {name!r} is now {LETTERS[name]!r} (bench/RESULTS.md maps "
                "the letters of its older figures)"
            )
        if name not in PRESETS:
            raise LensSearchError(
                f"--methods: unknown method {name!r}; presets: {', '.join(PRESETS)}"
            )
        if name in OPTIONAL and not OPTIONAL[name]():
            raise LensSearchError(
                f"--methods {name} needs the {name} package (see bench/RESULTS.md)"
            )
    return names


def make_policy(name: str, setting: Setting) -> Policy:
    """The policy of preset ``name`` for one replay; Optuna's and Ray's info logs are off."""
    quiet_search_logs()
    return PRESETS[name].build(setting)

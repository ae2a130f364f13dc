"""Each kind of parameter carries its own behaviour: no caller branches on the kind.

Every form a library needs (Optuna, Ray Tune, keras-tuner, ConfigSpace, Optuna's importance
distributions), the unit cube both ways, reading values back and the override rules live on the
``Param`` classes; a grep keeps ``isinstance(..., XParam)`` chains from coming back elsewhere.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import keras_tuner
import numpy as np
import optuna
import pytest
from ray import tune

from lens_search.errors import LensSearchError
from lens_search.spaces import CLASSIFY_SPACE, SUPERRES_SPACE
from lens_search.spaces.params import ChoiceParam, FixedParam, FloatParam, IntParam
from lens_search.spaces.space import SearchSpace

ROOT = Path(__file__).resolve().parents[2]
KINDS = [
    FloatParam("lr", 1e-4, 1e-1, log=True),
    FloatParam("dropout", 0.0, 0.5),
    IntParam("layers", 2, 10, step=2),
    IntParam("width", 1, 64, log=True),
    ChoiceParam("filters", (16, 32, 64)),
    ChoiceParam("flip", (True, False)),
    FixedParam("seed", 7),
]


@pytest.mark.parametrize("param", KINDS, ids=lambda p: p.name)
def test_every_kind_answers_every_question(param: Any) -> None:
    # Optuna: one suggestion per searched parameter, within its range
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    value = param.suggest(trial)
    assert (param.name in trial.params) == param.searched
    assert math.isnan(param.to_unit(value)) == (not param.searched)
    # Tune: a domain that samples values the parameter can produce
    domain = param.tune_domain()
    drawn = domain.sample() if hasattr(domain, "sample") else domain
    if param.searched:
        assert 0.0 <= param.to_unit(drawn) <= 1.0
    else:
        assert drawn == param.value
    # keras-tuner: declared with its default
    hp = keras_tuner.HyperParameters()
    assert param.keras_tuner(hp) == param.default_value()
    assert param.name in hp.values
    # importance: a distribution that holds what trials took, None when nothing was searched
    distribution = param.optuna_distribution([param.default_value()])
    assert (distribution is None) == (not param.searched)
    if distribution is not None:
        assert distribution._contains(distribution.to_internal_repr(param.default_value()))
    # text back into the value; largest value; axis labels
    assert param.parse(str(param.default_value())) == param.default_value()
    assert param.range_labels()[0]


@pytest.mark.parametrize("param", [p for p in KINDS if p.searched], ids=lambda p: p.name)
def test_unit_cube_round_trip(param: Any) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        value = param.sample(rng)
        u = param.to_unit(value)
        assert 0.0 <= u <= 1.0
        if isinstance(value, float):
            assert param.from_unit(u) == pytest.approx(value, rel=1e-9)
    ends = (
        (param.choices[0], param.choices[-1])
        if hasattr(param, "choices")
        else (pytest.approx(param.low), pytest.approx(param.high))
    )
    assert (param.from_unit(0.0), param.from_unit(1.0)) == ends
    assert param.to_unit(param.from_unit(0.0)) == 0.0


def test_a_space_goes_to_the_unit_cube_and_back() -> None:
    for space in (CLASSIFY_SPACE, SUPERRES_SPACE):
        config = space.sample(3)
        point = space.to_unit(config)
        assert point.shape == (len(space.searched()),)
        assert np.all((point >= 0) & (point <= 1))
        again = space.from_unit(point)
        for name in space.names():
            want = config[name]
            assert again[name] == (pytest.approx(want) if isinstance(want, float) else want), name
    with pytest.raises(LensSearchError, match="a point of 1 coordinates"):
        CLASSIFY_SPACE.from_unit([0.5])


def test_fixed_and_choice_values_outside_a_range() -> None:
    assert math.isnan(FixedParam("seed", 7).to_unit(7))
    assert math.isnan(ChoiceParam("f", (1, 2)).to_unit(3))
    assert ChoiceParam("f", (1, 2.5, "x")).largest() == 2.5
    assert FixedParam("name", "x").largest() is None
    with pytest.raises(LensSearchError, match="'3' is not one of its choices"):
        ChoiceParam("f", (1, 2)).parse("3")


def test_a_space_of_every_kind_renders_for_each_library() -> None:
    space = SearchSpace("all", tuple(KINDS))
    tuned = space.to_tune()
    assert tuned["seed"] == 7
    assert isinstance(tuned["lr"], tune.search.sample.Float)
    assert isinstance(tuned["layers"], tune.search.sample.Integer)
    study = optuna.create_study()
    trial = study.ask()
    assert space.define_by_run(trial) == {"seed": 7}
    assert set(trial.params) == set(space.searched())


def test_no_module_branches_on_the_kind_of_parameter() -> None:
    """``isinstance(x, FloatParam)`` and the like only inside ``spaces/params.py``."""
    chain = re.compile(r"isinstance\([^()]*\b(Float|Int|Choice|Fixed)Param\b")
    found = []
    for folder in ("bench", "lens_search"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "lens_search" / "spaces" / "params.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if chain.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)

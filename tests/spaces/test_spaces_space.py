"""SearchSpace rendered for Optuna, Ray Tune and keras-tuner, sampling and defaults."""

from __future__ import annotations

import keras_tuner
import numpy as np
import optuna
import pytest
from ray import tune

from lens_search.spaces import (
    CLASSIFY_SPACE,
    SUPERRES_SPACE,
    ChoiceParam,
    FixedParam,
    FloatParam,
    IntParam,
    SearchSpace,
)

CLASSIFY_KEYS = {
    "lr",
    "dropout",
    "cnn_width",
    "cnn_stages",
    "cnn_blocks",
    "rotation",
    "shear",
    "translation",
    "batch_size",
    "fine_tune_fraction",
}
SUPERRES_KEYS = {
    "lr",
    "num_layers",
    "filters_1",
    "filters_2",
    "filters_3",
    "filters_4",
    "kernel_size",
    "dropout",
    "flip",
    "rot90",
    "translation",
    "batch_size",
}
SPACES = [CLASSIFY_SPACE, SUPERRES_SPACE]


def assert_in_space(space: SearchSpace, config: dict) -> None:
    assert set(config) == set(space.names())
    for p in space.params:
        value = config[p.name]
        if isinstance(p, FloatParam):
            assert p.low <= value <= p.high, (p.name, value)
        elif isinstance(p, IntParam):
            assert p.low <= value <= p.high and (value - p.low) % p.step == 0, (p.name, value)
        elif isinstance(p, ChoiceParam):
            assert value in p.choices, (p.name, value)
        else:
            assert value == p.value


def test_config_keys_match_the_architecture() -> None:
    assert set(CLASSIFY_SPACE.names()) == CLASSIFY_KEYS
    assert set(SUPERRES_SPACE.names()) == SUPERRES_KEYS
    assert CLASSIFY_SPACE["lr"].log and SUPERRES_SPACE["lr"].log
    assert CLASSIFY_SPACE["rotation"].high == 0.5


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_defaults_and_samples_lie_in_the_space(space: SearchSpace) -> None:
    """``sample`` is random search's draw in ``bench.replay``."""
    assert_in_space(space, space.defaults())
    samples = [space.sample(np.random.default_rng(i)) for i in range(50)]
    for config in samples:
        assert_in_space(space, config)
    assert len({c["lr"] for c in samples}) == 50
    assert space.sample(3) == space.sample(3)


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_define_by_run_with_a_real_optuna_study(space: SearchSpace) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        fixed = space.define_by_run(trial)
        assert fixed == {}
        assert_in_space(space, {**trial.params, **fixed})
        study.tell(trial, 0.5)
    lr = study.trials[0].distributions["lr"]
    assert lr.log and lr.low == 1e-5


def test_define_by_run_returns_fixed_values() -> None:
    space = CLASSIFY_SPACE.with_overrides({"batch_size": 16, "dropout": 0.1})
    trial = optuna.create_study().ask()
    fixed = space.define_by_run(trial)
    assert fixed == {"batch_size": 16, "dropout": 0.1}
    assert "batch_size" not in trial.params
    assert set(trial.params) | set(fixed) == CLASSIFY_KEYS


def test_define_by_run_works_inside_ray_optuna_search() -> None:
    from ray.tune.search.optuna import OptunaSearch

    searcher = OptunaSearch(
        space=SUPERRES_SPACE.define_by_run,
        metric="val_psnr",
        mode="max",
        seed=1,
        points_to_evaluate=[SUPERRES_SPACE.defaults()],
    )
    first = searcher.suggest("t0")
    assert first == SUPERRES_SPACE.defaults()
    second = searcher.suggest("t1")
    assert_in_space(SUPERRES_SPACE, second)


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_to_tune_gives_ray_domains_that_sample_inside_the_space(space: SearchSpace) -> None:
    domains = space.to_tune()
    assert isinstance(domains["lr"], tune.search.sample.Float)
    assert isinstance(domains["batch_size"], tune.search.sample.Categorical)
    for _ in range(30):
        config = {k: (d.sample() if hasattr(d, "sample") else d) for k, d in domains.items()}
        assert_in_space(space, config)


def test_to_tune_integer_and_fixed() -> None:
    space = SearchSpace(
        "t", (IntParam("a", 2, 4), IntParam("b", 0, 10, step=5), FixedParam("c", "x"))
    )
    domains = space.to_tune()
    assert domains["c"] == "x"
    seen_a = {domains["a"].sample() for _ in range(60)}
    seen_b = {domains["b"].sample() for _ in range(60)}
    assert seen_a == {2, 3, 4} and seen_b == {0, 5, 10}


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_build_keras_tuner_declares_every_parameter(space: SearchSpace) -> None:
    hp = keras_tuner.HyperParameters()
    config = space.build_keras_tuner(hp)
    assert config == space.defaults()
    assert set(hp.values) == set(space.names())
    lr = hp._hps["lr"][0]
    assert lr.sampling == "log" and lr.min_value == 1e-5
    if "flip" in config:
        assert config["flip"] is True
    hp_fixed = keras_tuner.HyperParameters()
    assert space.with_overrides({"lr": 1e-3}).build_keras_tuner(hp_fixed)["lr"] == 1e-3

"""Space overrides from JSON and YAML files, and every user error naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lens_search.errors import LensSearchError
from lens_search.spaces import (
    CLASSIFY_SPACE,
    SUPERRES_SPACE,
    ChoiceParam,
    FixedParam,
    load_space_overrides,
)

OVERRIDES = {
    "lr": {"low": 1e-4, "high": 1e-3},
    "batch_size": 32,
    "dropout": {"choices": [0.1, 0.2]},
}


def check_overridden(space) -> None:
    assert (space["lr"].low, space["lr"].high, space["lr"].log) == (1e-4, 1e-3, True)
    assert space["batch_size"] == FixedParam("batch_size", 32)
    assert isinstance(space["dropout"], ChoiceParam) and space["dropout"].choices == (0.1, 0.2)
    assert space["rotation"] == CLASSIFY_SPACE["rotation"]
    defaults = space.defaults()
    assert 1e-4 <= defaults["lr"] <= 1e-3 and defaults["dropout"] in (0.1, 0.2)


def test_overrides_from_json(tmp_path: Path) -> None:
    path = tmp_path / "o.json"
    path.write_text(json.dumps(OVERRIDES))
    check_overridden(CLASSIFY_SPACE.with_overrides(load_space_overrides(path)))


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_overrides_from_yaml(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"o{suffix}"
    path.write_text(
        "lr: {low: 1.0e-4, high: 1.0e-3}\nbatch_size: 32\ndropout:\n  choices: [0.1, 0.2]\n"
    )
    check_overridden(CLASSIFY_SPACE.with_overrides(load_space_overrides(path)))


def test_other_override_forms() -> None:
    space = SUPERRES_SPACE.with_overrides(
        {
            "num_layers": {"low": 3},
            "flip": False,
            "batch_size": [8, 16],
            "kernel_size": {"value": 5},
            "lr": {"low": 1e-3, "high": 1e-3, "log": False},
        }
    )
    assert (space["num_layers"].low, space["num_layers"].high) == (3, 4)
    assert space["flip"] == FixedParam("flip", False)
    assert space["batch_size"].choices == (8, 16)
    assert space.defaults()["kernel_size"] == 5
    assert space.defaults()["lr"] == 1e-3
    assert SUPERRES_SPACE["num_layers"].low == 2  # the original is unchanged


def test_empty_yaml_means_no_overrides(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_space_overrides(path) == {}


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"learning_rate": 1e-3}, ["learning_rate", "valid names", "lr", "fine_tune_fraction"]),
        ({"lr": {"low": 1e-2, "high": 1e-4}}, ["lr", "inverted"]),
        ({"dropout": {"low": 0.4, "high": 0.1}}, ["dropout", "inverted"]),
        ({"lr": {"low": 0.0, "high": 1e-3}}, ["lr", "log", "low > 0"]),
        ({"batch_size": {"low": 8, "high": 64}}, ["batch_size", "wrong kind"]),
        ({"lr": "fast"}, ["lr", "wrong kind"]),
        ({"batch_size": "big"}, ["batch_size", "wrong kind"]),
        ({"dropout": {"lo": 0.1}}, ["dropout", "override keys"]),
        ({"dropout": {"choices": []}}, ["dropout", "choices"]),
    ],
)
def test_override_errors_name_the_parameter(overrides: dict, words: list[str]) -> None:
    with pytest.raises(LensSearchError) as info:
        CLASSIFY_SPACE.with_overrides(overrides)
    for word in words:
        assert word in str(info.value)


def test_integer_override_errors() -> None:
    with pytest.raises(LensSearchError, match="num_layers.*integer"):
        SUPERRES_SPACE.with_overrides({"num_layers": {"high": 3.5}})
    with pytest.raises(LensSearchError, match="flip.*true or false"):
        SUPERRES_SPACE.with_overrides({"flip": 1})


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("o.txt", "lr: 1", ["o.txt", "suffix"]),
        ("bad.json", "{lr: ", ["bad.json", "cannot parse"]),
        ("bad.yaml", "lr: [1, 2\n", ["bad.yaml", "cannot parse"]),
        ("list.json", "[1, 2]", ["list.json", "mapping"]),
    ],
)
def test_bad_override_files(tmp_path: Path, name: str, text: str, words: list[str]) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(LensSearchError) as info:
        load_space_overrides(path)
    for word in words:
        assert word in str(info.value)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(LensSearchError, match="nope.yaml"):
        load_space_overrides(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("space", "overrides", "words"),
    [
        (CLASSIFY_SPACE, {"lr": 0}, ["lr: value 0.0", "(0, 1]"]),
        (CLASSIFY_SPACE, {"lr": {"low": -1.0, "high": 1e-3, "log": False}}, ["lr: low -1.0"]),
        (CLASSIFY_SPACE, {"lr": {"high": 5.0}}, ["lr: high 5.0"]),
        (CLASSIFY_SPACE, {"dropout": {"high": 1.0}}, ["dropout: high 1.0", "[0, 1)"]),
        (CLASSIFY_SPACE, {"dropout": -0.1}, ["dropout: value -0.1"]),
        (CLASSIFY_SPACE, {"rotation": 1.5}, ["rotation: value 1.5", "[0, 1]"]),
        (CLASSIFY_SPACE, {"shear": {"choices": [0.1, -0.2]}}, ["shear: choice -0.2"]),
        (CLASSIFY_SPACE, {"translation": {"high": 2.0}}, ["translation: high 2.0"]),
        (CLASSIFY_SPACE, {"batch_size": [0, 16]}, ["batch_size: choice 0", "integer"]),
        (CLASSIFY_SPACE, {"batch_size": 12.5}, ["batch_size: value 12.5"]),
        (CLASSIFY_SPACE, {"fine_tune_fraction": 0}, ["fine_tune_fraction: value 0", "(0, 1]"]),
        (CLASSIFY_SPACE, {"fine_tune_fraction": [0.5, 1.5]}, ["fine_tune_fraction: choice 1.5"]),
        (SUPERRES_SPACE, {"num_layers": 5}, ["num_layers: value 5", "integer in [1, 4]"]),
        (SUPERRES_SPACE, {"num_layers": {"low": 0}}, ["num_layers: low 0"]),
        (SUPERRES_SPACE, {"filters_3": 0}, ["filters_3: value 0"]),
        (SUPERRES_SPACE, {"kernel_size": [3, -1]}, ["kernel_size: choice -1"]),
        (SUPERRES_SPACE, {"batch_size": -8}, ["batch_size: value -8"]),
        (SUPERRES_SPACE, {"translation": 1.1}, ["translation: value 1.1"]),
    ],
)
def test_values_the_model_cannot_train_with_are_refused(
    space, overrides: dict, words: list[str]
) -> None:
    with pytest.raises(LensSearchError) as info:
        space.with_overrides(overrides)
    assert "outside what the model accepts" in str(info.value)
    for word in words:
        assert word in str(info.value)


def test_ranges_may_widen_up_to_the_hard_bounds() -> None:
    space = CLASSIFY_SPACE.with_overrides(
        {"dropout": {"high": 0.9}, "lr": {"high": 1.0}, "batch_size": [1, 256]}
    )
    assert space["dropout"].high == 0.9 and space["batch_size"].choices == (1, 256)
    fixed = SUPERRES_SPACE.with_overrides({"num_layers": 1, "kernel_size": 7})
    assert fixed["num_layers"].valid == SUPERRES_SPACE["num_layers"].valid  # bounds carry over
    with pytest.raises(LensSearchError, match="num_layers: high 6"):
        fixed.with_overrides({"num_layers": {"low": 1, "high": 6}})  # a fixed value re-ranged


@pytest.mark.parametrize("space", [CLASSIFY_SPACE, SUPERRES_SPACE], ids=lambda s: s.name)
def test_every_numeric_parameter_declares_hard_bounds(space) -> None:
    """Every value a space can produce is checked: no number goes unbounded to the model."""
    for param in space.params:
        if isinstance(param, ChoiceParam) and param.is_bool:
            continue
        assert param.valid is not None, param.name

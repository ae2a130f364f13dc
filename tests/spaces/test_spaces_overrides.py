"""Space overrides from JSON and YAML files, and every user error naming what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lensing.errors import LensSearchError
from spaces import CLASSIFY_SPACE, SUPERRES_SPACE, ChoiceParam, FixedParam, load_space_overrides

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

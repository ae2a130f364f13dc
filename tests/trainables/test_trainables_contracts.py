"""The typed contract between the search and a trial: config keys and data splits."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import pytest

from lens_search.data.load import load_classification, load_superres
from lens_search.spaces import CLASSIFY_SPACE, SUPERRES_SPACE, SearchSpace
from lens_search.training.contracts import (
    ClassificationSplits,
    ClassifierConfig,
    SuperResConfig,
    SuperResSplits,
)


@pytest.mark.parametrize(
    ("config_type", "space"),
    [(ClassifierConfig, CLASSIFY_SPACE), (SuperResConfig, SUPERRES_SPACE)],
    ids=["classify", "superres"],
)
def test_config_keys_are_the_space_parameters(config_type: type, space: SearchSpace) -> None:
    """A parameter added to a space (or a key to a config) without the other fails here."""
    assert set(get_type_hints(config_type)) == {param.name for param in space.params}


def test_loaded_data_satisfies_the_split_protocols(
    tiny_classify_dir: Path, tiny_superres_dir: Path
) -> None:
    classify = load_classification(tiny_classify_dir)
    superres = load_superres(tiny_superres_dir)
    assert isinstance(classify, ClassificationSplits)
    assert not isinstance(classify, SuperResSplits)
    assert isinstance(superres, SuperResSplits)
    assert not isinstance(superres, ClassificationSplits)

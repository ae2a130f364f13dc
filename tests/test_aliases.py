"""The old top-level names (``search``, ``lensing``, ...) alias their ``lens_search`` modules.

Users' commands (``python -m search.classify``), their imports and checkpoints pickled before the
move name the old modules; each must be the very module of its new name, never a second copy.
"""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from lens_search._aliases import MOVED, ROOTS, new_name

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("search.config", "lens_search.search.config"),
        ("lensing.load", "lens_search.data.load"),
        ("lensing.errors", "lens_search.errors"),
        ("lensing.cli", "lens_search.cli"),
        ("trainables.tune", "lens_search.training.tune"),
        ("experiments.tasks.base", "lens_search.experiments.tasks.base"),
        ("results.leaderboard", "lens_search.results.leaderboard"),
        ("spaces.params", "lens_search.spaces.params"),
    ],
)
def test_an_old_name_is_the_same_module(old: str, new: str) -> None:
    assert new_name(old) == new
    assert importlib.import_module(old) is importlib.import_module(new)
    assert importlib.import_module(new).__spec__.name == new  # the alias leaves the real spec


def test_old_imports_give_the_same_classes() -> None:
    from search.config import SearchConfig as old_config

    from lens_search.errors import LensSearchError
    from lens_search.search.config import SearchConfig
    from lensing import LensSearchError as old_error

    assert old_error is LensSearchError and old_config is SearchConfig


def test_a_pickle_naming_an_old_module_loads() -> None:
    """A checkpoint written before the move names ``spaces.params``: it still loads."""
    from lens_search.spaces.params import FloatParam

    data = pickle.dumps(FloatParam("lr", 1e-4, 1e-2, log=True), protocol=2)
    old = data.replace(b"lens_search.spaces.params", b"spaces.params")
    assert b"lens_search" not in old
    assert pickle.loads(old) == FloatParam("lr", 1e-4, 1e-2, log=True)


def test_every_old_root_is_a_one_line_module_of_the_repository() -> None:
    for old in ROOTS:
        text = (REPO / f"{old}.py").read_text()
        assert "alias(__name__)" in text, old
        assert importlib.import_module(old) is importlib.import_module(ROOTS[old])
    assert set(MOVED.values()) == {"lens_search.errors", "lens_search.cli"}


def test_an_unknown_old_name_is_still_refused() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("search.no_such_module")


@pytest.mark.parametrize(
    "command",
    [
        ["search.classify", "--help"],
        ["results.retrain", "--help"],
        ["lensing.simulate", "--help"],
        ["lens_search.search.superres", "--help"],
    ],
)
def test_the_documented_commands_run_under_either_name(command: list[str], tmp_path: Path) -> None:
    """From another folder, as an installed user runs them: usage on stdout, exit status 0."""
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage: ")
    assert done.stderr == ""

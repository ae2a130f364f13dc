"""Every package lists its public names once (``__init__.pyi``) and imports them on first use."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = tuple(
    f"lens_search.{layer}"
    for layer in ("data", "spaces", "training", "experiments", "search", "results")
)
HEAVY = ("keras", "tensorflow", "ray", "optuna", "lenstronomy", "sklearn", "skimage", "pandas")


def stub_names(package: str) -> set[str]:
    """The names the package's ``__init__.pyi`` imports from its modules."""
    tree = ast.parse((ROOT.joinpath(*package.split(".")) / "__init__.pyi").read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    return {alias.name for node in imports for alias in node.names}


def test_importing_the_packages_loads_no_heavy_library() -> None:
    """``import lens_search.search`` (any layer, the root, an old name) starts no heavy library."""
    code = (
        "import json, sys\n"
        f"import lens_search, {', '.join(PACKAGES)}, search, lensing, trainables, results\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_from_the_package(package: str) -> None:
    module = importlib.import_module(package)
    extra = {"LensSearchError"} if package == "lens_search.data" else set()  # `from lensing import`
    assert set(module.__all__) == stub_names(package) | extra
    assert sorted(dir(module)) == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018

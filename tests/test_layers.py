"""The layers import each other only downward, and private Ray/Optuna names stay in adapters.

Everything lives under one root, ``lens_search``; its layers, lowest first (docs/ARCHITECTURE.md):
the root's own modules (``errors``, ``cli`` and ``_`` internals), ``data``, ``spaces``,
``training``, ``experiments``, then ``results`` and ``search`` side by side (``search`` may use
``results`` only to write the leaderboard), and ``bench`` on top (nothing in ``lens_search``
imports it). Imports inside functions count as well: they run as soon as the function does. The
old top-level names (``search``, ``lensing``, ...) are aliases kept for old commands and imports
(``lens_search._aliases``): no module of the project may import through them.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOT = "lens_search"
LAYERS = {
    "lens_search": 0,  # the root's own modules: errors, cli, _aliases, _native_output
    "lens_search.data": 1,
    "lens_search.spaces": 2,
    "lens_search.training": 3,
    "lens_search.experiments": 4,
    "lens_search.results": 5,
    "lens_search.search": 5,
    "bench": 6,
}
OLD_NAMES = ("lensing", "spaces", "trainables", "experiments", "search", "results")
"""The aliases of ``lens_search._aliases``: for users' old imports, never for the project's own."""
ALLOWED_SIDEWAYS = {("lens_search.search", "lens_search.results.leaderboard")}
"""Imports between packages of one layer that are allowed: the search writes the leaderboard."""
MODEL_LIBRARIES = ("keras", "tensorflow", "tf_keras")
"""What ``search`` never imports: it schedules trials, ``training`` owns the models."""

PRIVATE_API_ADAPTERS = ("*adapter*.py",)
"""Files (patterns relative to the repository) that may touch private Ray and Optuna names."""
PRIVATE_ATTRIBUTES = ("_experiment_analysis", "_ot_*", "_completed_trials")
PRIVATE_MODULE_ROOTS = ("ray", "optuna")


def layer_of(module: str) -> str | None:
    """The layer (a key of ``LAYERS``) a dotted module name belongs to, or None if not ours."""
    parts = module.split(".")
    if parts[0] == "bench":
        return "bench"
    if parts[0] != ROOT:
        return None
    if len(parts) > 1 and f"{ROOT}.{parts[1]}" in LAYERS:
        return f"{ROOT}.{parts[1]}"
    return ROOT


def package_modules() -> Iterator[tuple[str, Path]]:
    """(layer, file) for every module of the project: ``lens_search`` and ``bench``."""
    for folder in (REPO / ROOT, REPO / "bench"):
        for path in sorted(folder.rglob("*.py")):
            dotted = ".".join(path.relative_to(REPO).with_suffix("").parts)
            layer = layer_of(dotted)
            assert layer is not None, path
            yield layer, path


def imported_modules(tree: ast.AST) -> Iterator[tuple[str, list[str]]]:
    """(module, names taken from it) for every import in ``tree``, however deep."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def upward_imports(package: str, tree: ast.AST) -> list[str]:
    """The imports of ``tree`` (a module of ``package``) that do not run downward."""
    found = []
    for module, _ in imported_modules(tree):
        other = layer_of(module)
        if other is None or other == package:
            continue
        if LAYERS[other] < LAYERS[package]:
            continue
        if any(module.startswith(allowed) for p, allowed in ALLOWED_SIDEWAYS if p == package):
            continue
        found.append(module)
    return found


def private_uses(tree: ast.AST) -> list[str]:
    """Private Ray/Optuna names touched in ``tree``: private modules and attributes."""
    found = []
    for module, names in imported_modules(tree):
        parts = module.split(".")
        if parts[0] not in PRIVATE_MODULE_ROOTS:
            continue
        if any(p.startswith("_") for p in parts[1:]):
            found.append(module)
        found += [f"{module}.{name}" for name in names if name.startswith("_")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if any(fnmatch.fnmatchcase(node.attr, name) for name in PRIVATE_ATTRIBUTES):
                found.append(f".{node.attr}")
    return found


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def _is_adapter(relative: str) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in PRIVATE_API_ADAPTERS) or any(
        fnmatch.fnmatchcase(Path(relative).name, pattern) for pattern in PRIVATE_API_ADAPTERS
    )


def test_imports_run_downward_only() -> None:
    upward = {
        _relative(path): found
        for package, path in package_modules()
        if (found := upward_imports(package, _tree(path)))
    }
    assert upward == {}


def test_no_module_imports_through_an_old_name() -> None:
    """``from search.run import x`` in the project would go through the aliases: not allowed."""
    old = {
        _relative(path): module
        for _, path in package_modules()
        for module, _ in imported_modules(_tree(path))
        if module.split(".")[0] in OLD_NAMES
    }
    assert old == {}


def test_every_module_of_the_project_is_checked() -> None:
    seen = {layer for layer, _ in package_modules()}
    assert seen == set(LAYERS)


def test_search_imports_no_model_library() -> None:
    direct = {
        _relative(path): module
        for package, path in package_modules()
        if package in ("lens_search.search", "lens_search.experiments")
        for module, _ in imported_modules(_tree(path))
        if module.split(".")[0] in MODEL_LIBRARIES
    }
    assert direct == {}


def test_search_cli_loads_no_model_library_before_training() -> None:
    """Also nothing the search imports pulls Keras or TensorFlow in on its way (checked live)."""
    modules = [
        f"lens_search.search.{p.stem}"
        for p in sorted((REPO / ROOT / "search").glob("*.py"))
        if p.stem not in ("__init__", "localcluster")
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {MODEL_LIBRARIES!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_private_ray_and_optuna_names_only_in_adapters() -> None:
    leaks = {
        relative: found
        for _, path in package_modules()
        if not _is_adapter(relative := _relative(path))
        if (found := private_uses(_tree(path)))
    }
    assert leaks == {}


def test_the_checks_see_what_they_refuse() -> None:
    """The parsers above find an upward import inside a function and each kind of private use."""
    upward = ast.parse("def f():\n    from lens_search.search.tasks import TASKS\n")
    results, search = "lens_search.results", "lens_search.search"
    assert upward_imports(results, upward) == ["lens_search.search.tasks"]
    leaderboard = ast.parse("from lens_search.results.leaderboard import x")
    assert upward_imports(search, leaderboard) == []
    plots = ast.parse("import lens_search.results.plots")
    assert upward_imports(search, plots) == ["lens_search.results.plots"]
    assert upward_imports("lens_search", ast.parse("import bench.replay")) == ["bench.replay"]
    assert upward_imports("lens_search.data", ast.parse("import lens_search.cli")) == []
    private = ast.parse(
        "from ray._raylet import GcsClient\nfrom ray import _private\n"
        "grid._experiment_analysis.trials\nself._ot_study\n"
    )
    assert sorted(private_uses(private)) == [
        "._experiment_analysis",
        "._ot_study",
        "ray._private",
        "ray._raylet",
    ]
    assert _is_adapter("lens_search/experiments/ray_adapter.py")
    assert not _is_adapter("lens_search/search/run.py")

"""The names lens-search's packages had before they moved under ``lens_search``.

``python -m search.classify``, ``from search.config import SearchConfig`` and a Ray checkpoint
pickled with ``trainables.tune`` keep working: each old name is an alias of its new module, the
very same module object (one copy, one set of classes), never a second import of the file.

Contract: ``install()`` puts one finder first on ``sys.meta_path``; ``alias(old)`` (called by the
one-line top-level modules ``search.py``, ``results.py``, ...) makes ``sys.modules[old]`` the new
package. New code imports ``lens_search``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import CodeType, ModuleType

ROOTS = {
    "lensing": "lens_search.data",
    "spaces": "lens_search.spaces",
    "trainables": "lens_search.training",
    "experiments": "lens_search.experiments",
    "search": "lens_search.search",
    "results": "lens_search.results",
}
MOVED = {"lensing.errors": "lens_search.errors", "lensing.cli": "lens_search.cli"}


def new_name(old: str) -> str:
    """The new name of an old module name: ``trainables.tune`` -> ``lens_search.training.tune``."""
    for before, after in MOVED.items():
        if old == before or old.startswith(before + "."):
            return after + old[len(before) :]
    root, dot, rest = old.partition(".")
    return ROOTS[root] + dot + rest


class _AliasLoader(importlib.abc.Loader):
    """Hands out the new module as the old name's module; ``get_code`` serves ``python -m``."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec  # the import system set the alias's spec on the real module

    def get_code(self, fullname: str) -> CodeType | None:
        spec = importlib.util.find_spec(self.target)
        loader = spec.loader if spec is not None else None
        if not isinstance(loader, importlib.abc.InspectLoader):
            return None
        return loader.get_code(self.target)

    def is_package(self, fullname: str) -> bool:
        spec = importlib.util.find_spec(self.target)
        return spec is not None and spec.submodule_search_locations is not None


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in ROOTS or "." not in fullname:
            return None  # a root itself is its own one-line module, which calls alias()
        new = new_name(fullname)
        real = importlib.util.find_spec(new)
        if real is None:
            return None
        return importlib.util.spec_from_loader(
            fullname,
            _AliasLoader(new),
            origin=real.origin,
            is_package=real.submodule_search_locations is not None,
        )


def install() -> None:
    """Put the alias finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())


def alias(old: str) -> None:
    """Make the old top-level name ``old`` the new package (called from its one-line module)."""
    install()
    sys.modules[old] = importlib.import_module(ROOTS[old])

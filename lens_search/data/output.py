"""Data-set folders that are written whole or not at all, and reused when their manifest matches."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from lens_search.errors import LensSearchError

MANIFEST = "manifest.json"
PARAMETERS = "parameters.csv"
VERSIONED_PACKAGES = ("lens-search", "lenstronomy", "numpy", "scipy")


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape the simulated bytes (``none`` when not installed)."""
    versions = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "none"
    return versions


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``, or None when it has none or it is not valid JSON."""
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def matches(folder: Path, request: dict[str, Any]) -> bool:
    """True when ``folder`` holds a finished data set made by the same ``request``."""
    manifest = read_manifest(folder)
    return manifest is not None and manifest.get("request") == request


def check_target(folder: Path, request: dict[str, Any]) -> bool:
    """True to reuse ``folder``, False to simulate into it; refuses a folder of other data."""
    if not folder.exists():
        return False
    if not folder.is_dir():
        raise LensSearchError(f"{folder}: exists and is not a folder; choose another --out")
    if matches(folder, request):
        return True
    if any(folder.iterdir()):
        raise LensSearchError(
            f"{folder}: not empty and not a data set made with these settings; refusing to "
            "overwrite it (choose another --out or delete it)"
        )
    return False


@contextmanager
def staging_folder(folder: Path) -> Iterator[Path]:
    """A hidden sibling of ``folder`` to write into; removed if the block does not finish."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, folder: Path, request: dict[str, Any]) -> bool:
    """Rename ``staging`` to ``folder`` atomically; False when a twin process published first."""
    try:
        os.rename(staging, folder)
        return True
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not matches(folder, request):
            raise LensSearchError(f"{folder}: could not publish the data set: {exc}") from exc
        return False


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json``; written last, so its presence means the data set is complete."""
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def write_parameters(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Write one CSV row per image with the union of all rows' columns (blank where absent)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    with open(folder / PARAMETERS, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), restval="")
        writer.writeheader()
        writer.writerows(rows)


def build_once(
    folder: Path,
    request: dict[str, Any],
    build: Callable[[Path], dict[str, Any]],
    say: Callable[[str], None],
) -> Path:
    """Reuse ``folder`` if it matches ``request``; else run ``build(staging)`` and publish it."""
    if check_target(folder, request):
        say(f"reusing existing data set {folder} (manifest matches)")
        return folder
    with staging_folder(folder) as staging:
        manifest = build(staging)
        write_manifest(staging, {"request": request, **manifest})
        if not publish(staging, folder, request):
            say(f"reusing data set {folder} finished meanwhile by another process")
    return folder

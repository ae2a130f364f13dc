"""Room for the files an embedded Ray and the search write: free space and the file-size limit.

Ray's processes write their session files (sockets, logs, ports) under Ray's temp folder and
size their object store from the machine's memory; the search writes checkpoints to the
storage. On a full disk or under a file-size limit (``ulimit -f``) Ray's own processes die
while starting, and ``ray.init`` gives up about 30 s later with "The current node timed out
during startup" or "Timed out waiting for file ...": these turn that into one line naming the
likely cause and where.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
from pathlib import Path

from lens_search.errors import LensSearchError
from lens_search.experiments.storage import is_uri

MIN_FREE_BYTES = 100 * 2**20
"""Free space below which Ray's session files or a trial's checkpoint are likely not to fit."""


def ray_temp_folder() -> Path:
    """Where an embedded Ray keeps its session files: ``$RAY_TMPDIR/ray``, else (on Linux)
    ``$TMPDIR/ray``, else ``/tmp/ray`` (the order Ray documents and follows)."""
    base = os.environ.get("RAY_TMPDIR")
    if base is None and sys.platform.startswith("linux"):
        base = os.environ.get("TMPDIR")
    return Path(base or "/tmp") / "ray"


def check_room(storage: str) -> None:
    """Refuse to start an embedded Ray where a full disk would stop it (LensSearchError)."""
    problem = _low_space(storage)
    if problem is not None:
        raise LensSearchError(problem)


def startup_failure(storage: str) -> LensSearchError | None:
    """After an embedded Ray failed to start: the error naming the likely cause, else None."""
    problem = _file_size_limit() or _low_space(storage)
    return None if problem is None else LensSearchError(f"Ray could not start: {problem}")


def _file_size_limit() -> str | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft == resource.RLIM_INFINITY:
        return None
    return (
        f"a file-size limit of {_size(soft)} is in force (ulimit -f {soft // 1024}), and Ray's "
        f"own files (its object store, its session files in {ray_temp_folder()}) grow past it; "
        "raise it (ulimit -f unlimited) and run again"
    )


def _low_space(storage: str) -> str | None:
    places = [("Ray's temp folder", ray_temp_folder())]
    if not is_uri(storage):
        places.append(("the storage", Path(storage)))
    for what, folder in places:
        free = _free_bytes(folder)
        if free is not None and free < MIN_FREE_BYTES:
            return (
                f"too little space at {what} {folder} ({_size(free)} free on its disk, at least "
                f"{_size(MIN_FREE_BYTES)} needed); free some space"
                + (" or point RAY_TMPDIR at another disk" if what.startswith("Ray") else "")
            )
    return None


def _free_bytes(folder: Path) -> int | None:
    """Free bytes on the disk of ``folder`` (of its nearest existing parent), None if unknown."""
    for place in (folder, *folder.parents):
        try:
            return shutil.disk_usage(place).free
        except OSError:
            continue
    return None


def _size(count: int) -> str:
    value, unit = float(count), "B"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.4g} {unit}"

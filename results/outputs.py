"""Output folders of the results CLIs: written whole or not at all, never over earlier output.

Everything is written into a hidden sibling folder first and renamed into place at the end, so a
failure (or Ctrl-C) leaves no partial output folder; an existing folder is replaced only with
``force=True``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lensing.cli import native_stderr_silenced
from lensing.errors import LensSearchError
from lensing.output import staging_folder

__all__ = [
    "check_new_file",
    "check_writable",
    "native_stderr_silenced",
    "output_folder",
    "quiet_keras_import",
]


def quiet_keras_import() -> None:
    """Import Keras (and TensorFlow) with their native stderr lines hidden.

    TensorFlow prints CUDA-probe lines on file descriptor 2 whatever TF_CPP_MIN_LOG_LEVEL says,
    and a user error must still be one line (``lensing.cli.native_stderr_silenced``).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with native_stderr_silenced():
        import keras  # noqa: F401


def check_writable(out: str | Path, force: bool) -> Path:
    """``out`` as a Path; LensSearchError if it exists and ``force`` is not given."""
    folder = Path(out).expanduser()
    if folder.exists() and not folder.is_dir():
        raise LensSearchError(f"{folder}: exists and is not a folder; choose another --out")
    if folder.exists() and not force:
        raise LensSearchError(
            f"{folder}: already exists; pass --force to replace it or choose another --out"
        )
    return folder


@contextmanager
def output_folder(out: str | Path, force: bool) -> Iterator[Path]:
    """Yield a staging folder that becomes ``out`` when the block finishes without error."""
    folder = check_writable(out, force)
    with staging_folder(folder) as staging:
        yield staging
        check_writable(folder, force)  # someone may have created it meanwhile
        _replace(staging, folder)


def _replace(staging: Path, folder: Path) -> None:
    """Move ``staging`` to ``folder``; an old ``folder`` is removed only once the new one is in."""
    old = None
    if folder.exists():
        old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(folder, old)
    try:
        os.rename(staging, folder)
    except OSError as exc:
        if old is not None:
            os.rename(old, folder)
        raise LensSearchError(f"{folder}: could not write the output folder: {exc}") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_new_file(path: str | Path, force: bool) -> None:
    """LensSearchError if the local file ``path`` exists and ``force`` is not given."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise LensSearchError(f"{target}: is a folder; expected a file name")
    if target.exists() and not force:
        raise LensSearchError(
            f"{target}: already exists; pass --force to overwrite it or choose another file"
        )

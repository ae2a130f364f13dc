"""Where experiments live: local folders or URIs (s3://, gs://), checked before a search starts."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow.fs

from lensing.errors import LensSearchError


def is_uri(storage: str) -> bool:
    """True for storage such as s3://bucket/runs, False for a local path."""
    return "://" in storage


def resolve_storage(storage: str) -> str:
    """A local path made absolute (Ray Tune needs that); a URI unchanged."""
    return storage.rstrip("/") if is_uri(storage) else str(Path(storage).expanduser().resolve())


def experiment_path(storage: str, name: str) -> str:
    """The folder of experiment ``name`` under ``storage``."""
    return f"{resolve_storage(storage)}/{name}"


def _filesystem(path: str) -> tuple[pyarrow.fs.FileSystem, str]:
    try:
        return pyarrow.fs.FileSystem.from_uri(path)
    except (pyarrow.ArrowInvalid, OSError) as exc:
        raise LensSearchError(f"cannot open storage {path}: {exc}") from exc


def ensure_writable(storage: str) -> None:
    """Create ``storage`` if needed and prove it can be written, or raise LensSearchError."""
    root = resolve_storage(storage)
    if not is_uri(root):
        _ensure_local_writable(Path(root))
        return
    fs, base = _filesystem(root)
    probe = f"{base}/.write-probe-{uuid.uuid4().hex}"
    try:
        fs.create_dir(base, recursive=True)
        with fs.open_output_stream(probe) as out:
            out.write(b"ok")
        fs.delete_file(probe)
    except OSError as exc:
        raise LensSearchError(f"storage {root} cannot be written: {exc}") from exc


def _ensure_local_writable(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LensSearchError(f"storage {root} cannot be created: {exc.strerror}") from exc
    if not root.is_dir():
        raise LensSearchError(f"storage {root} is not a folder")
    if not os.access(root, os.W_OK | os.X_OK):
        raise LensSearchError(f"storage {root} cannot be written (permission denied)")
    probe = root / f".write-probe-{uuid.uuid4().hex}"
    try:
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise LensSearchError(f"storage {root} cannot be written: {exc.strerror}") from exc


def experiment_exists(path: str) -> bool:
    """True if anything is already stored at ``path``."""
    fs, base = _filesystem(path)
    try:
        info = fs.get_file_info(base)
    except OSError as exc:
        raise LensSearchError(f"cannot read storage {path}: {exc}") from exc
    return info.type != pyarrow.fs.FileType.NotFound


def list_experiments(storage: str) -> list[str]:
    """Names of the experiments stored under ``storage`` (for error messages)."""
    fs, base = _filesystem(resolve_storage(storage))
    try:
        infos = fs.get_file_info(pyarrow.fs.FileSelector(base, allow_not_found=True))
    except OSError:
        return []
    return sorted(i.base_name for i in infos if i.type == pyarrow.fs.FileType.Directory)

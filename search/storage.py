"""Where experiments live: local folders or URIs (s3://, gs://), checked before a search starts."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow.fs
from ray.tune import Callback

from lensing.errors import LensSearchError

LOCAL_PROBE_EVERY_S = 1.0
REMOTE_PROBE_EVERY_S = 30.0


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


def storage_problem(fs: pyarrow.fs.FileSystem, folder: str, must_hold: str) -> str | None:
    """What keeps ``folder`` of ``fs`` (holding the file ``must_hold``) from being written.

    None if it can be written. Unlike ``ensure_writable`` this creates nothing; a folder that was
    removed and created again by someone else (it lacks ``must_hold``) counts as gone.
    """
    try:
        if fs.get_file_info(f"{folder}/{must_hold}").type != pyarrow.fs.FileType.File:
            return "is gone"
        probe = f"{folder}/.write-probe-{uuid.uuid4().hex}"
        with fs.open_output_stream(probe) as out:
            out.write(b"ok")
        fs.delete_file(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc).splitlines()[0]
        return f"cannot be written ({reason})"
    return None


class StorageLostError(LensSearchError):
    """The experiment folder stopped being writable while the search ran."""


class StorageWatch(Callback):
    """Ends a search as soon as its experiment folder is gone or cannot be written.

    Without it Ray Tune goes on: every trial fails on its next checkpoint, is retried and marked
    errored, all remaining samples start and fail the same way, and ``fit`` finally raises with
    pages of tracebacks. Raising here stops Tune before it overwrites anything, so the state it
    saved last stays on storage and ``--resume`` continues from it once the storage is back.
    """

    def __init__(self, must_hold: str) -> None:
        self.must_hold = must_hold
        self._next_probe = 0.0

    def __getstate__(self) -> dict[str, Any]:  # pickled with the Tuner: no clock across runs
        return {"must_hold": self.must_hold, "_next_probe": 0.0}

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if not trials or time.monotonic() < self._next_probe:
            return
        storage = trials[0].storage
        fs, folder = storage.storage_filesystem, storage.experiment_fs_path
        local = isinstance(fs, pyarrow.fs.LocalFileSystem)
        every = LOCAL_PROBE_EVERY_S if local else REMOTE_PROBE_EVERY_S
        self._next_probe = time.monotonic() + every
        problem = storage_problem(fs, folder, self.must_hold)
        if problem is not None:
            shown = folder if local else f"{fs.type_name}://{folder}"
            raise StorageLostError(
                f"experiment folder {shown} {problem}; the search stopped and its last saved "
                f"state is kept: fix the storage, then continue with --resume "
                f"--name {folder.rstrip('/').rsplit('/', 1)[-1]}"
            )

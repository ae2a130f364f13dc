"""Where experiments live: local folders or URIs (s3://, gs://), their files and who may write them.

Every check of "local path or storage URI" goes through ``is_uri``; every file an experiment
holds is read and written through ``filesystem`` (pyarrow), so local folders and buckets behave
the same.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat
import uuid
from pathlib import Path
from typing import Any

import pyarrow.fs

from lens_search.errors import LensSearchError


def is_uri(path: str | Path) -> bool:
    """True for storage such as s3://bucket/runs, False for a local path."""
    return "://" in str(path)


def absolute(path: str, what: str = "") -> str:
    """A local path made absolute (Ray Tune needs that); a URI unchanged.

    LensSearchError for a path that cannot be resolved (a symbolic link loop); ``what`` names
    the path in the error (e.g. ``"storage "``).
    """
    if is_uri(path):
        return path
    try:
        return str(Path(path).expanduser().resolve())
    except (RuntimeError, OSError) as exc:  # RuntimeError: Python < 3.13's "Symlink loop from"
        looped = isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP
        reason = "a symbolic link loop (a link that leads back to itself)" if looped else exc
        raise LensSearchError(f"{what}{path} cannot be used: {reason}") from exc


def resolve_storage(storage: str) -> str:
    """Storage as Ray Tune is given it: a local path made absolute, a URI without a final /."""
    return storage.rstrip("/") if is_uri(storage) else absolute(storage, "storage ")


def experiment_path(storage: str, name: str) -> str:
    """The folder of experiment ``name`` under ``storage``."""
    return f"{resolve_storage(storage)}/{name}"


def experiment_name(experiment: str) -> str:
    """The experiment's name: the last part of its folder or URI."""
    return experiment.rstrip("/").rsplit("/", 1)[-1]


def default_out(experiment: str, folder: str) -> Path:
    """Where a results command writes by default: ``EXPERIMENT/folder``.

    For a storage URI (nothing local to write into), ``./<name>-folder``.
    """
    if is_uri(experiment):
        return Path.cwd() / f"{experiment_name(experiment)}-{folder}"
    return Path(experiment).expanduser() / folder


def filesystem(path: str, what: str = "") -> tuple[pyarrow.fs.FileSystem, str]:
    """pyarrow's filesystem of a local path or URI and the path in it; LensSearchError if none.

    ``what`` names the path in the error (e.g. ``"storage "``).
    """
    try:
        return pyarrow.fs.FileSystem.from_uri(absolute(path))
    except (pyarrow.ArrowInvalid, OSError) as exc:
        raise LensSearchError(f"cannot open {what}{path}: {exc}") from exc


def write_text(path: str, text: str) -> None:
    """Write a small text file to a local path (atomically: temp file + rename) or a URI."""
    if not is_uri(path):
        target = Path(absolute(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        temp.write_text(text)
        os.replace(temp, target)
        return
    fs, where = filesystem(path)
    fs.create_dir(where.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(where) as out:
        out.write(text.encode())


def read_text(path: str) -> str | None:
    """The text of a small file at a local path or URI, or None if there is none."""
    fs, where = filesystem(path)
    try:
        with fs.open_input_stream(where) as stream:
            return stream.read().decode()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if fs.get_file_info(where).type == pyarrow.fs.FileType.NotFound:
            return None
        raise LensSearchError(f"cannot read {path}: {exc}") from exc


def ensure_writable(storage: str) -> None:
    """Create ``storage`` if needed and prove it can be written, or raise LensSearchError."""
    root = resolve_storage(storage)
    if not is_uri(root):
        _ensure_local_writable(Path(root))
        return
    fs, base = filesystem(root, "storage ")
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


def list_experiments(storage: str) -> list[str]:
    """Names of the experiments stored under ``storage`` (for error messages)."""
    fs, base = filesystem(resolve_storage(storage), "storage ")
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


def refuse_shared_writable(experiment: str) -> None:
    """Refuse a local experiment folder that someone else could have written into.

    Ray unpickles ``tuner.pkl``, its searcher state and the trials' ``params.pkl`` on --resume and
    when results are read, so whoever can write them can run code as the reader. The folder and
    everything in it must belong to the reader and be writable by nobody else (neither group nor
    world). Storage URIs are not checked: their access rules live in the bucket
    (docs/RELIABILITY.md).
    """
    if is_uri(experiment):
        return
    root = Path(absolute(experiment))
    if not root.is_dir():
        return
    for folder, subfolders, files in os.walk(root):
        for name in (".", *subfolders, *files):
            path = Path(folder) / name if name != "." else Path(folder)
            problem = _writable_by_others(path)
            if problem:
                raise LensSearchError(
                    f"{path} {problem}; Ray would unpickle files from {root} that others can "
                    "change (run code as you), so it is not read: make it yours alone "
                    "(chown -R, chmod -R go-w) or copy it to a folder of your own"
                )


def write_private() -> None:
    """Create files writable by their owner only (umask at least 022), so Ray's too.

    The embedded Ray inherits it; under a umask of 002 (Ubuntu's default for users with a group
    of their own) experiments would otherwise be group-writable and refused when read back.
    """
    os.umask(os.umask(0o022) | 0o022)


def _writable_by_others(path: Path) -> str | None:
    """Why other users could write ``path``, or None."""
    try:
        info = path.stat()
    except OSError:
        return None  # vanished or a dangling link: Ray will not read it either
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.getuid():
        return f"is owned by another user ({_name(pwd.getpwuid, info.st_uid, 'uid')})"
    if mode & stat.S_IWOTH:
        return f"is writable by every user (mode {mode:o})"
    if mode & stat.S_IWGRP:
        return f"is writable by the group {_name(grp.getgrgid, info.st_gid, 'gid')} (mode {mode:o})"
    return None


def _name(lookup: Any, number: int, kind: str) -> str:
    try:
        entry = lookup(number)
    except KeyError:
        return f"{kind} {number}"
    return entry[0]

"""The claim a search holds on its experiment folder, so that two searches never share one.

A new search creates its folder with one exclusive ``mkdir`` (of two searches started together,
exactly one succeeds), and every search, new or ``--resume``, holds an exclusive ``flock`` on
``EXPERIMENT/.lens-search.lock`` for as long as it runs. The kernel drops that lock when the
process ends, however it ends (SIGKILL included), so a killed search never blocks a later
``--resume``; a folder that a killed search left holding nothing but the lock file is taken
over by the next search of that name.

Local folders and ``file://`` URIs get both guarantees. On other URIs (``s3://``, ``gs://``)
object stores offer neither an exclusive create nor a lock through pyarrow: the claim there is a
check and a marker file, which stops a second search started after the first one's marker was
written, not one started in the same instant (docs/RELIABILITY.md).

Example:
    >>> with claim_experiment("/data/runs/r", resume=False):
    ...     ...  # run the search; the folder is ours until the block ends
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import uuid
from pathlib import Path
from types import TracebackType

import pyarrow.fs

from lens_search.errors import LensSearchError
from lens_search.experiments.storage import experiment_name, filesystem, is_uri

LOCK_FILE = ".lens-search.lock"

log = logging.getLogger(__name__)


class ExperimentInUseError(LensSearchError):
    """Another search is running this experiment right now."""


class ExperimentClaim:
    """The hold of one search on its experiment folder; a context manager.

    Leaving the ``with`` block gives the lock back. When the block ends with an exception and
    the folder still holds nothing but the lock file this claim created, the folder is removed,
    so a search refused after its claim leaves no trace and its ``--name`` stays free.
    """

    def __init__(self, path: str, lock: Path | None, fd: int | None, created: bool) -> None:
        self.path = path
        self._lock = lock
        self._fd = fd
        self._created = created

    def __enter__(self) -> ExperimentClaim:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None and self._created:
            self._remove_if_untouched()
        self.release()

    def release(self) -> None:
        """Give the lock back (the lock file stays: unlinking it would race with other holders)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _remove_if_untouched(self) -> None:
        if self._lock is None:
            _remove_remote_claim(self.path)
            return
        folder = self._lock.parent
        if _entries(folder) == {LOCK_FILE}:
            self._lock.unlink()
            folder.rmdir()


def claim_experiment(path: str, resume: bool) -> ExperimentClaim:
    """Claim experiment ``path`` for this process, or raise LensSearchError (nothing changed).

    A new search (``resume`` False) creates the folder; a ``--resume`` needs it to exist. Either
    is refused while another search holds the experiment.
    """
    local = _local_path(path)
    if local is None:
        return _claim_remote(path, resume)
    if not resume:
        return _claim_new(path, local)
    lock = local / LOCK_FILE
    fd = _open_lock(lock, create=True)
    if not _try_lock(fd, lock):
        os.close(fd)
        raise _in_use(path, lock, resume=True)
    _write_owner(fd)
    return ExperimentClaim(path, lock, fd, created=False)


def check_unclaimed(path: str, resume: bool) -> None:
    """Refuse at once what ``claim_experiment`` would refuse; changes nothing (the claim decides).

    A new search of an existing ``path`` is refused, except a folder that a killed search left
    holding only its free lock file (the claim takes it over); a ``--resume`` is refused while
    another search holds the experiment.
    """
    local = _local_path(path)
    if local is None:
        if not resume and _remote_exists(path):
            raise _exists(path)
        return
    if resume:
        if (local / LOCK_FILE).is_file() and _held(local / LOCK_FILE):
            raise _in_use(path, local / LOCK_FILE, resume=True)
        return
    if not local.exists() and not local.is_symlink():
        return
    lock = local / LOCK_FILE
    if lock.is_file() and _held(lock):
        raise _in_use(path, lock, resume=False)
    if not _abandoned(local):
        raise _exists(path)


def _claim_new(path: str, folder: Path) -> ExperimentClaim:
    lock = folder / LOCK_FILE
    try:
        folder.mkdir()
    except FileExistsError:
        return _take_over(path, folder)
    except OSError as exc:
        raise LensSearchError(f"cannot create experiment folder {folder}: {exc.strerror}") from exc
    fd = _open_lock(lock, create=True)
    if not _try_lock(fd, lock):  # taken over in the instant between mkdir and flock
        os.close(fd)
        raise _in_use(path, lock, resume=False)
    _write_owner(fd)
    return ExperimentClaim(path, lock, fd, created=True)


def _take_over(path: str, folder: Path) -> ExperimentClaim:
    """The folder exists: take it only if a killed search left nothing in it but a free lock."""
    lock = folder / LOCK_FILE
    if not _abandoned(folder):
        if lock.is_file() and _held(lock):
            raise _in_use(path, lock, resume=False)
        raise _exists(path)
    fd = _open_lock(lock, create=False)
    if not _try_lock(fd, lock):
        os.close(fd)
        raise _in_use(path, lock, resume=False)
    if _entries(folder) != {LOCK_FILE}:  # another search took it over and wrote before we locked
        os.close(fd)
        raise _exists(path)
    _write_owner(fd)
    return ExperimentClaim(path, lock, fd, created=True)


def _abandoned(folder: Path) -> bool:
    """True for a folder holding nothing but a lock file that nobody holds."""
    return (
        folder.is_dir()
        and not folder.is_symlink()
        and _entries(folder) == {LOCK_FILE}
        and not _held(folder / LOCK_FILE)
    )


def _entries(folder: Path) -> set[str]:
    try:
        return {entry.name for entry in folder.iterdir()}
    except OSError:
        return set()


def _open_lock(lock: Path, create: bool) -> int:
    flags = os.O_RDWR | (os.O_CREAT if create else 0) | os.O_NOFOLLOW
    try:
        return os.open(lock, flags, 0o600)  # not inherited by Ray's child processes (PEP 446)
    except OSError as exc:
        raise LensSearchError(f"cannot open the lock file {lock}: {exc.strerror}") from exc


def _try_lock(fd: int, lock: Path) -> bool:
    """Lock ``fd`` (the open ``lock`` file); False if another process holds it.

    A file system without locks (some FUSE mounts, NFS mounted ``nolock``) counts as locked,
    with a warning: the exclusive ``mkdir`` still keeps two new searches apart there.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise
        log.warning(
            "the file system of %s cannot lock files (%s): two --resume runs of it at once "
            "are not kept apart",
            lock.parent,
            exc.strerror,
        )
    return True


def _held(lock: Path) -> bool:
    """Whether a running process holds ``lock`` (tested with a shared lock, dropped at once)."""
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _write_owner(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)


def _owner(lock: Path) -> str:
    try:
        pid, host = lock.read_text().split()
    except (OSError, ValueError):
        return "another search"
    return f"another search (process {pid} on {host})"


def _in_use(path: str, lock: Path, resume: bool) -> ExperimentInUseError:
    name, where = experiment_name(path), path.rsplit("/", 1)[0]
    then = "wait for it to end" if resume else "choose another --name, or --resume it once it ends"
    return ExperimentInUseError(
        f"experiment {name!r} in {where} is in use by {_owner(lock)}: {then} (nothing was changed)"
    )


def _exists(path: str) -> LensSearchError:
    name, where = experiment_name(path), path.rsplit("/", 1)[0]
    return LensSearchError(
        f"experiment {name!r} already exists in {where}: pass --resume to continue it "
        f"or choose another --name (nothing was changed)"
    )


def _local_path(path: str) -> Path | None:
    """The local folder of ``path`` (a local path or a ``file://`` URI), None for other URIs."""
    if not is_uri(path):
        return Path(path)
    fs, where = filesystem(path, "storage ")
    return Path(where) if isinstance(fs, pyarrow.fs.LocalFileSystem) else None


# --- URIs other than file://: a check and a marker, not atomic -----------------------------------


def _remote_exists(path: str) -> bool:
    fs, base = filesystem(path, "storage ")
    try:
        return fs.get_file_info(base).type != pyarrow.fs.FileType.NotFound
    except OSError as exc:
        raise LensSearchError(f"cannot read storage {path}: {exc}") from exc


def _claim_remote(path: str, resume: bool) -> ExperimentClaim:
    if resume:
        return ExperimentClaim(path, None, None, created=False)
    if _remote_exists(path):
        raise _exists(path)
    fs, base = filesystem(path, "storage ")
    token = f"{uuid.uuid4().hex} {os.getpid()} {socket.gethostname()}\n".encode()
    try:
        fs.create_dir(base, recursive=True)
        with fs.open_output_stream(f"{base}/{LOCK_FILE}") as out:
            out.write(token)
        with fs.open_input_stream(f"{base}/{LOCK_FILE}") as back:
            mine = back.read() == token
    except OSError as exc:
        raise LensSearchError(f"cannot create experiment folder {path}: {exc}") from exc
    if not mine:  # another search wrote its marker in the same instant
        raise _exists(path)
    return ExperimentClaim(path, None, None, created=True)


def _remove_remote_claim(path: str) -> None:
    fs, base = filesystem(path, "storage ")
    selector = pyarrow.fs.FileSelector(base, allow_not_found=True)
    if [info.base_name for info in fs.get_file_info(selector)] == [LOCK_FILE]:
        fs.delete_dir(base)

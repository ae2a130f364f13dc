"""Reading a search experiment back: Ray Tune's own state plus the search's settings file."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.fs
from ray.tune import ExperimentAnalysis, ResultGrid

from lensing.errors import LensSearchError

SETTINGS_FILE = "lens_search.json"
LEADERBOARD_FILE = "leaderboard.csv"


@dataclass(frozen=True)
class ExperimentSettings:
    """What the search wrote next to Ray's state: task, metric and the settings it ran with."""

    task: str
    metric: str
    mode: str
    max_epochs: int
    config: dict[str, Any]


def _filesystem(path: str) -> tuple[pyarrow.fs.FileSystem, str]:
    try:
        return pyarrow.fs.FileSystem.from_uri(path if "://" in path else _absolute(path))
    except (pyarrow.ArrowInvalid, OSError) as exc:
        raise LensSearchError(f"cannot open {path}: {exc}") from exc


def _absolute(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def write_text(path: str, text: str) -> None:
    """Write a small text file to a local path (atomically: temp file + rename) or a URI."""
    if "://" not in path:
        target = Path(_absolute(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        temp.write_text(text)
        os.replace(temp, target)
        return
    fs, where = _filesystem(path)
    fs.create_dir(where.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(where) as out:
        out.write(text.encode())


def read_text(path: str) -> str | None:
    """The text of a small file at a local path or URI, or None if there is none."""
    fs, where = _filesystem(path)
    try:
        with fs.open_input_stream(where) as stream:
            return stream.read().decode()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if fs.get_file_info(where).type == pyarrow.fs.FileType.NotFound:
            return None
        raise LensSearchError(f"cannot read {path}: {exc}") from exc


def write_settings(experiment: str, settings: ExperimentSettings) -> None:
    """Store the search's settings in the experiment folder (read by resume and results)."""
    write_text(f"{experiment}/{SETTINGS_FILE}", json.dumps(settings.__dict__, indent=2))


def read_settings(experiment: str) -> ExperimentSettings:
    """The settings a search stored in ``experiment``; LensSearchError if it is none."""
    text = read_text(f"{experiment}/{SETTINGS_FILE}")
    if text is None:
        raise LensSearchError(
            f"{experiment} is not a lens-search experiment (no {SETTINGS_FILE} in it)"
        )
    try:
        return ExperimentSettings(**json.loads(text))
    except (ValueError, TypeError) as exc:
        raise LensSearchError(f"{experiment}/{SETTINGS_FILE} is unreadable: {exc}") from exc


def refuse_shared_writable(experiment: str) -> None:
    """Refuse a local experiment folder that someone else could have written into.

    Ray unpickles ``tuner.pkl``, its searcher state and the trials' ``params.pkl`` on --resume and
    when results are read, so whoever can write them can run code as the reader. The folder and
    everything in it must belong to the reader and be writable by nobody else (neither group nor
    world). Storage URIs are not checked: their access rules live in the bucket
    (docs/RELIABILITY.md).
    """
    if "://" in experiment:
        return
    root = Path(_absolute(experiment))
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


def load_results(experiment: str) -> tuple[ResultGrid, ExperimentSettings]:
    """Ray Tune's ResultGrid of a finished, interrupted or running experiment, and its settings."""
    refuse_shared_writable(experiment)
    settings = read_settings(experiment)
    location = experiment if "://" in experiment else _absolute(experiment)
    try:
        analysis = ExperimentAnalysis(
            location, default_metric=settings.metric, default_mode=settings.mode
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        raise LensSearchError(f"{experiment} holds no Ray Tune experiment state yet") from exc
    return ResultGrid(analysis), settings

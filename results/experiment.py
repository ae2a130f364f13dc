"""Reading a search experiment back: Ray Tune's own state plus the search's settings file."""

from __future__ import annotations

import json
import os
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


def load_results(experiment: str) -> tuple[ResultGrid, ExperimentSettings]:
    """Ray Tune's ResultGrid of a finished, interrupted or running experiment, and its settings."""
    settings = read_settings(experiment)
    location = experiment if "://" in experiment else _absolute(experiment)
    try:
        analysis = ExperimentAnalysis(
            location, default_metric=settings.metric, default_mode=settings.mode
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        raise LensSearchError(f"{experiment} holds no Ray Tune experiment state yet") from exc
    return ResultGrid(analysis), settings

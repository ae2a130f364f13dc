"""The search's settings file in the experiment folder: task, metric and the settings it ran with.

Written when a search starts, read by ``--resume`` and by every ``results`` command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lens_search.errors import LensSearchError
from lens_search.experiments.storage import read_text, write_text

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

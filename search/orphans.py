"""Trial folders that the experiment state never recorded, set aside before ``--resume``.

Tune creates a trial's folder (with ``params.json``) when the trial starts and records the trial
in its experiment state a moment later. A driver killed in between (SIGKILL, a lost head node)
leaves a folder that looks like a trial but that no state knows: ``--resume`` samples a
replacement for it, and the folder would stay beside the real trials. Such folders move into
``orphans/`` of the experiment folder; results (leaderboard, ``results.*``) read Tune's state
and never list them.
"""

from __future__ import annotations

import os
from pathlib import Path

from ray.tune import ExperimentAnalysis

ORPHANS_DIR = "orphans"
PARAMS_FILE = "params.json"


def known_trial_folders(experiment: str) -> set[str]:
    """Names of the trial folders recorded in the experiment's latest saved state."""
    analysis = ExperimentAnalysis(experiment)
    return {trial.storage.trial_dir_name for trial in analysis.trials}


def find_orphans(experiment: str) -> list[Path]:
    """Trial folders (holding params.json) of a local experiment that its state does not know."""
    root = Path(experiment)
    known = known_trial_folders(experiment)
    return sorted(
        folder
        for folder in root.iterdir()
        if folder.is_dir() and (folder / PARAMS_FILE).is_file() and folder.name not in known
    )


def set_aside_orphans(experiment: str) -> str | None:
    """Move orphan trial folders into ``orphans/``; return the summary line, None if none.

    Experiments on URI storage (s3://...) are left as they are: their orphans are never read.
    """
    if "://" in experiment:
        return None
    orphans = find_orphans(experiment)
    if not orphans:
        return None
    target = Path(experiment) / ORPHANS_DIR
    target.mkdir(exist_ok=True)
    for folder in orphans:
        os.replace(folder, _free_name(target / folder.name))
    return (
        f"Orphan trial folders: {len(orphans)} (started but never recorded before the driver "
        f"stopped; a replacement trial was sampled) moved to {target}"
    )


def _free_name(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... if an earlier resume already moved one there."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate

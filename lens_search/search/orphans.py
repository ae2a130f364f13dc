"""Trial folders that the experiment state never recorded, set aside before ``--resume``.

Tune creates a trial's folder when it schedules the trial (``params.json`` follows when the
trial starts) and records the trial in its experiment state a moment later. A driver killed in
between (SIGKILL, a lost head node) leaves a folder that looks like a trial but that no state
knows: ``--resume`` samples a replacement for it, and the folder would stay beside the real
trials. Such folders move into ``orphans/`` of the experiment folder; results (leaderboard,
``results.*``) read Tune's state and never list them.
"""

from __future__ import annotations

import os
from pathlib import Path

from ray.tune import ExperimentAnalysis

from lens_search.experiments.storage import is_uri

ORPHANS_DIR = "orphans"
PARAMS_FILE = "params.json"


def find_orphans(experiment: str) -> list[Path]:
    """Trial folders of a local experiment that its latest saved state does not know.

    A trial folder holds ``params.json`` or is named like the recorded trials' folders
    (``<trainable>_<trial id>_<count>_...``), which also catches one created empty.
    """
    trials = ExperimentAnalysis(experiment).trials
    known = {trial.storage.trial_dir_name for trial in trials if trial.storage is not None}
    prefixes = tuple({f"{trial.trainable_name}_" for trial in trials})
    return sorted(
        folder
        for folder in Path(experiment).iterdir()
        if folder.is_dir()
        and folder.name not in known
        and ((folder / PARAMS_FILE).is_file() or (prefixes and folder.name.startswith(prefixes)))
    )


def set_aside_orphans(experiment: str) -> str | None:
    """Move orphan trial folders into ``orphans/``; return the summary line, None if none.

    Experiments on URI storage (s3://...) are left as they are: their orphans are never read.
    """
    if is_uri(experiment):
        return None
    orphans = find_orphans(experiment)
    if not orphans:
        return None
    target = Path(experiment) / ORPHANS_DIR
    target.mkdir(exist_ok=True)
    for folder in orphans:
        os.replace(folder, _free_name(target / folder.name))
    return (
        f"Orphan trial folders: {len(orphans)} (created before the driver stopped, never recorded "
        f"as trials; not part of the results) moved to {target}"
    )


def _free_name(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``... if an earlier resume already moved one there."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate

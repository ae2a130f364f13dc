"""The watch that ends a search as soon as its experiment folder is gone or cannot be written.

Where experiments live and how they are checked before a search starts is
``experiments.storage``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pyarrow.fs
from ray.tune import Callback

from lens_search.errors import LensSearchError
from lens_search.experiments.storage import experiment_name, filesystem, storage_problem

# What Ray's StorageContext raises when a trial saves into an experiment folder that is gone.
RAY_STORAGE_FAILURE = "Unable to set up cluster storage"
RAY_STATE_SYNC_FAILURE = "Saving experiment state to storage at "
RAY_TEMPORARY_FILE = "-tmp-"
"""What Ray puts in the name of a file it writes and then renames (``.UUID-tmp-searcher-state``)."""
LOCAL_PROBE_EVERY_S = 1.0
REMOTE_PROBE_EVERY_S = 30.0


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
                f"--name {experiment_name(folder)}"
            )


class TransientStateSyncRaces(logging.Filter):
    """Keeps off the console a failed upload of the experiment state that lost a race with Ray.

    Tune uploads the driver's staging folder in a background thread while it writes the next
    state there, each file first under a temporary name that it then renames: the upload can
    list a temporary file and find it gone (``FileNotFoundError`` naming ``-tmp-``). Nothing is
    lost: the next upload, and the one Tune waits for at the end, copy the renamed file. The
    record stays in the search log; any other failed upload is shown.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (
            record.getMessage().startswith(RAY_STATE_SYNC_FAILURE)
            and isinstance(error, FileNotFoundError)
            and RAY_TEMPORARY_FILE in str(error)
        )


class LostStorageFailures(logging.Filter):
    """Keeps off the console the trial failures that a lost experiment folder causes.

    A trial that saves a checkpoint just after its experiment folder went away fails in Ray
    before ``StorageWatch`` next probes, and Ray logs that failure with a page of traceback.
    The search then stops with ``StorageWatch``'s one line, which says what happened and how
    to continue; the traceback stays in the search log. A storage failure while the folder is
    still writable from here (storage the workers cannot reach) is not hidden.
    """

    def __init__(self, experiment: str, must_hold: str) -> None:
        super().__init__()
        self.experiment = experiment
        self.must_hold = must_hold

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if RAY_STORAGE_FAILURE not in f"{record.getMessage()} {error}":
            return True
        try:
            fs, folder = filesystem(self.experiment)
        except LensSearchError:
            return True
        return storage_problem(fs, folder, self.must_hold) is None

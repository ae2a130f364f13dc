"""Reading a search experiment back: Ray Tune's state, the search's settings, each trial's status.

Ray Tune's statuses are turned into the words the leaderboard and the search's summary use.
"""

from __future__ import annotations

from ray.tune import ExperimentAnalysis, ResultGrid

from lens_search.errors import LensSearchError, one_line
from lens_search.experiments.settings import ExperimentSettings, read_settings
from lens_search.experiments.storage import absolute, refuse_shared_writable

STATUS_COMPLETED = "completed"
STATUS_STOPPED = "stopped early"
STATUS_ERRORED = "errored"
STATUS_RUNNING = "running"
STATUS_PENDING = "pending"


def trial_status(ray_status: str, error: BaseException | None, epochs: int, max_epochs: int) -> str:
    """The status a user reads: a trial that ended short of ``max_epochs`` was stopped early."""
    if error is not None or ray_status == "ERROR":
        return STATUS_ERRORED
    if ray_status == "RUNNING":
        return STATUS_RUNNING
    if ray_status == "PENDING" or epochs == 0:
        return STATUS_PENDING
    if ray_status == "PAUSED":
        return STATUS_PENDING
    return STATUS_COMPLETED if epochs >= max_epochs else STATUS_STOPPED


def error_line(error: BaseException | None) -> str:
    """The message line of a trial's error (Ray's wrapper lines dropped); "" for none."""
    # Ray wraps the trial's exception; its last line is the user-facing message.
    return "" if error is None else one_line(error, "last")


def load_results(experiment: str) -> tuple[ResultGrid, ExperimentSettings]:
    """Ray Tune's ResultGrid of a finished, interrupted or running experiment, and its settings."""
    refuse_shared_writable(experiment)
    settings = read_settings(experiment)
    try:
        analysis = ExperimentAnalysis(
            absolute(experiment), default_metric=settings.metric, default_mode=settings.mode
        )
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        raise LensSearchError(f"{experiment} holds no Ray Tune experiment state yet") from exc
    return ResultGrid(analysis), settings

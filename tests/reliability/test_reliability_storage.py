"""Storage that stops being writable mid-search: one clear line, exit 2, then ``--resume`` works.

The test puts a file where the storage folder was (its contents moved aside): nothing can be
written under it, not even by root, for whom ``chmod`` blocks nothing. Putting the folder back
is the fix; the search then resumes from the state it last saved.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from lens_search.cli import NORMAL
from lens_search.experiments.settings import SETTINGS_FILE
from lens_search.experiments.trials import STATUS_COMPLETED
from lens_search.search.console import library_logs_to_file
from lens_search.search.storage import LostStorageFailures

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 2
EPOCHS = 3


def search_command(data: Path, storage: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "search.superres", "--data", str(data), "--samples", str(SAMPLES),
        "--max-epochs", str(EPOCHS), "--grace-period", str(EPOCHS), "--max-concurrent", "1",
        "--storage", str(storage), "--name", "s", *extra,
    ]  # fmt: skip


def epochs_reported(experiment: Path) -> dict[str, list[int]]:
    """The epochs in each trial's result.json, by trial folder name."""
    runs = {}
    for path in experiment.glob("*/result.json"):
        lines = path.read_text().splitlines()
        runs[path.parent.name] = [json.loads(line)["epoch"] for line in lines if line.strip()]
    return runs


def test_unwritable_storage_stops_the_search_and_resume_finishes_it(
    tiny_superres_dir: Path, tmp_path: Path
) -> None:
    storage, aside = tmp_path / "runs", tmp_path / "runs-aside"
    experiment = storage / "s"
    search = subprocess.Popen(
        search_command(tiny_superres_dir, storage),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        while not any(epochs_reported(experiment).values()):
            assert search.poll() is None, search.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "no trial reported an epoch"
            time.sleep(0.2)
        storage.rename(aside)
        storage.write_text("the storage is gone\n")
        _, err = search.communicate(timeout=300)
    finally:
        search.kill()

    assert search.returncode == 2, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"search.superres: error: experiment folder {experiment} "), err[-3000:]
    assert "--resume --name s" in last
    assert "Traceback" not in err, err[-3000:]
    assert storage.read_text() == "the storage is gone\n"  # nothing was written through it
    before = epochs_reported(aside / "s")

    storage.unlink()
    aside.rename(storage)
    resumed = subprocess.run(
        search_command(tiny_superres_dir, storage, "--resume"),
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    table = pd.read_csv(experiment / "leaderboard.csv")
    assert len(table) == SAMPLES == table["trial_id"].nunique()
    assert set(table["status"]) == {STATUS_COMPLETED}, table[["status", "error"]]
    after = epochs_reported(experiment)
    for name, epochs in before.items():
        # The interrupted trial went on from its checkpoint: at most its last epoch was redone.
        assert after[name][: len(epochs)] == epochs
        assert len(after[name]) - len(set(after[name])) <= 1, after[name]
        assert sorted(set(after[name])) == list(range(1, EPOCHS + 1))


def _log_trial_storage_failure() -> None:
    """What Ray's controller logs when a trial's checkpoint finds no experiment folder."""
    try:
        raise RuntimeError("Unable to set up cluster storage with the following settings: ...")
    except RuntimeError as failure:
        logging.getLogger("ray.tune.execution.tune_controller").error(
            "Trial task failed for trial t1", exc_info=failure
        )


def test_a_trial_failing_on_lost_storage_stays_off_the_console_but_not_out_of_the_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The race CI met: a trial saved between the folder going away and the watch's probe."""
    experiment, log = tmp_path / "runs" / "s", tmp_path / "search.log"
    experiment.mkdir(parents=True)
    (experiment / SETTINGS_FILE).write_text("{}")
    only_real = LostStorageFailures(str(experiment), SETTINGS_FILE)
    with library_logs_to_file(log, NORMAL, console_filter=only_real):
        _log_trial_storage_failure()  # the folder is there: workers cannot reach it, say so
        shown_while_there = capfd.readouterr().err
        (tmp_path / "runs").rename(tmp_path / "runs-aside")
        _log_trial_storage_failure()
        logging.getLogger("ray.tune").error("an unrelated Ray error")
        shown_when_gone = capfd.readouterr().err

    assert "Traceback" in shown_while_there
    assert "Unable to set up cluster storage" in shown_while_there
    assert "Unable to set up cluster storage" not in shown_when_gone
    assert "Traceback" not in shown_when_gone
    assert "an unrelated Ray error" in shown_when_gone
    assert log.read_text().count("Trial task failed for trial t1") == 2


def _log_state_sync_failure(staging: Path, file_name: str) -> None:
    """What Tune logs when its upload of the driver's staging folder fails (pyarrow's error)."""
    import pyarrow.fs

    try:
        pyarrow.fs.LocalFileSystem().open_input_stream(str(staging / file_name))
    except OSError as failure:
        logging.getLogger("ray.tune.execution.experiment_state").error(
            f"Saving experiment state to storage at '{staging}' failed with exception: ",
            exc_info=failure,
        )


def test_an_upload_racing_a_renamed_temporary_file_stays_off_the_console_but_not_the_log(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """CI met it on the autoscaler: Tune listed ``.UUID-tmp-searcher-state-*.pkl``, renamed it
    while uploading, and printed a page of traceback; the next upload copies the renamed file."""
    from lens_search.search.storage import TransientStateSyncRaces

    log, staging = tmp_path / "search.log", tmp_path / "driver_artifacts"
    staging.mkdir()
    temporary = ".f4815f52-ec60-4473-99cb-78267835f6e8-tmp-searcher-state-2026-12-06.pkl"
    with library_logs_to_file(log, NORMAL, console_filter=[TransientStateSyncRaces()]):
        _log_state_sync_failure(staging, temporary)
        hidden = capfd.readouterr().err
        _log_state_sync_failure(staging, "searcher-state-2026-12-06.pkl")  # a real file missing
        shown = capfd.readouterr().err

    assert hidden == ""
    assert "failed with exception" in shown and "searcher-state-2026-12-06.pkl" in shown
    assert log.read_text().count("Saving experiment state to storage at") == 2

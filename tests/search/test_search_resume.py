"""SIGKILL the search driver mid-way; `--resume` finishes it with every trial exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from results.leaderboard import STATUS_COMPLETED, STATUS_STOPPED
from search.localcluster import kill_sessions

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 5


def trial_dirs(experiment: Path) -> list[Path]:
    """Trial folders in the order the trials started (``_superres_fn_<random id>_<count>_...``)."""
    if not experiment.is_dir():
        return []
    found = [p for p in experiment.iterdir() if p.is_dir() and "_fn_" in p.name]
    return sorted(found, key=lambda p: int(p.name.split("_fn_", 1)[1].split("_")[1]))


def search_command(data: Path, storage: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "search.superres", "--data", str(data), "--samples", str(SAMPLES),
        "--max-epochs", "3", "--reduction-factor", "2", "--max-concurrent", "1",
        "--storage", str(storage), "--name", "r", "--seed", "1", *extra,
    ]  # fmt: skip


def test_driver_sigkill_then_resume(tiny_superres_dir: Path, tmp_path: Path) -> None:
    storage = tmp_path / "runs"
    experiment = storage / "r"
    log = (tmp_path / "first.log").open("w")
    driver = subprocess.Popen(
        search_command(tiny_superres_dir, storage),
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        # One trial at a time: when a third trial folder appears, two trials have ended.
        deadline = time.monotonic() + 300
        while len(trial_dirs(experiment)) < 3:
            assert driver.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the search made no progress"
            time.sleep(0.5)
        finished = {p.name: (p / "result.json").read_bytes() for p in trial_dirs(experiment)[:2]}
        configs = {
            p.name: json.loads((p / "params.json").read_text()) for p in trial_dirs(experiment)[:2]
        }
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        kill_sessions({driver.pid})  # what Ray left of the killed driver's session
        log.close()

    resumed = subprocess.run(
        search_command(tiny_superres_dir, storage, "--resume"),
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    table = pd.read_csv(experiment / "leaderboard.csv")
    assert len(table) == SAMPLES == table["trial_id"].nunique()
    assert set(table["status"]) <= {STATUS_COMPLETED, STATUS_STOPPED}
    assert len(trial_dirs(experiment)) == SAMPLES
    for name, before in finished.items():
        # Finished trials were neither lost nor retrained: their reported epochs are unchanged.
        assert (experiment / name / "result.json").read_bytes() == before
        # ... and the final leaderboard holds them with the configurations they were trained with.
        trial_id = json.loads(before.splitlines()[0])["trial_id"]
        row = table.set_index("trial_id").loc[trial_id]
        assert {k: row[f"config/{k}"] for k in configs[name]} == configs[name]
    assert f"Trials: {SAMPLES}" in resumed.stdout
    assert_one_study(experiment, table)


def assert_one_study(experiment: Path, table: pd.DataFrame) -> None:
    """The resumed search appended to the same Optuna study: each trial once, none lost.

    A trial sampled after Tune last saved its state is unknown to Tune when it resumes (Tune
    samples a new one instead); the study keeps it marked FAIL.
    """
    from search.study import load_study

    study = load_study(experiment)
    assert study.study_name == "r"
    ended = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert {t.state.name for t in study.trials} <= {"COMPLETE", "PRUNED", "FAIL"}
    assert len(ended) == SAMPLES
    assert sorted(t.params["lr"] for t in ended) == sorted(table["config/lr"])
    for trial in ended:
        assert sorted(trial.intermediate_values) == list(
            range(1, len(trial.intermediate_values) + 1)
        )

"""Stop the search driver mid-way (SIGKILL, Ctrl-C); `--resume` finishes it, every trial once."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from lens_search.experiments.trials import STATUS_COMPLETED, STATUS_STOPPED
from lens_search.results.leaderboard import main as leaderboard_main
from lens_search.search.orphans import ORPHANS_DIR
from lens_search.search.outcome import EXIT_INTERRUPTED
from tests.harness.localcluster import kill_sessions
from tests.harness.tables import read_exact_csv

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 5
PROGRESS_TIMEOUT_S = 600  # the first trials on 2 busy cores (TensorFlow import, tracing)


def trial_dirs(experiment: Path) -> list[Path]:
    """Trial folders in the order the trials started (``_superres_fn_<random id>_<count>_...``)."""
    if not experiment.is_dir():
        return []
    found = [p for p in experiment.iterdir() if p.is_dir() and "_fn_" in p.name]
    return sorted(found, key=lambda p: int(p.name.split("_fn_", 1)[1].split("_")[1]))


def search_command(
    data: Path, space: Path, storage: Path, *extra: str, samples: int = SAMPLES
) -> list[str]:
    return [
        sys.executable, "-m", "search.superres", "--data", str(data), "--samples", str(samples),
        "--space", str(space),
        "--max-epochs", "3", "--reduction-factor", "2", "--max-concurrent", "1",
        "--storage", str(storage), "--name", "r", "--seed", "1", *extra,
    ]  # fmt: skip


def test_driver_sigkill_then_resume(
    tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "runs"
    experiment = storage / "r"
    log = (tmp_path / "first.log").open("w")
    driver = subprocess.Popen(
        search_command(tiny_superres_dir, tiny_superres_space, storage),
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        # One trial at a time: when a second trial folder appears, the first trial has ended.
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while len(trial_dirs(experiment)) < 2:
            assert driver.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the search made no progress"
            time.sleep(0.5)
        finished = {p.name: (p / "result.json").read_bytes() for p in trial_dirs(experiment)[:1]}
        configs = {
            p.name: json.loads((p / "params.json").read_text()) for p in trial_dirs(experiment)[:1]
        }
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        kill_sessions({driver.pid})  # what Ray left of the killed driver's session
        log.close()
    # The race on purpose: trial folders that Tune created but whose trials the saved state
    # never recorded (the kill can land between the two; then the third trial folder is one too):
    # one that got its params.json, one still empty.
    orphan = experiment / "_superres_fn_0bad0bad_99_lr=0.001_2026-12-01_00-00-00"
    orphan.mkdir()
    shutil.copy(trial_dirs(experiment)[0] / "params.json", orphan / "params.json")
    empty = experiment / "_superres_fn_0bad0bae_98_lr=0.002_2026-12-01_00-00-00"
    empty.mkdir()

    resumed = subprocess.run(
        search_command(tiny_superres_dir, tiny_superres_space, storage, "--resume"),
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]

    table = read_exact_csv(experiment / "leaderboard.csv")
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
    # The orphan was set aside, said so in one line, and no result lists it.
    assert (experiment / ORPHANS_DIR / orphan.name / "params.json").is_file()
    assert (experiment / ORPHANS_DIR / empty.name).is_dir()
    orphan_lines = [ln for ln in resumed.stdout.splitlines() if ln.startswith("Orphan trial")]
    assert len(orphan_lines) == 1 and str(experiment / ORPHANS_DIR) in orphan_lines[0]
    assert not {"0bad0bad", "0bad0bae"} & set(table["trial_id"])
    leaderboard_main([str(experiment), "--csv", str(tmp_path / "again.csv")])
    assert len(pd.read_csv(tmp_path / "again.csv")) == SAMPLES
    assert_one_study(experiment, table)


def test_ctrl_c_saves_the_search_prints_its_resume_command_and_exits_130(
    tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage, samples = tmp_path / "runs", 3
    experiment = storage / "r"
    driver = subprocess.Popen(
        search_command(tiny_superres_dir, tiny_superres_space, storage, samples=samples),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while not list(experiment.glob("*_fn_*/result.json")):  # one epoch reported
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the search made no progress"
            time.sleep(0.5)
        os.kill(driver.pid, signal.SIGINT)  # what Ctrl-C sends the driver
        out, err = driver.communicate(timeout=300)
    finally:
        kill_sessions({driver.pid})
    assert driver.returncode == EXIT_INTERRUPTED == 130, out[-2000:] + err[-2000:]
    assert "finished in" not in out
    expected = f"python -m search.superres --resume --name r --storage {shlex.quote(str(storage))}"
    lines = err.splitlines()
    shown = lines[
        lines.index(next(ln for ln in lines if "interrupted; its state is saved" in ln)) + 1
    ]
    assert shown.strip() == expected, err[-2000:]

    # Exactly the printed command (its `python` being this interpreter) finishes the search.
    command = [sys.executable, *shlex.split(shown)[1:]]
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    table = read_exact_csv(experiment / "leaderboard.csv")
    assert len(table) == samples == table["trial_id"].nunique()
    assert set(table["status"]) <= {STATUS_COMPLETED, STATUS_STOPPED}
    assert f"Trials: {samples}," in resumed.stdout


def assert_one_study(experiment: Path, table: pd.DataFrame) -> None:
    """The resumed search appended to the same Optuna study: each trial once, none lost.

    A trial sampled after Tune last saved its state is unknown to Tune when it resumes (Tune
    samples a new one instead); the study keeps it marked FAIL.
    """
    from lens_search.experiments.study import load_study

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

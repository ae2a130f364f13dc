"""`--resume --samples N` grows a finished search: same study, same folder, every trial once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from lens_search.experiments.study import load_study
from lens_search.experiments.trials import STATUS_COMPLETED, STATUS_STOPPED
from lens_search.search.outcome import EXIT_INTERRUPTED
from tests.harness.localcluster import kill_sessions
from tests.search.test_search_resume import (
    PROGRESS_TIMEOUT_S,
    REPO,
    search_command,
    trial_dirs,
)

FIRST, GROWN = 3, 5


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)


def test_resume_with_more_samples_grows_the_experiment(
    tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "runs"
    experiment = storage / "r"
    first = run(search_command(tiny_superres_dir, tiny_superres_space, storage, samples=FIRST))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    finished = {p.name: (p / "result.json").read_bytes() for p in trial_dirs(experiment)}
    assert len(finished) == FIRST

    smaller = run(
        search_command(tiny_superres_dir, tiny_superres_space, storage, "--resume", samples=2)
    )
    assert smaller.returncode == 2
    assert smaller.stderr.strip().splitlines() == [
        "search.superres: error: --resume continues 'r' with its saved settings, and these flags "
        "differ: --samples 2 (saved: 3); drop them (or pass the saved values), or start a new "
        "experiment with another --name"
    ]

    grown = run(
        search_command(tiny_superres_dir, tiny_superres_space, storage, "--resume", samples=GROWN)
    )
    assert grown.returncode == 0, grown.stdout[-3000:] + grown.stderr[-3000:]
    assert f"Growing experiment 'r' from {FIRST} to {GROWN} samples" in grown.stdout
    table = pd.read_csv(experiment / "leaderboard.csv")
    assert len(table) == GROWN == table["trial_id"].nunique()
    assert len(trial_dirs(experiment)) == GROWN
    for name, before in finished.items():  # kept, not retrained
        assert (experiment / name / "result.json").read_bytes() == before
    settings = json.loads((experiment / "lens_search.json").read_text())
    assert settings["config"]["samples"] == GROWN

    study = load_study(experiment)  # one study: the new trials' numbers continue the old ones
    ended = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(ended) == GROWN
    assert sorted(t.number for t in ended)[:FIRST] == list(range(FIRST))
    assert sorted(t.params["lr"] for t in ended) == pytest.approx(sorted(table["config/lr"]))

    again = run(search_command(tiny_superres_dir, tiny_superres_space, storage, "--resume"))
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "Growing" not in again.stdout
    assert len(pd.read_csv(experiment / "leaderboard.csv")) == GROWN


def test_an_interrupted_search_resumed_with_more_samples_finishes_and_grows(
    tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "runs"
    experiment = storage / "r"
    driver = subprocess.Popen(
        search_command(tiny_superres_dir, tiny_superres_space, storage, samples=FIRST),
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while not list(experiment.glob("*_fn_*/result.json")):  # one epoch reported
            assert driver.poll() is None, driver.communicate()
            assert time.monotonic() < deadline, "the search made no progress"
            time.sleep(0.5)
        os.kill(driver.pid, signal.SIGINT)  # Ctrl-C: the state is saved, exit 130
        driver.communicate(timeout=300)
    finally:
        kill_sessions({driver.pid})
    assert driver.returncode == EXIT_INTERRUPTED

    grown = run(
        search_command(tiny_superres_dir, tiny_superres_space, storage, "--resume", samples=GROWN)
    )
    assert grown.returncode == 0, grown.stdout[-3000:] + grown.stderr[-3000:]
    assert f"Growing experiment 'r' from {FIRST} to {GROWN} samples" in grown.stdout
    table = pd.read_csv(experiment / "leaderboard.csv")
    assert len(table) == GROWN == table["trial_id"].nunique()
    assert set(table["status"]) <= {STATUS_COMPLETED, STATUS_STOPPED}
    ended = [t for t in load_study(experiment).trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(ended) == GROWN

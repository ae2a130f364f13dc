"""Know the cost first: ``--dry-run`` prints the plan and creates nothing, a search estimated far
beyond an evening says so in one line before it starts, and the status line counts epochs.

The dry runs are the real command in a fresh interpreter, timing real training steps
(``experiments.cost``) on this machine.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lens_search.experiments.settings import ExperimentSettings, write_settings
from lens_search.search.eta import (
    EtaReporter,
    expected_final_epoch,
    expected_remaining,
    status_line,
)
from lens_search.search.plan import format_duration, replay_asha

REPO = Path(__file__).resolve().parents[2]


def run_search(args: list[str], cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LENS_SEARCH_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_asha_replay_without_rungs_trains_every_epoch_and_fills_the_slots() -> None:
    epochs, wall = replay_asha(6, 4, (), 3, concurrent=2, replays=5)
    assert epochs == 24 and wall == 12  # 6 trials x 4 epochs, two at once, 1 s per epoch


def test_asha_replay_stops_most_trials_at_the_first_rung() -> None:
    epochs, wall = replay_asha(27, 9, (1, 3), 3, concurrent=1)
    assert 27 < epochs < 27 * 9 / 2  # every trial trains its first epoch, most stop there
    assert wall == pytest.approx(epochs)  # one at a time: the wall time is the epochs
    _, at_once = replay_asha(27, 9, (1, 3), 3, concurrent=27)
    assert at_once < wall / 5


def test_status_line_counts_epochs_and_revises_the_eta() -> None:
    assert expected_final_epoch(0, 4, (1, 3), 1 / 3) == pytest.approx(1 + 2 / 3 + 1 / 9)
    assert expected_final_epoch(3, 4, (1, 3), 1 / 3) == pytest.approx(3 + 1)  # past every rung
    fresh = expected_remaining([], 8, 4, (1, 3), 3)
    assert fresh == pytest.approx(8 * (1 + 2 / 3 + 1 / 9))
    start = status_line([], 0.0, 0, 8, 4, (1, 3), 3)
    assert start.startswith("Epochs: 0 done of 32 at most") and "after the first epoch" in start
    two_stopped = [(1, True), (1, True)]
    line = status_line(two_stopped, 20.0, 0, 8, 4, (1, 3), 3)
    assert "Epochs: 2 done" in line and "ETA" in line
    remaining = expected_remaining(two_stopped, 8, 4, (1, 3), 3)
    assert remaining == pytest.approx(6 * (1 + 2 / 3 + 1 / 9))
    assert f"ETA {format_duration(remaining * 10)}" in line
    assert status_line([(4, True)] * 8, 50.0, 0, 8, 4, (1, 3), 3).endswith("finishing")


def test_dry_run_prints_the_plan_and_creates_nothing(
    tiny_classify_dir: Path, tmp_path: Path
) -> None:
    cache, storage = tmp_path / "cache", tmp_path / "runs"
    before = sorted(p.name for p in tiny_classify_dir.rglob("*"))
    proc = run_search(
        ["search.classify", "--dry-run", "--backbone", "cnn", "--image-size", "32", "--data",
         str(tiny_classify_dir), "--samples", "6", "--max-epochs", "3", "--storage",
         str(storage), "--name", "planned"],
        cwd=tmp_path, cache=cache,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert f"data: found at {tiny_classify_dir}: 27 train and 9 val images" in out
    assert "cnn_width: one of 8, 16, 24 (default 8)" in out
    assert "lr: 1e-05 .. 0.01, log scale (default 0.001)" in out
    assert "trials: 6, up to 3 epochs each (18 epochs at most)" in out
    assert "ASHA (rungs at epochs 1) is expected to train about" in out
    assert "1 CPU, 0 GPU per trial on this machine" in out
    assert "estimated wall time:" in out and "rests on: short epochs of the default" in out
    assert "Traceback" not in proc.stderr
    assert not storage.exists() and not cache.exists()
    assert sorted(p.name for p in tiny_classify_dir.rglob("*")) == before


def test_dry_run_of_data_to_simulate_times_a_few_lenses_and_simulates_nothing(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    proc = run_search(
        ["search.classify", "--dry-run", "--backbone", "cnn", "--image-size", "32",
         "--per-class", "50", "--sim-size", "32", "--samples", "2", "--max-epochs", "1"],
        cwd=tmp_path, cache=cache,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "to be simulated into" in proc.stdout and "50 lenses per class at 32 px" in proc.stdout
    assert "simulating the data:" in proc.stdout
    assert proc.stderr.strip() == "", proc.stderr[-2000:]
    assert not cache.exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/nonexistent/lenses"], "--data /nonexistent/lenses: no such folder"),
        (["--resume", "--name", "x"], "--dry-run plans a new search; it cannot be used with"),
        (["--samples", "0"], "--samples must be at least 1"),
    ],
)
def test_dry_run_refuses_what_the_search_refuses(
    args: list[str], message: str, tmp_path: Path
) -> None:
    proc = run_search(["search.classify", "--dry-run", *args], cwd=tmp_path, cache=tmp_path / "c")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / "runs").exists() and not (tmp_path / "c").exists()


def test_dry_run_reads_every_file_and_refuses_a_bad_one(
    tiny_classify_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_classify_dir, data)
    victim = next(iter(sorted((data / "train").rglob("*.npy"))))
    victim.write_bytes(b"not an npy file")
    proc = run_search(
        ["search.classify", "--dry-run", "--backbone", "cnn", "--data", str(data)],
        cwd=tmp_path, cache=tmp_path / "c",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and victim.name in lines[0], proc.stderr[-2000:]
    assert victim.read_bytes() == b"not an npy file"


def test_dry_run_refuses_data_of_the_other_task(tiny_superres_dir: Path, tmp_path: Path) -> None:
    proc = run_search(
        ["search.classify", "--dry-run", "--backbone", "cnn", "--data", str(tiny_superres_dir)],
        cwd=tmp_path, cache=tmp_path / "c",
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("search.classify: error: --data ")


def test_a_search_far_beyond_an_evening_says_so_and_starts_anyway(tmp_path: Path) -> None:
    """Thousands of cnn trials on 1,000 lenses per class: far beyond an evening on any CPU."""
    env = {**os.environ, "LENS_SEARCH_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    search = subprocess.Popen(
        [sys.executable, "-m", "search.classify", "--backbone", "cnn", "--image-size", "64",
         "--per-class", "1000", "--samples", "3000", "--max-epochs", "20", "--storage",
         str(tmp_path / "runs"), "--name", "big"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert search.stdout is not None
        first = search.stdout.readline()
    finally:
        search.kill()
        search.communicate(timeout=60)
    assert first.startswith("search.classify: this search is estimated at "), first
    assert "it starts anyway" in first and "GPU cluster" in first, first
    assert "--samples " in first and "--dry-run" in first, first
    unit = first.split("estimated at ")[1].split(" ")[1]
    assert unit in ("h", "days"), first
    records = list((tmp_path / "cache" / "costs").glob("*.json"))
    assert len(records) == 1  # the timings are kept: the next search of this kind reads them


def test_a_resumed_search_restarts_the_clock_and_counts_its_grown_samples(tmp_path: Path) -> None:
    """Tune brings the pickled reporter back on --resume; --samples N raised the saved count."""
    experiment = tmp_path / "exp"
    experiment.mkdir()
    settings = ExperimentSettings(
        task="superres", metric="val_psnr", mode="max", max_epochs=4, config={"samples": 4}
    )
    write_settings(str(experiment), settings)
    reporter = EtaReporter(
        samples=4, max_epochs=4, rungs=(1, 3), reduction_factor=3, experiment=str(experiment)
    )
    reporter._done_before = 7
    saved = pickle.dumps(reporter)
    write_settings(str(experiment), replace(settings, config={"samples": 9}))
    time.sleep(0.05)
    restored = pickle.loads(saved)
    assert restored._budget[0] == 9 and restored._done_before is None
    assert restored._started > reporter._started

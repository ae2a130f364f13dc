"""Two searches of one experiment at once: the second is refused in one line, the first is intact.

Real CLI processes, as a user would start them: two new searches with one ``--name`` started
together, and two ``--resume`` runs of one experiment whose first search was killed (its stale
claim must not block the first resume).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from lens_search.experiments.claim import LOCK_FILE
from tests.harness.localcluster import kill_sessions

REPO = Path(__file__).resolve().parents[2]
PROGRESS_TIMEOUT_S = 600


def search_command(data: Path, space: Path, storage: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "search.superres", "--data", str(data), "--space", str(space),
        "--max-epochs", "1", "--max-concurrent", "1", "--storage", str(storage), "--name", "same",
        *extra,
    ]  # fmt: skip


def start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def lock_held(experiment: Path) -> bool:
    try:
        fd = os.open(experiment / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def trial_folders(experiment: Path) -> list[Path]:
    return [p for p in experiment.iterdir() if p.is_dir() and "_fn_" in p.name]


def assert_refused_in_one_line(code: int, out: str, err: str, expected: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, out[-2000:] + err[-3000:]
    assert len(lines) == 1 and lines[0].startswith("search.superres: error: "), err[-3000:]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err and out == ""


def test_two_searches_started_together_with_one_name_one_is_refused(
    tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "runs"
    command = search_command(tiny_superres_dir, tiny_superres_space, storage, "--samples", "1")
    searches = [start(command), start(command)]
    try:
        results = [(s, *s.communicate(timeout=PROGRESS_TIMEOUT_S)) for s in searches]
    finally:
        kill_sessions({s.pid for s in searches})
    refused = [r for r in results if r[0].returncode == 2]
    ran = [r for r in results if r[0].returncode != 2]
    assert len(refused) == 1 and len(ran) == 1, [(r[0].returncode, r[2][-1500:]) for r in results]
    proc, out, err = refused[0]
    # Refused at the claim (in use) or, if it got there later, at the first check (exists).
    line = err.strip()
    assert "in use by another search (process" in line or "already exists" in line, line
    assert_refused_in_one_line(proc.returncode, out, err, "experiment 'same' in ")
    winner, out, err = ran[0]
    assert winner.returncode == 0, out[-2000:] + err[-3000:]
    experiment = storage / "same"
    assert len(list(experiment.glob("experiment_state*"))) == 1
    assert len(list(experiment.glob("searcher-state*"))) == 1
    (trial,) = trial_folders(experiment)
    trial_id = json.loads((trial / "result.json").read_text().splitlines()[0])["trial_id"]
    assert list(pd.read_csv(experiment / "leaderboard.csv")["trial_id"]) == [trial_id]
    assert (experiment / LOCK_FILE).read_text().startswith(f"{winner.pid} ")
    assert sorted(p.name for p in storage.iterdir()) == ["same"]


def test_a_killed_search_does_not_block_resume_and_a_second_resume_is_refused(
    tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "runs"
    experiment = storage / "same"
    base = search_command(tiny_superres_dir, tiny_superres_space, storage, "--samples", "3")
    first = start(base)
    try:
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while not (experiment.is_dir() and trial_folders(experiment)):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the search made no progress"
            time.sleep(0.5)
        os.kill(first.pid, signal.SIGKILL)  # its claim (the lock file) stays behind
        first.wait(timeout=30)
    finally:
        kill_sessions({first.pid})
    assert (experiment / LOCK_FILE).is_file() and not lock_held(experiment)

    resumed = start([*base, "--resume"])
    try:
        deadline = time.monotonic() + PROGRESS_TIMEOUT_S
        while not lock_held(experiment):
            assert resumed.poll() is None, resumed.communicate()
            assert time.monotonic() < deadline, "the resume never claimed the experiment"
            time.sleep(0.2)
        before = {p.name for p in experiment.iterdir()}
        second = subprocess.run(
            [*base, "--resume"], cwd=REPO, capture_output=True, text=True, timeout=300
        )
        new = subprocess.run(base, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert resumed.poll() is None, "the first resume ended before the others were refused"
        out, err = resumed.communicate(timeout=PROGRESS_TIMEOUT_S)
    finally:
        kill_sessions({resumed.pid})
    assert_refused_in_one_line(
        second.returncode, second.stdout, second.stderr,
        f"experiment 'same' in {storage} is in use by another search (process {resumed.pid} on ",
    )  # fmt: skip
    assert second.stderr.strip().endswith(": wait for it to end (nothing was changed)")
    assert_refused_in_one_line(
        new.returncode, new.stdout, new.stderr, "choose another --name, or --resume it once it ends"
    )
    assert resumed.returncode == 0, out[-2000:] + err[-3000:]
    assert before <= {p.name for p in experiment.iterdir()}
    table = pd.read_csv(experiment / "leaderboard.csv")
    assert len(table) == 3 == table["trial_id"].nunique()
    assert not lock_held(experiment)

"""The claim on an experiment folder: exclusive between processes, dropped when one is killed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lens_search.errors import LensSearchError
from lens_search.experiments.claim import LOCK_FILE, check_unclaimed, claim_experiment

REPO = Path(__file__).resolve().parents[2]


def claim_and_die(path: Path) -> None:
    """Another process claims ``path`` for a new search and is SIGKILLed before writing more."""
    code = (
        "import os, signal; from experiments.claim import claim_experiment; "
        f"claim_experiment({str(path)!r}, resume=False); os.kill(os.getpid(), signal.SIGKILL)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60)
    assert done.returncode == -9


def test_a_folder_left_by_a_search_killed_right_after_its_claim_is_taken_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r"
    claim_and_die(path)
    assert [p.name for p in path.iterdir()] == [LOCK_FILE]
    check_unclaimed(str(path), resume=False)  # not "already exists" for ever
    with claim_experiment(str(path), resume=False):
        (path / "experiment_state.json").write_text("{}")
        with pytest.raises(LensSearchError, match="in use by another search \\(process "):
            claim_experiment(str(path), resume=True)
    with pytest.raises(LensSearchError, match="already exists"):
        claim_experiment(str(path), resume=False)


def test_a_refused_search_removes_only_the_folder_it_claimed(tmp_path: Path) -> None:
    path = tmp_path / "r"
    with pytest.raises(LensSearchError, match="no GPU"):
        with claim_experiment(str(path), resume=False):
            raise LensSearchError("no GPU")
    assert not path.exists()
    with pytest.raises(KeyboardInterrupt):
        with claim_experiment(str(path), resume=False):
            (path / "search.log").write_text("started\n")
            raise KeyboardInterrupt
    assert sorted(p.name for p in path.iterdir()) == [LOCK_FILE, "search.log"]


def test_a_file_uri_is_claimed_like_a_local_folder(tmp_path: Path) -> None:
    uri = f"file://{tmp_path}/r"
    with claim_experiment(uri, resume=False):
        assert (tmp_path / "r" / LOCK_FILE).is_file()
        with pytest.raises(LensSearchError, match="wait for it to end"):
            check_unclaimed(uri, resume=True)

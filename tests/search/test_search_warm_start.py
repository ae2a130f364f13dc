"""`--warm-start OTHER`: a new search's study starts from an earlier experiment's trials."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lens_search.experiments.study import load_study
from lens_search.search.warm_start import WARM_START_ATTR, WARM_START_BEST, WARM_START_HOW
from tests.search.test_search_resume import REPO, search_command

SOURCE = 3


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)


def named(command: list[str], name: str) -> list[str]:
    """``command`` with its ``--name`` replaced by ``name``."""
    at = command.index("--name")
    return [*command[: at + 1], name, *command[at + 2 :]]


@pytest.fixture(scope="module")
def earlier(tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path_factory: Any) -> Path:
    """A finished superres search of SOURCE trials, experiment ``r`` in its storage."""
    storage = tmp_path_factory.mktemp("warm") / "runs"
    done = run(search_command(tiny_superres_dir, tiny_superres_space, storage, samples=SOURCE))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return storage


def test_warm_start_seeds_the_new_study_and_leaves_the_other_alone(
    earlier: Path, tiny_superres_dir: Path, tiny_superres_space: Path
) -> None:
    journal = earlier / "r" / "optuna-journal.log"
    before = journal.read_bytes()
    source = {t.number: t for t in load_study(earlier / "r").trials}
    command = search_command(tiny_superres_dir, tiny_superres_space, earlier, samples=2)
    warm = run(named(command, "w") + ["--warm-start", "r"])
    assert warm.returncode == 0, warm.stdout[-3000:] + warm.stderr[-3000:]
    assert journal.read_bytes() == before  # the other experiment is untouched
    lines = {
        "told": f"Warm start from 'r': its {SOURCE} finished trials are told to the new study",
        "best": f"Warm start from 'r': its {SOURCE} best configurations are trained first",
    }
    assert lines[WARM_START_HOW] in warm.stdout.splitlines()

    table = pd.read_csv(earlier / "w" / "leaderboard.csv")
    assert len(table) == 2 == table["trial_id"].nunique()  # only this search's own trials
    study = load_study(earlier / "w")
    seeded = [t for t in study.trials if t.user_attrs.get(WARM_START_ATTR) == "r"]
    ended = [t for t in source.values() if t.state.name in ("COMPLETE", "PRUNED")]
    if WARM_START_HOW == "told":
        assert len(seeded) == len(ended) == SOURCE
        assert sorted(t.params["lr"] for t in seeded) == sorted(t.params["lr"] for t in ended)
        assert {t.state.name for t in seeded} <= {"COMPLETE", "PRUNED"}
        # Told before the first ask; trial 0 is the space's defaults, queued first
        # (--first-trial defaults) and trained as this search's first trial.
        assert [t.number for t in seeded] == list(range(1, SOURCE + 1))
    else:
        assert 1 <= len(seeded) <= min(WARM_START_BEST, SOURCE)
        trained = sorted(table["config/lr"])
        assert any(t.params["lr"] == pytest.approx(lr) for t in seeded for lr in trained)
    settings = json.loads((earlier / "w" / "lens_search.json").read_text())
    assert settings["config"]["warm_start"] == "r"


def test_warm_start_refuses_another_task_and_another_space(
    earlier: Path, tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    other_space = tmp_path / "space.json"
    narrowed = json.loads(tiny_superres_space.read_text())
    narrowed["lr"] = {"low": 1e-3, "high": 2e-3, "log": True}
    other_space.write_text(json.dumps(narrowed))
    command = search_command(tiny_superres_dir, other_space, earlier, samples=2)
    refused = run(named(command, "s") + ["--warm-start", "r"])
    assert refused.returncode == 2, refused.stdout[-2000:] + refused.stderr[-2000:]
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith(
        "search.superres: error: --warm-start r: its search space differs from this search's (lr:"
    )
    assert not (earlier / "s").exists()

    classify = [
        sys.executable, "-m", "search.classify", "--backbone", "cnn", "--storage", str(earlier),
        "--name", "c", "--warm-start", "r",
    ]  # fmt: skip
    refused = run(classify)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "search.classify: error: --warm-start r: it is a superres search, not classify"
    ]
    assert not (earlier / "c").exists()

    missing = run(named(command, "m") + ["--warm-start", "nope"])
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith(
        "search.superres: error: --warm-start nope: no experiment"
    )
    assert not (earlier / "m").exists()

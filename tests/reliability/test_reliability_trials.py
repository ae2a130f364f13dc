"""A trial that raises is retried from its checkpoint; one that keeps failing is marked errored.

Failures come from the test harness (``tests.harness.failures``): the search's trainables are
wrapped so that a trial raises right after reporting a chosen epoch. Each test starts its own
local Ray.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray

from lens_search.experiments.tasks import SUPERRES
from lens_search.experiments.trials import STATUS_COMPLETED, STATUS_ERRORED, STATUS_STOPPED
from lens_search.search.cli import main_for
from lens_search.search.config import SearchConfig
from lens_search.search.outcome import EXIT_ALL_ERRORED, EXIT_OK, exit_status
from lens_search.search.run import run_search
from tests.harness.failures import FailureSwitch, inject_into_search


@pytest.fixture
def failing_ray(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[None]:
    """A local Ray for a search whose trials fail per ``request.param`` (a FailureSwitch)."""
    assert not ray.is_initialized()
    inject_into_search(monkeypatch, request.param)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def small_pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 LR/HR pairs of 8x8 -> 16x16 (HR averaged down to LR): epochs take milliseconds."""
    root = tmp_path_factory.mktemp("pairs")
    hr = np.random.default_rng(0).random((12, 16, 16)).astype(np.float32)
    lr = hr.reshape(12, 8, 2, 8, 2).mean(axis=(2, 4))
    for kind, images in (("LR", lr), ("HR", hr)):
        (root / kind).mkdir()
        for i, image in enumerate(images):
            np.save(root / kind / f"sample{i}.npy", image[None])
    return root


def reported(experiment: Path) -> dict[str, list[dict]]:
    """Every result a trial reported (its result.json lines), by trial id."""
    runs = {}
    for path in experiment.glob("*/result.json"):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        runs[lines[0]["trial_id"]] = lines
    return runs


@pytest.mark.parametrize("failing_ray", [FailureSwitch(fail_at=2, once=True)], indirect=True)
def test_failed_trial_resumes_from_its_checkpoint(
    failing_ray: None, small_pairs: Path, tmp_path: Path
) -> None:
    config = SearchConfig(
        samples=2, max_epochs=3, grace_period=3, data=str(small_pairs),
        storage=str(tmp_path), name="retry", max_failures=1,
    )  # fmt: skip
    table = run_search(SUPERRES, config)

    assert len(table) == 2
    assert set(table["status"]) == {STATUS_COMPLETED}, table[["status", "error"]]
    assert (table["error"] == "").all()
    for trial_id, results in reported(tmp_path / "retry").items():
        # Each trial failed once right after epoch 2 and went on from that epoch's checkpoint:
        # no epoch was trained twice, and Ray counted the third epoch as the first after a
        # restore (which only a failure causes here).
        assert [r["epoch"] for r in results] == [1, 2, 3], trial_id
        assert [r["iterations_since_restore"] for r in results] == [1, 2, 1], trial_id


@pytest.mark.parametrize("failing_ray", [FailureSwitch(fail_at=2)], indirect=True)
def test_trial_that_keeps_failing_is_errored_and_the_search_goes_on(
    failing_ray: None, small_pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One trial at a time: the first always passes ASHA's epoch-1 rung, so it reaches epoch 2 and
    # fails there on every attempt; the trials after it still run (ASHA may stop them at epoch 1).
    config = SearchConfig(
        samples=3, max_epochs=4, reduction_factor=2, max_concurrent=1, max_failures=1,
        data=str(small_pairs), storage=str(tmp_path), name="fail",
    )  # fmt: skip
    table = run_search(SUPERRES, config)
    out = capsys.readouterr().out

    assert len(table) == 3 == table["trial_id"].nunique()
    errored = table[table["status"] == STATUS_ERRORED]
    assert len(errored) >= 1
    # Attempt 1 trains epochs 1-2, the retry from epoch 2's checkpoint trains epoch 3: two failures.
    assert (errored["epochs"] == 3).all(), errored[["epochs", "error"]]
    assert errored["error"].str.contains("RuntimeError: injected failure at epoch 2").all()
    others = table[table["status"] != STATUS_ERRORED]
    assert set(others["status"]) <= {STATUS_STOPPED}
    assert (others["epochs"] == 1).all()
    first = min(reported(tmp_path / "fail").items(), key=lambda item: item[1][0]["timestamp"])
    assert first[0] in set(errored["trial_id"])
    assert f"errored: {len(errored)}" in out
    assert pd.read_csv(tmp_path / "fail" / "leaderboard.csv")["trial_id"].nunique() == 3
    # The summary says how many errored, with what, and where each whole error is.
    assert f"Errored trials ({len(errored)} of 3):" in out
    # Identical errors share one line naming their trials.
    lines = [line for line in out.splitlines() if "injected failure" in line]
    assert len(lines) == 1, out
    ids, error = lines[0].removeprefix("  trial ").split(": ", 1)
    assert set(ids.split(", ")) == set(errored["trial_id"])
    assert error == "RuntimeError: injected failure at epoch 2"
    where = next(line for line in out.splitlines() if line.startswith("Full error"))
    if len(errored) == 1:
        assert "injected failure at epoch 2" in Path(where.split(": ", 1)[1]).read_text()
    else:
        assert where.endswith(
            f"{tmp_path / 'fail'}/<trial folder>/error.txt (one per errored trial)"
        )
    assert exit_status(table) == EXIT_OK
    assert "finished in" in out


@pytest.mark.parametrize("failing_ray", [FailureSwitch(fail_at=1)], indirect=True)
def test_search_whose_every_trial_errored_exits_1_with_one_line_per_error(
    failing_ray: None, small_pairs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every trial fails right after reporting epoch 1; a grace period of 2 keeps ASHA from
    # stopping one on that report before its failure lands.
    argv = [
        "--samples", "2", "--max-epochs", "2", "--grace-period", "2", "--max-failures", "0",
        "--data", str(small_pairs), "--storage", str(tmp_path), "--name", "allfail",
    ]  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main_for("superres", argv)
    out, err = capsys.readouterr()

    assert exited.value.code == EXIT_ALL_ERRORED == 1
    assert "Search allfail failed: every trial errored" in out
    assert "Trials: 2, stopped early by ASHA: 0, errored: 2" in out
    # Both trials ended with the same error: one line naming both.
    table = pd.read_csv(tmp_path / "allfail" / "leaderboard.csv")
    lines = [line for line in out.splitlines() if "injected failure" in line]
    assert len(lines) == 1, out
    ids, error = lines[0].removeprefix("  trial ").split(": ", 1)
    assert set(ids.split(", ")) == set(table["trial_id"])
    assert error == "RuntimeError: injected failure at epoch 1"
    assert f"Full errors: {tmp_path / 'allfail'}/<trial folder>/error.txt" in out
    assert len(list((tmp_path / "allfail").glob("*/error.txt"))) == 2
    assert err.strip().splitlines()[-1] == "search.superres: every trial errored (errors above)"

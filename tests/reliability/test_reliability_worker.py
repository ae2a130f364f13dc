"""A worker node dies mid-search: its trials go on from their checkpoints on the other worker.

A real 3-node Ray from ``ray start`` (head without GPU, two workers with one fake GPU each), of
its own, because the test kills a node. The search CLI runs as a user runs it, one GPU per trial
(so trials run only on the workers); when a trial on worker 0 has reported an epoch, worker 0 is
SIGKILLed like a lost machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from lens_search.experiments.trials import STATUS_COMPLETED
from tests.harness.localcluster import LocalCluster, local_multinode_cluster

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 4
EPOCHS = 4
# The GCS declares a killed node dead after about period x threshold instead of 15 s.
FAST_NODE_DEATH = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3"}


@pytest.fixture(scope="module")
def doomed_cluster() -> Iterator[LocalCluster]:
    """Head + 2 fake-GPU workers for this module alone (a test kills one of them)."""
    with local_multinode_cluster(num_workers=2, gpus_per_worker=1, env=FAST_NODE_DEATH) as cluster:
        yield cluster


def reported(experiment: Path) -> dict[str, list[dict]]:
    """Each trial's results so far (result.json lines), by trial folder name; a last line that
    Tune is still writing is left out."""
    runs = {}
    for path in experiment.glob("*/result.json"):
        lines = []
        for line in path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                break
        if lines:
            runs[path.parent.name] = lines
    return runs


def training_on(experiment: Path, node: str, below: int) -> dict[str, int]:
    """Trials whose last reported epoch is below ``below`` and was trained on ``node``."""
    return {
        name: lines[-1]["epoch"]
        for name, lines in reported(experiment).items()
        if lines[-1]["node_id"] == node and lines[-1]["epoch"] < below
    }


def test_killed_worker_node_costs_at_most_one_epoch(
    doomed_cluster: LocalCluster, tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    worker0, worker1 = doomed_cluster.worker_node_ids
    experiment = tmp_path / "runs" / "w"
    # --grace-period = --max-epochs: ASHA stops no trial, so every trial must reach EPOCHS.
    search = subprocess.Popen(
        [
            sys.executable, "-m", "search.superres", "--address", doomed_cluster.address,
            "--gpus-per-trial", "1", "--samples", str(SAMPLES), "--max-epochs", str(EPOCHS),
            "--grace-period", str(EPOCHS), "--data", str(tiny_superres_dir),
            "--space", str(tiny_superres_space),
            "--storage", str(tmp_path / "runs"), "--name", "w",
        ],
        cwd=REPO, env={**os.environ, **doomed_cluster.env}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # Worker 0 is paused once a trial trains there, and killed if that trial has at least two
        # epochs left: the one result that can still be on its way to the driver then leaves it
        # unfinished, so the kill costs it an epoch however fast or loaded the machine is.
        deadline = time.monotonic() + 400
        while True:
            if training_on(experiment, worker0, below=EPOCHS):
                doomed_cluster.pause_worker(0)
                on_worker0 = training_on(experiment, worker0, below=EPOCHS - 1)
                if on_worker0:
                    break
                doomed_cluster.resume_worker(0)
            assert search.poll() is None, search.stdout.read()[-3000:]
            assert time.monotonic() < deadline, "no trial trained an epoch on worker 0"
            time.sleep(0.05)
        doomed_cluster.kill_worker(0)
        out, _ = search.communicate(timeout=500)
    finally:
        search.kill()

    assert search.returncode == 0, out[-4000:]
    table = pd.read_csv(experiment / "leaderboard.csv")
    assert len(table) == SAMPLES == table["trial_id"].nunique()
    assert set(table["status"]) == {STATUS_COMPLETED}, table[["status", "epochs", "error"]]
    runs = reported(experiment)
    assert len(runs) == SAMPLES
    assert set(table["trial_id"]) == {lines[0]["trial_id"] for lines in runs.values()}
    for name, lines in runs.items():
        epochs = [line["epoch"] for line in lines]
        assert sorted(set(epochs)) == list(range(1, EPOCHS + 1)), (name, epochs)
        assert len(epochs) - len(set(epochs)) <= 1, (name, epochs)  # at most one epoch redone
    affected = 0
    for name in on_worker0:
        lines = runs[name]
        last_on_worker0 = max(line["epoch"] for line in lines if line["node_id"] == worker0)
        if last_on_worker0 == EPOCHS:
            continue  # it finished on worker 0 just before the kill
        affected += 1
        moved = [line for line in lines if line["node_id"] == worker1]
        # The trial went on on worker 1 from its checkpoint, not from scratch.
        assert moved and moved[0]["epoch"] in (last_on_worker0, last_on_worker0 + 1), lines
        assert table.set_index("trial_id").loc[lines[0]["trial_id"], "node"] == worker1
    assert affected >= 1

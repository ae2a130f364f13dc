"""A user's search against a real 3-node Ray (head + 2 fake-GPU workers started with ``ray start``).

The search CLI runs in its own interpreter with ``--address`` and one GPU per trial, as on a
``ray up`` cluster: the data reaches the workers through Ray's object store, checkpoints go to
``--storage`` (a local folder works here only because every node shares this machine; a real
cluster needs a URI such as s3://...).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from results.leaderboard import STATUS_COMPLETED, STATUS_STOPPED
from search.localcluster import AUTH_ENV_VARS, LocalCluster

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 4


def test_search_spreads_trials_over_both_gpu_workers(
    multinode_cluster: LocalCluster, tiny_superres_dir: Path, tmp_path: Path
) -> None:
    # Only the token's path, as a user with a token file would have: connect() turns token
    # authentication on by itself (Ray 2.60 needs RAY_AUTH_MODE=token for an explicit address).
    env = {k: v for k, v in os.environ.items() if k not in (*AUTH_ENV_VARS, "RAY_ADDRESS")}
    env["RAY_AUTH_TOKEN_PATH"] = str(multinode_cluster.token_path)
    storage = tmp_path / "runs"
    proc = subprocess.run(
        [
            sys.executable, "-m", "search.superres", "--address", multinode_cluster.address,
            "--gpus-per-trial", "1", "--samples", str(SAMPLES), "--max-epochs", "2",
            "--data", str(tiny_superres_dir), "--storage", str(storage), "--name", "m",
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    table = pd.read_csv(storage / "m" / "leaderboard.csv")
    assert len(table) == SAMPLES == table["trial_id"].nunique()
    assert set(table["status"]) <= {STATUS_COMPLETED, STATUS_STOPPED}, table[["status", "error"]]
    assert table["error"].isna().all()
    # One GPU per trial and none on the head: every trial ran on a worker, both workers were used.
    assert set(table["node"]) == set(multinode_cluster.worker_node_ids)
    assert f"Trials: {SAMPLES}, stopped early by ASHA" in proc.stdout

"""A user's search against a real 3-node Ray (head + 2 fake-GPU workers started with ``ray start``).

The search CLI runs in its own interpreter with ``--address`` and one GPU per trial, as on a
``ray up`` cluster: the data reaches the workers through Ray's object store, checkpoints go to
``--storage`` (a local folder works here only because every node shares this machine; a real
cluster needs a URI such as s3://...). Each search gets a HOME of its own whose
``~/.ray/auth_token`` is a stale token of another cluster, as an earlier embedded search leaves
one; the search must find the mode of the cluster it joins (with or without token authentication).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from lens_search.experiments.trials import STATUS_COMPLETED, STATUS_STOPPED
from tests.harness.localcluster import AUTH_ENV_VARS, LocalCluster, local_multinode_cluster

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 4
STALE_TOKEN = "0123456789abcdef0123456789abcdef"


def search_env(home: Path, stale_token: bool, **extra: str) -> dict[str, str]:
    """This environment without Ray auth settings, with HOME at ``home`` (and a stale token)."""
    home.mkdir(parents=True, exist_ok=True)
    if stale_token:
        (home / ".ray").mkdir()
        (home / ".ray" / "auth_token").write_text(STALE_TOKEN)
    env = {k: v for k, v in os.environ.items() if k not in (*AUTH_ENV_VARS, "RAY_ADDRESS")}
    return {**env, "HOME": str(home), **extra}


def search(
    address: str, data: Path, storage: Path, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """``python -m search.superres --address ADDRESS`` with one GPU per trial."""
    return subprocess.run(
        [
            sys.executable, "-m", "search.superres", "--address", address,
            "--gpus-per-trial", "1", "--data", str(data), "--storage", str(storage), *extra,
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture
def open_cluster() -> Iterator[LocalCluster]:
    """Head (no GPU) + 1 fake-GPU worker WITHOUT token authentication (RAY_AUTH_MODE=disabled).

    Function-scoped and used by the first test only, so it is gone before ``multinode_cluster``
    (token authentication, the rest of the module) starts.
    """
    with local_multinode_cluster(num_workers=1, gpus_per_worker=1, token_auth=False) as cluster:
        yield cluster


def test_search_joins_a_cluster_without_token_auth_despite_a_stale_token(
    open_cluster: LocalCluster,
    tiny_superres_dir: Path,
    tiny_superres_space: Path,
    tmp_path: Path,
) -> None:
    env = search_env(tmp_path / "home", stale_token=True)
    storage = tmp_path / "runs"
    proc = search(
        open_cluster.address, tiny_superres_dir, storage, env,
        "--samples", "2", "--max-epochs", "1", "--name", "open",
        "--space", str(tiny_superres_space),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    table = pd.read_csv(storage / "open" / "leaderboard.csv")
    assert len(table) == 2 == table["trial_id"].nunique()
    assert set(table["status"]) <= {STATUS_COMPLETED, STATUS_STOPPED}, table[["status", "error"]]
    assert table["error"].isna().all()
    assert set(table["node"]) == set(open_cluster.worker_node_ids)  # trained on the worker node
    assert "errored: 0" in proc.stdout


def test_search_spreads_trials_over_both_gpu_workers(
    multinode_cluster: LocalCluster,
    tiny_superres_dir: Path,
    tiny_superres_space: Path,
    tmp_path: Path,
) -> None:
    # The cluster's token by path, a stale one in ~/.ray: connect() finds that the cluster wants
    # a token and joins with the one Ray reads first (RAY_AUTH_TOKEN_PATH).
    token = str(multinode_cluster.token_path)
    env = search_env(tmp_path / "home", stale_token=True, RAY_AUTH_TOKEN_PATH=token)
    storage = tmp_path / "runs"
    proc = search(
        multinode_cluster.address, tiny_superres_dir, storage, env,
        "--samples", str(SAMPLES), "--max-epochs", "2", "--name", "m",
        "--space", str(tiny_superres_space),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    table = pd.read_csv(storage / "m" / "leaderboard.csv")
    assert len(table) == SAMPLES == table["trial_id"].nunique()
    assert set(table["status"]) <= {STATUS_COMPLETED, STATUS_STOPPED}, table[["status", "error"]]
    assert table["error"].isna().all()
    # One GPU per trial and none on the head: every trial ran on a worker, both workers were used.
    assert set(table["node"]) == set(multinode_cluster.worker_node_ids)
    assert f"Trials: {SAMPLES}, stopped early by ASHA" in proc.stdout


@pytest.mark.parametrize(
    ("stale_token", "reason"),
    [
        (False, "wants an auth token and none was found (set RAY_AUTH_TOKEN"),
        (True, "refused the auth token from"),
    ],
)
def test_joining_a_token_cluster_without_its_token_is_refused_in_one_line(
    multinode_cluster: LocalCluster,
    tiny_superres_dir: Path,
    tmp_path: Path,
    stale_token: bool,
    reason: str,
) -> None:
    env = search_env(tmp_path / "home", stale_token)
    storage = tmp_path / "runs"
    proc = search(multinode_cluster.address, tiny_superres_dir, storage, env, "--name", "m")

    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("search.superres: error: the Ray cluster at ")
    assert reason in lines[0]
    assert not (storage / "m").exists()

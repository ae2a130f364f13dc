"""The documented flow on Ray's own autoscaler: a cluster shaped like ``cluster.yaml`` that starts
with its head alone (0 CPU, 0 GPU) and GPU workers from 0, then ``python -m search.superres``.

The cluster is Ray's fake multi-node provider (``tests.harness.autoscaling``), built from
``cluster.yaml``'s own node types, so these tests fail when ``cluster.yaml`` and the search stop
fitting each other. Worker nodes are real ``ray start`` processes launched and removed by Ray's
v1 autoscaler; the search runs in its own interpreter as a user runs it, with no resource flags
(a trial takes a GPU because a launchable node type has one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ray import tune

from lens_search.search.autoscaler_adapter import autoscaler_config, autoscaler_status
from lens_search.search.cluster import ClusterShape, NodeOffer, launchable_types, trial_resources
from tests.harness import failing_provider
from tests.harness.autoscaling import (
    FAKE_HEAD_TYPE,
    AutoscalingCluster,
    autoscaling_cluster,
    fake_cluster_config,
    wait_for,
)
from tests.harness.localcluster import ray_auth_env

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WORKER_TYPE = "gpu_worker"
SCALE_DOWN_S = 90.0  # idle_timeout_minutes 0.1 (6 s) + autoscaler rounds, on a loaded machine


@pytest.fixture(scope="module")
def cluster() -> Iterator[AutoscalingCluster]:
    """A head alone (0 CPU, 0 GPU) whose autoscaler launches ``gpu_worker`` nodes from zero."""
    # Idle workers go after 15 s: shorter, and a node finishing one trial can be removed just as
    # Tune places the next trial on it (Ray then retries that trial, a line on the console).
    with autoscaling_cluster(fake_cluster_config(idle_timeout_minutes=0.25)) as started:
        yield started


def search(
    cluster: AutoscalingCluster, home: Path, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m search.superres --address ADDRESS ARGS`` as a user on the head runs it."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**cluster.env, "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "search.superres", "--address", cluster.address, *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def tiny_search_args(data: Path, space: Path, storage: Path, name: str) -> list[str]:
    return [
        "--data", str(data), "--space", str(space), "--storage", str(storage), "--name", name,
    ]  # fmt: skip


def shown(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


# --- The pre-flight check against the node types of cluster.yaml (no Ray needed) ---


def shipped_shape() -> ClusterShape:
    """The shipped cluster right after ``ray up``: the head alone, gpu_worker launchable."""
    import yaml

    config = yaml.safe_load((REPO / "cluster.yaml").read_text())
    head = config["available_node_types"][config["head_node_type"]]["resources"]
    alive = (NodeOffer("alive node", float(head["CPU"]), float(head["GPU"])),)
    return ClusterShape(1, 0.0, 0.0, 0.0, 0.0, alive, launchable_types(config), autoscaling=True)


def test_a_trial_fits_a_node_type_the_autoscaler_can_launch() -> None:
    shape = shipped_shape()
    assert [offer.name for offer in shape.launchable] == [WORKER_TYPE]
    assert trial_resources(shape, 1, None) == {"cpu": 1, "gpu": 1.0}  # a GPU by default
    assert trial_resources(shape, 8, 1) == {"cpu": 8, "gpu": 1}
    assert trial_resources(shape, 2, 0.5) == {"cpu": 2, "gpu": 0.5}  # two trials per GPU


@pytest.mark.parametrize(
    ("cpus", "gpus", "start"),
    [
        (1.0, 2.0, "--cpus-per-trial 1 --gpus-per-trial 2 cannot be scheduled"),
        (9.0, 1.0, "--cpus-per-trial 9 --gpus-per-trial 1 cannot be scheduled"),
    ],
)
def test_a_request_no_node_type_satisfies_is_refused_naming_the_types(
    cpus: float, gpus: float, start: str
) -> None:
    with pytest.raises(Exception) as refused:
        trial_resources(shipped_shape(), cpus, gpus)
    message = str(refused.value)
    assert message.startswith(start)
    assert "gpu_worker: 8 CPUs, 1 GPUs, up to 4 nodes" in message
    assert "alive node: 0 CPUs, 0 GPUs" in message


def test_memory_per_trial_must_fit_a_node_that_also_has_the_cpus_and_gpus() -> None:
    config = fake_cluster_config(cpus_per_worker=8)
    config["available_node_types"][WORKER_TYPE]["resources"]["memory"] = 32 * 2**30
    alive = (NodeOffer("alive node", 0.0, 0.0, 16 * 2**30),)
    shape = ClusterShape(1, 0, 0, 0, 0, alive, launchable_types(config), autoscaling=True)
    assert trial_resources(shape, 1, None, 24) == {"cpu": 1, "gpu": 1.0, "memory": 24 * 2**30}
    with pytest.raises(Exception, match="--memory-per-trial 40 cannot be scheduled") as refused:
        trial_resources(shape, 1, None, 40)
    assert "gpu_worker: 8 CPUs, 1 GPUs, 32 GiB, up to 4 nodes" in str(refused.value)
    fixed = ClusterShape(1, 2, 0, 2, 0, (NodeOffer("alive node", 2.0, 0.0, 8 * 2**30),))
    assert trial_resources(fixed, 1, None, 4)["memory"] == 4 * 2**30
    with pytest.raises(Exception, match="no node with those CPUs and GPUs has that much memory"):
        trial_resources(fixed, 1, None, 9)


def test_a_type_without_room_is_not_launchable() -> None:
    config = fake_cluster_config()
    config["available_node_types"][WORKER_TYPE]["max_workers"] = 0
    assert launchable_types(config) == ()
    config = fake_cluster_config()
    config["max_workers"] = 0
    assert launchable_types(config) == ()


def test_the_fake_cluster_has_cluster_yaml_s_node_types() -> None:
    import yaml

    shipped = yaml.safe_load((REPO / "cluster.yaml").read_text())["available_node_types"]
    fake = fake_cluster_config()["available_node_types"]
    assert set(fake) - {FAKE_HEAD_TYPE} == set(shipped) - {"head"}
    for name, node_type in shipped.items():
        twin = fake[FAKE_HEAD_TYPE if name == "head" else name]
        assert twin["resources"].get("GPU", 0) == node_type["resources"].get("GPU", 0)
        assert twin.get("min_workers", 0) == node_type.get("min_workers", 0)


# --- On Ray's autoscaler ---


def test_the_adapter_reads_the_autoscaler_s_report_and_config(
    cluster: AutoscalingCluster,
) -> None:
    import ray

    with ray_auth_env(cluster.env):
        ray.init(address=cluster.address, log_to_driver=False)
        try:
            status = wait_for(autoscaler_status, 30, "the autoscaler's first report")
            config = autoscaler_config(status)
        finally:
            ray.shutdown()
    assert "pending_launches" in status["autoscaler_report"]
    assert config is not None
    assert set(config["available_node_types"]) == {FAKE_HEAD_TYPE, WORKER_TYPE}


FIXED_HEAD_PROBE = """
import json, time, ray
from lens_search.search.autoscaler_adapter import autoscaler_config, autoscaler_status
from lens_search.search.cluster import cluster_shape
ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
deadline = time.monotonic() + 60
while (status := autoscaler_status()) is None and time.monotonic() < deadline:
    time.sleep(0.5)
shape = cluster_shape()
print(json.dumps({"report": status is not None, "config": autoscaler_config(status or {}),
                  "autoscaling": shape.autoscaling, "launchable": len(shape.launchable)}))
"""


def test_a_head_without_an_autoscaling_config_is_a_fixed_cluster(tmp_path: Path) -> None:
    """Every head runs Ray's monitor, which reports without an autoscaler config: not elastic.

    In a fresh interpreter with a HOME of its own (no ~/ray_bootstrap_config.yaml; Ray caches
    the auth token it reads from HOME, so this process's Ray must not see another HOME).
    """
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, "-c", FIXED_HEAD_PROBE],
        cwd=REPO, env={**env, "HOME": str(tmp_path)}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"report": True, "config": None, "autoscaling": False, "launchable": 0}


def test_an_impossible_request_is_refused_before_anything_is_created(
    cluster: AutoscalingCluster, tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "runs"
    args = tiny_search_args(tiny_superres_dir, tiny_superres_space, storage, "two-gpus")
    proc = search(cluster, tmp_path / "home", *args, "--gpus-per-trial", "2")
    assert proc.returncode == 2, shown(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "--gpus-per-trial 2 cannot be scheduled" in lines[0]
    assert "gpu_worker: 1 CPUs, 1 GPUs, up to 4 nodes" in lines[0]
    assert not (storage / "two-gpus").exists()
    assert not cluster.worker_processes()  # nothing was launched for it


def test_a_dry_run_counts_the_nodes_the_autoscaler_can_launch_and_launches_none(
    cluster: AutoscalingCluster, tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "runs"
    args = tiny_search_args(tiny_superres_dir, tiny_superres_space, storage, "planned")
    proc = search(cluster, tmp_path / "home", *args, "--samples", "6", "--dry-run")
    assert proc.returncode == 0, shown(proc)
    out = proc.stdout
    assert "1 CPU, 1 GPU per trial on the cluster at" in out, out
    assert "the autoscaler can add gpu_worker: 1 CPUs, 1 GPUs, up to 4 nodes" in out, out
    assert "4 at once" in out, out  # every launchable gpu_worker, one trial each
    assert "estimated wall time:" in out
    assert not storage.exists()
    assert not cluster.worker_processes()  # a plan launches nothing


def test_a_search_from_zero_workers_runs_on_launched_workers_which_go_away_after(
    cluster: AutoscalingCluster, tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    wait_for(lambda: not cluster.worker_processes(), SCALE_DOWN_S, "no worker before the search")
    storage = tmp_path / "runs"
    args = tiny_search_args(tiny_superres_dir, tiny_superres_space, storage, "elastic")
    proc = search(cluster, tmp_path / "home", *args, "--samples", "3", "--max-epochs", "2")
    assert proc.returncode == 0, shown(proc)

    table = pd.read_csv(storage / "elastic" / "leaderboard.csv")
    assert len(table) == 3 and table["error"].isna().all(), table
    head_id = "f" * 51 + "00000"  # the fake provider's head node id
    assert head_id not in set(table["node"])  # every trial ran on a launched gpu_worker
    assert proc.stdout.count("Waiting for nodes: ") >= 1, proc.stdout[-3000:]
    # The first status line may come before the autoscaler has started a launch (how soon is
    # the machine's speed); one while it launches names the node type.
    waiting = next(
        (line for line in proc.stdout.splitlines() if "gpu_worker launching" in line),
        "no waiting line names a launch:\n" + proc.stdout[-3000:],
    )
    assert "Waiting for nodes: " in waiting, waiting
    # Tune keeps every trial the launchable nodes could run pending (not one at a time), so
    # the autoscaler sees the whole demand at once.
    assert "3 trials pending, none running" in waiting, waiting
    assert proc.stderr.strip() == "", proc.stderr  # autoscaler events go to search.log
    # Nothing of the search keeps the workers busy: the autoscaler removes them once idle.
    wait_for(lambda: not cluster.worker_processes(), SCALE_DOWN_S, "workers removed after")


def result_epochs(trial_folder: Path) -> list[int]:
    lines = (trial_folder / "result.json").read_text().splitlines()
    return [json.loads(line)["epoch"] for line in lines if line.strip()]


def test_a_worker_lost_mid_search_is_replaced_and_its_trial_resumes(
    cluster: AutoscalingCluster, tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    wait_for(lambda: not cluster.worker_processes(), SCALE_DOWN_S, "no worker before the search")
    storage = tmp_path / "runs"
    epochs = 5
    args = tiny_search_args(tiny_superres_dir, tiny_superres_space, storage, "spot")
    home = tmp_path / "home"
    home.mkdir()
    command = [sys.executable, "-m", "search.superres", "--address", cluster.address, *args]
    command += ["--samples", "1", "--max-epochs", str(epochs)]
    env = {**cluster.env, "HOME": str(home)}
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            folder = wait_for(lambda: trial_folder(storage / "spot"), 300, "the trial's folder")
            wait_for(lambda: result_epochs_or_none(folder), 300, "the trial's first epoch")
            (lost,) = cluster.worker_processes()
            cluster.kill_worker(lost)  # a reclaimed spot instance
            stdout, stderr = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, f"{stdout[-3000:]}\n{stderr[-3000:]}"
    table = pd.read_csv(storage / "spot" / "leaderboard.csv")
    assert pd.isna(table.loc[0, "error"]), table
    assert lost not in cluster.worker_processes()  # the lost node is gone for good
    reported = result_epochs(folder)
    assert reported == list(range(1, epochs + 1)), reported  # resumed; no epoch twice


def trial_folder(experiment: Path) -> Path | None:
    found = [p for p in experiment.glob("_superres_fn_*") if p.is_dir()]
    return found[0] if found else None


def result_epochs_or_none(folder: Path) -> list[int] | None:
    try:
        return result_epochs(folder) or None
    except (OSError, ValueError, KeyError):
        return None


def test_a_launch_that_never_comes_ends_on_the_timeout_resumable(
    tiny_superres_dir: Path, tiny_superres_space: Path, tmp_path: Path
) -> None:
    config: dict[str, Any] = fake_cluster_config()
    config["provider"]["type"] = "external"
    config["provider"]["module"] = "tests.harness.failing_provider.NoCapacityProvider"
    storage = tmp_path / "runs"
    args = tiny_search_args(tiny_superres_dir, tiny_superres_space, storage, "stuck")
    with autoscaling_cluster(config) as no_capacity:
        proc = search(no_capacity, tmp_path / "home", *args, "--launch-timeout", "15")
    assert proc.returncode == 3, shown(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("search.superres: error: no trial could start within --launch-timeout")
    assert failing_provider.CATEGORY in line and "capacity" in line  # why, as Ray knows it
    assert "--resume --name stuck" in line
    assert "Waiting for nodes: " in proc.stdout
    assert tune.Tuner.can_restore(str(storage / "stuck"))  # the experiment stays resumable
    state = next((storage / "stuck").glob("experiment_state-*.json")).read_text()
    assert "PENDING" in state and "TERMINATED" not in state  # --resume runs them


def test_memory_no_node_offers_is_refused_before_anything_is_created(
    tiny_superres_dir: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    storage = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "search.superres", "--data", str(tiny_superres_dir),
         "--memory-per-trial", "100000", "--storage", str(storage), "--name", "big"],
        cwd=REPO, env={**env, "HOME": str(tmp_path)}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, shown(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "--memory-per-trial 100000 cannot be scheduled" in lines[0]
    assert "that much memory" in lines[0]
    assert not (storage / "big").exists()


def test_the_launch_timeout_is_a_validated_flag(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.run(
        [sys.executable, "-m", "search.superres", "--launch-timeout", "0",
         "--storage", str(tmp_path / "runs")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "search.superres: error: --launch-timeout must be > 0 seconds, got 0.0"
    )
    assert not (tmp_path / "runs").exists()

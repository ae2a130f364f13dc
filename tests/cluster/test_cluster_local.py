"""A real 3-node Ray from ``ray start`` (head + 2 fake-GPU workers): placement, node loss, stop."""

from __future__ import annotations

import os
import sys
import time

import pytest
import ray
from ray import cloudpickle, tune

from tests.harness.localcluster import LocalCluster

pytestmark = pytest.mark.slow

# Worker processes cannot import this test module: ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def test_cluster_has_three_nodes_and_two_gpus(cluster_driver: LocalCluster) -> None:
    alive = [node for node in ray.nodes() if node["Alive"]]
    assert {node["NodeID"] for node in alive} == {n.node_id for n in cluster_driver.nodes}
    resources = ray.cluster_resources()
    assert resources["GPU"] == 2
    assert resources["CPU"] == 3
    head = next(node for node in alive if node["NodeID"] == cluster_driver.head.node_id)
    assert head["Resources"].get("GPU", 0) == 0


@ray.remote(num_gpus=1)
def _where_gpu_task_runs() -> tuple[str, str | None]:
    time.sleep(0.3)
    return ray.get_runtime_context().get_node_id(), os.environ.get("CUDA_VISIBLE_DEVICES")


@ray.remote(num_gpus=1, num_cpus=0)
class _GpuActor:
    def where(self) -> tuple[str, list[str]]:
        return ray.get_runtime_context().get_node_id(), ray.get_gpu_ids()


def test_gpu_tasks_and_actors_run_on_both_worker_nodes(cluster_driver: LocalCluster) -> None:
    results = ray.get([_where_gpu_task_runs.remote() for _ in range(4)], timeout=60)
    assert {node for node, _ in results} == set(cluster_driver.worker_node_ids)
    assert all(devices == "0" for _, devices in results)

    actors = [_GpuActor.remote() for _ in range(2)]
    placed = ray.get([actor.where.remote() for actor in actors], timeout=60)
    assert {node for node, _ in placed} == set(cluster_driver.worker_node_ids)
    assert all(len(gpu_ids) == 1 for _, gpu_ids in placed)
    for actor in actors:
        ray.kill(actor)


def _gpu_trial(config: dict) -> None:
    """A trivial trainable: reports where it ran and which GPU it was given."""
    time.sleep(0.5)
    tune.report(
        {
            "score": config["x"],
            "node_id": ray.get_runtime_context().get_node_id(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        }
    )


def run_gpu_trials(storage_path: str, num_trials: int = 4) -> tune.ResultGrid:
    """Run ``num_trials`` one-GPU Tune trials against the connected cluster."""
    tuner = tune.Tuner(
        tune.with_resources(_gpu_trial, {"cpu": 1, "gpu": 1}),
        param_space={"x": tune.grid_search(list(range(num_trials)))},
        tune_config=tune.TuneConfig(metric="score", mode="max"),
        run_config=tune.RunConfig(name="gpu_spread", storage_path=storage_path, verbose=0),
    )
    return tuner.fit()


def test_tune_trials_spread_over_both_gpu_workers(cluster_driver: LocalCluster, tmp_path) -> None:
    results = run_gpu_trials(str(tmp_path))
    frame = results.get_dataframe()
    assert len(frame) == 4 and not results.errors
    assert set(frame["node_id"]) == set(cluster_driver.worker_node_ids)
    assert set(frame["cuda_visible_devices"]) == {"0"}


# The last two tests end the module's cluster: first one worker node, then all of it.


def _alive_ids() -> set[str]:
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


def test_killed_worker_node_leaves_the_alive_nodes(cluster_driver: LocalCluster) -> None:
    survivor = cluster_driver.workers[0]
    killed = cluster_driver.kill_worker(1)
    deadline = time.monotonic() + 30
    while killed in _alive_ids() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _alive_ids() == {cluster_driver.head.node_id, survivor.node_id}
    assert cluster_driver.processes(cluster_driver.workers[1]) == []
    assert cluster_driver.processes(survivor), "the other worker keeps running"


def test_stop_leaves_no_process_of_this_cluster(cluster_driver: LocalCluster, tmp_path) -> None:
    cluster_driver.save(tmp_path / "cluster.json")  # what scripts/local_cluster.py stop reads
    assert LocalCluster.load(tmp_path / "cluster.json") == cluster_driver
    ray.shutdown()
    cluster_driver.stop()
    assert cluster_driver.processes() == []
    assert not cluster_driver.temp_dir.exists()

"""Losing a worker node, and stopping a ``ray start`` cluster without touching any other Ray."""

from __future__ import annotations

import time

import pytest
import ray

from search.localcluster import connected, local_multinode_cluster

pytestmark = pytest.mark.slow

FAST_NODE_DEATH = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3"}


def _alive_ids() -> set[str]:
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


def test_killed_worker_leaves_alive_nodes_and_stop_leaves_no_process() -> None:
    with local_multinode_cluster(num_workers=1, env=FAST_NODE_DEATH) as cluster:
        with connected(cluster, log_to_driver=False):
            assert _alive_ids() == {cluster.head.node_id, cluster.workers[0].node_id}
            killed = cluster.kill_worker(0)
            deadline = time.monotonic() + 30
            while killed in _alive_ids() and time.monotonic() < deadline:
                time.sleep(0.25)
            assert _alive_ids() == {cluster.head.node_id}
        assert cluster.processes(cluster.workers[0]) == []
        assert cluster.processes(cluster.head), "the head keeps running"
    assert cluster.processes() == []
    assert not cluster.temp_dir.exists()

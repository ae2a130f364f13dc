"""Fixtures for tests that need a real multi-node Ray started with ``ray start``.

``multinode_cluster``: a head (1 CPU, no GPU) and two worker nodes (1 CPU, 1 fake GPU each),
one per test module. ``cluster_driver``: the same cluster with this process connected as the
driver (``ray.init(address=...)`` with the cluster's auth token). Tests that run a search against
a cluster (``python -m search.classify --address ...``) live in this folder and reuse them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.localcluster import LocalCluster, connected, local_multinode_cluster

# The GCS declares a killed node dead after about period x threshold instead of 15 s.
FAST_NODE_DEATH = {"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "3"}


@pytest.fixture(scope="module")
def multinode_cluster() -> Iterator[LocalCluster]:
    """Head + 2 fake-GPU workers, stopped (only these processes) after the module."""
    with local_multinode_cluster(num_workers=2, gpus_per_worker=1, env=FAST_NODE_DEATH) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster_driver(multinode_cluster: LocalCluster) -> Iterator[LocalCluster]:
    """``multinode_cluster`` with this test process connected to it as the Ray driver."""
    with connected(multinode_cluster, log_to_driver=False):
        yield multinode_cluster

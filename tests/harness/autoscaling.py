"""Ray's own autoscaler on one machine, shaped like ``cluster.yaml``, for tests and local tries.

Test harness, not product code. ``fake_cluster_config`` turns ``cluster.yaml`` into a config for
Ray's fake multi-node provider (``provider: {type: fake_multinode}``): the same node type names,
GPU counts, ``min_workers`` and ``max_workers``, with each type's CPUs scaled to this machine.
``autoscaling_cluster`` starts its head with
``RAY_FAKE_CLUSTER=1 ray start --head --autoscaling-config=FILE --num-cpus=0 --num-gpus=0``;
Ray's autoscaler (the v1 monitor on the head) then launches and removes worker nodes as real
``ray start`` processes on this machine, in the monitor's process tree.

Facts this relies on (Ray 2.60, checked here): the wheel lacks the fake provider's
``example.yaml``, so the config is complete by itself; the provider's ``gcs_address`` lets the
head listen on a free port instead of 6379; a launched node offers exactly its type's resources.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.harness.localcluster import (
    PROJECT_ROOT,
    _child_env,
    _ray_start,
    _session_processes,
    free_port,
    kill_sessions,
)

CLUSTER_YAML = PROJECT_ROOT / "cluster.yaml"
FAKE_HEAD_TYPE = "ray.head.default"  # the fake provider tags its head with this type name
OBJECT_STORE_BYTES = 80 * 1024 * 1024
# The autoscaler reacts within a second and declares a worker lost after 10 s without a
# heartbeat (defaults 5 s and 30 s); the GCS marks a killed node dead within about 1.5 s.
FAST_AUTOSCALER_ENV = {
    "AUTOSCALER_UPDATE_INTERVAL_S": "1",
    "AUTOSCALER_HEARTBEAT_TIMEOUT_S": "10",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_failure_threshold": "3",
}


def fake_cluster_config(
    cluster_yaml: Path = CLUSTER_YAML,
    cpus_per_worker: int = 1,
    idle_timeout_minutes: float = 0.1,
    gcs_address: str | None = None,
) -> dict[str, Any]:
    """A complete fake-multinode autoscaler config with ``cluster_yaml``'s node types.

    Worker types keep their names, GPUs, ``min_workers`` and ``max_workers``; their CPUs become
    ``cpus_per_worker`` (this machine has 2 cores). The head type offers what ``cluster_yaml``'s
    head offers (0 CPU, 0 GPU) under the name the fake provider gives its head.
    """
    shipped = yaml.safe_load(cluster_yaml.read_text())
    head_name = shipped["head_node_type"]
    types: dict[str, Any] = {}
    for name, node_type in shipped["available_node_types"].items():
        resources = {k: int(v) for k, v in node_type.get("resources", {}).items()}
        if name == head_name:
            types[FAKE_HEAD_TYPE] = {"resources": resources, "node_config": {}, "max_workers": 0}
            continue
        if resources.get("CPU"):
            resources["CPU"] = cpus_per_worker
        types[name] = {
            "resources": resources,
            "node_config": {},
            "min_workers": int(node_type.get("min_workers", 0)),
            "max_workers": int(node_type.get("max_workers", shipped["max_workers"])),
        }
    provider: dict[str, Any] = {
        "type": "fake_multinode",
        "use_node_id_as_ip": True,
        "disable_node_updaters": True,
        "disable_launch_config_check": True,
        "launch_multiple": True,
    }
    if gcs_address:
        provider["gcs_address"] = gcs_address
    return {
        "cluster_name": "lens-search-fake",
        "max_workers": int(shipped["max_workers"]),
        "upscaling_speed": float(shipped.get("upscaling_speed", 1.0)),
        "idle_timeout_minutes": idle_timeout_minutes,
        "provider": provider,
        "auth": {},
        "available_node_types": types,
        "head_node_type": FAKE_HEAD_TYPE,
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


@dataclass
class AutoscalingCluster:
    """A head started with Ray's autoscaler; its worker nodes come and go with the demand."""

    address: str
    temp_dir: Path
    config_path: Path
    head_session: int
    env: dict[str, str]

    def worker_processes(self) -> dict[str, list[int]]:
        """Process ids of each launched worker node, by its fake provider id (the node's IP)."""
        found: dict[str, list[int]] = {}
        for pid in _session_processes({self.head_session}):
            node = _environ(pid).get("RAY_CLOUD_INSTANCE_ID")
            if node:
                found.setdefault(node, []).append(pid)
        return found

    def kill_worker(self, node: str) -> None:
        """SIGKILL every process of one launched worker node, as a reclaimed instance vanishes."""
        for pid in self.worker_processes().get(node, []):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        kill_sessions({self.head_session}, grace_s=3.0)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def start_autoscaling_cluster(
    config: Mapping[str, Any], env: Mapping[str, str] | None = None, timeout_s: float = 90.0
) -> AutoscalingCluster:
    """Start a fake-multinode head on a free port with ``config``; no worker node yet."""
    root = Path(tempfile.mkdtemp(prefix="lsas-"))
    port = free_port()
    address = f"127.0.0.1:{port}"
    config = copy.deepcopy(dict(config))
    config["provider"]["gcs_address"] = address
    config_path = root / "autoscaling.yaml"
    config_path.write_text(json.dumps(config, indent=2))
    node_env = _child_env(
        {"RAY_FAKE_CLUSTER": "1", "RAY_AUTH_MODE": "disabled", **FAST_AUTOSCALER_ENV, **(env or {})}
    )
    head_args = [
        "--head",
        f"--port={port}",
        "--node-ip-address=127.0.0.1",
        f"--autoscaling-config={config_path}",
        "--num-cpus=0",
        "--num-gpus=0",
        "--include-dashboard=false",
        f"--dashboard-port={free_port()}",
        f"--ray-client-server-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--temp-dir={root / 'ray'}",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        "--disable-usage-stats",
    ]
    (session,) = _ray_start([head_args], node_env, timeout_s)
    return AutoscalingCluster(
        address, root, config_path, session, _child_env({"RAY_AUTH_MODE": "disabled"})
    )


@contextmanager
def autoscaling_cluster(
    config: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> Iterator[AutoscalingCluster]:
    """``start_autoscaling_cluster`` for a ``with`` block: the head and every launched node end."""
    cluster = start_autoscaling_cluster(config, env)
    try:
        yield cluster
    finally:
        cluster.stop()


def wait_for(predicate: Any, timeout_s: float, what: str, poll_s: float = 0.5) -> Any:
    """Poll ``predicate()`` until it returns something truthy (returned); fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s")

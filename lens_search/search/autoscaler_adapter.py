"""What Ray's autoscaler can launch and is doing, read where Ray 2.60 has no public API.

- ``autoscaler_status``: the report the autoscaler (v1 monitor on the head) writes every few
  seconds into the GCS key-value store under ``ray._private.ray_constants.DEBUG_AUTOSCALING_STATUS``
  (``ray status`` reads the same): launches pending, nodes pending or failed, launch failures by
  node type. None when the cluster has no autoscaler (a fixed cluster, an embedded Ray).
- ``autoscaler_config``: the cluster config the autoscaler runs with. No API serves it; the
  monitor reads the file given as ``--autoscaling-config`` (``~/ray_bootstrap_config.yaml`` on a
  ``ray up`` head). The report names the monitor's pid; on the head that pid's command line names
  the file. A driver on another machine finds ``~/ray_bootstrap_config.yaml`` if it has one.

What each relies on is pinned by ``tests/cluster/test_cluster_autoscaling.py`` on Ray's own
autoscaler (the fake multi-node provider).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

BOOTSTRAP_CONFIG = Path("~/ray_bootstrap_config.yaml")
CONFIG_FLAG = "--autoscaling-config"


def autoscaler_status() -> dict[str, Any] | None:
    """The autoscaler's last report (``autoscaler_report`` of ``ray status``), or None."""
    from ray._private import ray_constants
    from ray.experimental.internal_kv import _internal_kv_get

    raw = _internal_kv_get(ray_constants.DEBUG_AUTOSCALING_STATUS)
    if not raw:
        return None
    try:
        status = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(status, dict) or not isinstance(status.get("autoscaler_report"), dict):
        return None
    return status


def autoscaler_config(status: dict[str, Any]) -> dict[str, Any] | None:
    """The autoscaler's cluster config, when this machine can read it (None otherwise)."""
    for path in (_config_of_monitor(status.get("monitor_pid")), BOOTSTRAP_CONFIG):
        if path is None:
            continue
        try:
            config = yaml.safe_load(path.expanduser().read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(config, dict) and isinstance(config.get("available_node_types"), dict):
            return config
    return None


def _config_of_monitor(pid: Any) -> Path | None:
    """The ``--autoscaling-config`` of the monitor process ``pid`` when it runs on this machine."""
    if not isinstance(pid, int):
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    if not any(arg.endswith("monitor.py") for arg in argv):
        return None  # another process with the same pid on another machine
    for index, arg in enumerate(argv):
        if arg.startswith(CONFIG_FLAG + "="):
            return Path(arg.split("=", 1)[1])
        if arg == CONFIG_FLAG and index + 1 < len(argv):
            return Path(argv[index + 1])
    return None

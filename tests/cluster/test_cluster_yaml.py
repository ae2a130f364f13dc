"""``cluster.yaml`` passes Ray's own schema and keeps the cluster closed and reproducible."""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import ray
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER_YAML = Path(__file__).resolve().parents[2] / "cluster.yaml"
RAY_PORTS = {6379, 8265, 10001}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(CLUSTER_YAML.read_text())


@pytest.fixture(scope="module")
def config(raw: dict[str, Any]) -> dict[str, Any]:
    """The config as ``ray up`` sees it after filling in defaults (offline, no credentials)."""
    prepared = prepare_config(copy.deepcopy(raw))
    validate_config(prepared)
    return prepared


def test_validates_offline_and_fast(raw: dict[str, Any]) -> None:
    start = time.perf_counter()
    validate_config(prepare_config(copy.deepcopy(raw)))
    assert time.perf_counter() - start < 5


def test_schema_rejects_fractional_gpu(raw: dict[str, Any]) -> None:
    broken = copy.deepcopy(raw)
    broken["available_node_types"]["gpu_worker"]["resources"]["GPU"] = 0.5
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(broken))


def test_no_ray_port_is_opened_to_the_internet(config: dict[str, Any]) -> None:
    assert config["provider"]["type"] == "aws"
    rules = config["provider"].get("security_group", {}).get("IpPermissions", [])
    for rule in rules:
        opened = set(range(rule.get("FromPort", 0), rule.get("ToPort", 65535) + 1))
        assert opened == {22}, f"only SSH may be opened, got {rule}"
        assert not opened & RAY_PORTS
    for name, node_type in config["available_node_types"].items():
        # Ray's own group (SSH + intra-cluster only) is used; a custom one can't be checked here.
        assert "SecurityGroupIds" not in node_type["node_config"], name


def test_dashboard_stays_on_localhost_and_token_auth_on(config: dict[str, Any]) -> None:
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head
    assert "0.0.0.0" not in head
    for commands in (config["head_start_ray_commands"], config["worker_start_ray_commands"]):
        starts = [cmd for cmd in commands if "ray start" in cmd]
        assert starts and all("RAY_AUTH_MODE=token" in cmd for cmd in starts)
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"


def test_gpu_worker_declares_integer_gpus_and_head_takes_no_trials(config: dict[str, Any]) -> None:
    types = config["available_node_types"]
    worker = types["gpu_worker"]
    assert isinstance(worker["resources"]["GPU"], int) and worker["resources"]["GPU"] >= 1
    assert isinstance(worker["resources"]["CPU"], int)
    assert worker["min_workers"] == 0 and worker["max_workers"] >= 1
    assert types[config["head_node_type"]]["resources"] == {"CPU": 0, "GPU": 0}


def test_setup_installs_this_project_on_every_node(config: dict[str, Any]) -> None:
    assert config["file_mounts"]["~/lens-search"] == "."
    assert any(
        re.search(r"pip install .*-e ~/lens-search", cmd) for cmd in config["setup_commands"]
    )
    assert {".git", "runs"} <= set(config["rsync_exclude"])


def test_cluster_image_runs_the_local_ray_version(config: dict[str, Any]) -> None:
    image = config["docker"]["image"]
    assert image.split(":")[1].startswith(f"{ray.__version__}-py311"), image

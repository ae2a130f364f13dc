"""Joining or starting Ray, and checking that a trial's resources exist before any trial starts."""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

import ray

from lensing.errors import LensSearchError, one_line
from search.ray_adapter import refresh_ray_auth
from search.rayauth import use_cluster_auth

PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ClusterShape:
    """What the alive nodes of the cluster offer."""

    nodes: int
    total_cpus: float
    total_gpus: float
    max_node_cpus: float
    max_node_gpus: float


def connect(address: str | None, print_worker_output: bool = True) -> bool:
    """Join the Ray cluster at ``address``, or start an embedded local one.

    Returns True when this call started Ray (the caller then shuts it down). A Ray already
    initialised in this process (a notebook, a test) is used as it is. With
    ``print_worker_output=False`` Ray's driver does not print what workers print (Ray's
    ``log_to_driver``; ``search.console.trial_output_to_file`` receives it instead).
    """
    if ray.is_initialized():
        return False
    if address is None:
        # An embedded Ray for this process only: no dashboard, token authentication on (the
        # default since Ray 2.59; asked for explicitly, Ray does not print a warning about it on
        # stderr); "local" ignores any stale cluster file in Ray's temp folder.
        if not os.environ.get("RAY_AUTH_MODE"):
            os.environ["RAY_AUTH_MODE"] = "token"
            refresh_ray_auth()
        ray.init(
            address="local",
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=print_worker_output,
        )
        return True
    check_join(address)
    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=print_worker_output)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        message = f"cannot join the Ray cluster at {address}: {one_line(exc)}"
        raise LensSearchError(message) from exc
    return True


def check_join(address: str | None) -> None:
    """Refuse a cluster that cannot be joined, before anything is created; set its auth mode.

    The cluster must answer at ``address`` and the auth mode it wants (asked of the cluster,
    whatever ~/.ray holds) must be one this process can use. Done once per process: ``connect``
    calls it too, and a second call finds the mode already chosen.
    """
    if address is None or ray.is_initialized() or address in _checked:
        return
    _probe(address)
    use_cluster_auth(address)
    _checked.add(address)


_checked: set[str] = set()


def _probe(address: str) -> None:
    """Fail fast on a host:port nobody answers on (ray.init would wait for minutes)."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise LensSearchError(f"--address must be 'auto' or HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise LensSearchError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}"
        ) from exc


def cluster_shape() -> ClusterShape:
    """Resources of the alive nodes (head included)."""
    resources = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    cpus = [r.get("CPU", 0.0) for r in resources]
    gpus = [r.get("GPU", 0.0) for r in resources]
    return ClusterShape(
        nodes=len(resources),
        total_cpus=sum(cpus),
        total_gpus=sum(gpus),
        max_node_cpus=max(cpus, default=0.0),
        max_node_gpus=max(gpus, default=0.0),
    )


def trial_resources(
    shape: ClusterShape, cpus_per_trial: float, gpus_per_trial: float | None
) -> dict[str, float]:
    """The resources of one trial, refusing requests that no node could ever satisfy.

    Ray would leave such trials PENDING forever; here they end the search before it starts.
    """
    gpus = (1.0 if shape.max_node_gpus >= 1 else 0.0) if gpus_per_trial is None else gpus_per_trial
    if gpus > shape.max_node_gpus:
        where = (
            "the cluster has no GPU"
            if shape.total_gpus == 0
            else f"the largest node has {shape.max_node_gpus:g}"
        )
        raise LensSearchError(
            f"--gpus-per-trial {gpus:g} cannot be scheduled: {where} "
            f"(use --gpus-per-trial 0, or start GPU workers first)"
        )
    if cpus_per_trial > shape.max_node_cpus:
        raise LensSearchError(
            f"--cpus-per-trial {cpus_per_trial:g} cannot be scheduled: the largest node has "
            f"{shape.max_node_cpus:g} CPUs"
        )
    return {"cpu": cpus_per_trial, "gpu": gpus}

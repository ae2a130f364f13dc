"""Joining or starting Ray, and checking that a trial's resources exist before any trial starts."""

from __future__ import annotations

import logging
import math
import os
import socket
from dataclasses import dataclass
from typing import Any

import ray

from lens_search.errors import LensSearchError, one_line
from lens_search.search.autoscaler_adapter import autoscaler_config, autoscaler_status
from lens_search.search.ray_adapter import refresh_ray_auth
from lens_search.search.rayauth import use_cluster_auth
from lens_search.search.startup import check_room, startup_failure

PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class NodeOffer:
    """What one node offers a trial: an alive node, or a node type the autoscaler can launch."""

    name: str
    cpus: float
    gpus: float
    memory: float | None = None
    max_workers: int | None = None
    """For a launchable type: how many nodes of it the autoscaler may run (None: alive node)."""

    def fits(self, cpus: float, gpus: float, memory: float | None = None) -> bool:
        """True when one trial of these fits; memory a type does not declare is not checked."""
        enough_memory = memory is None or self.memory is None or self.memory >= memory
        return self.cpus >= cpus and self.gpus >= gpus and enough_memory

    def describe(self) -> str:
        text = f"{self.name}: {self.cpus:g} CPUs, {self.gpus:g} GPUs"
        if self.memory:
            text += f", {self.memory / 2**30:.0f} GiB"
        if self.max_workers is not None:
            text += f", up to {self.max_workers} nodes"
        return text


@dataclass(frozen=True)
class ClusterShape:
    """What the alive nodes of the cluster offer, and what its autoscaler could add."""

    nodes: int
    total_cpus: float
    total_gpus: float
    max_node_cpus: float
    max_node_gpus: float
    alive: tuple[NodeOffer, ...] = ()
    launchable: tuple[NodeOffer, ...] = ()
    """Node types the autoscaler can launch (worker types with room, read from its config)."""
    autoscaling: bool = False
    """An autoscaler that can launch nodes runs (``launchable`` is not empty). Every head runs
    Ray's monitor, which reports even without an autoscaling config; a cluster whose config
    cannot be read from here (a driver off the head) is checked as a fixed one."""

    @property
    def offers(self) -> tuple[NodeOffer, ...]:
        return self.alive + self.launchable


def connect(
    address: str | None, storage: str | None = None, print_worker_output: bool = True
) -> bool:
    """Join the Ray cluster at ``address``, or start an embedded local one.

    Returns True when this call started Ray (the caller then shuts it down). A Ray already
    initialised in this process (a notebook, a test) is used as it is. An embedded Ray is not
    started on a nearly full disk (of Ray's temp folder or the local ``storage``), and one that
    fails to start under a file-size limit or for lack of space is one LensSearchError naming
    that (``search.startup``). With ``print_worker_output=False`` Ray's driver does not print
    what workers print (Ray's ``log_to_driver``; ``search.console.trial_output_to_file``
    receives it instead).
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
        check_room(storage or ".")
        try:
            ray.init(
                address="local",
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=print_worker_output,
            )
        except Exception as exc:
            failure = startup_failure(storage or ".")
            if failure is None:
                raise
            ray.shutdown()  # whatever of Ray did start
            raise failure from exc
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
    """Resources of the alive nodes (head included) and of the node types the autoscaler adds."""
    alive_nodes = [n for n in ray.nodes() if n.get("Alive")]
    alive = tuple(
        NodeOffer(
            "alive node",
            n["Resources"].get("CPU", 0.0),
            n["Resources"].get("GPU", 0.0),
            n["Resources"].get("memory"),
        )
        for n in alive_nodes
    )
    status = autoscaler_status()
    launchable: tuple[NodeOffer, ...] = ()
    if status is not None:
        config = autoscaler_config(status)
        launchable = launchable_types(config) if config else ()
    return ClusterShape(
        nodes=len(alive),
        total_cpus=sum(n.cpus for n in alive),
        total_gpus=sum(n.gpus for n in alive),
        max_node_cpus=max((n.cpus for n in alive), default=0.0),
        max_node_gpus=max((n.gpus for n in alive), default=0.0),
        alive=alive,
        launchable=launchable,
        autoscaling=bool(launchable),
    )


def launchable_types(config: dict[str, Any]) -> tuple[NodeOffer, ...]:
    """The worker node types of an autoscaler config that it may launch at least one node of.

    A type whose ``resources`` are not declared (Ray fills them in for known cloud instance
    types at ``ray up``) offers nothing that can be checked and is left out.
    """
    head = config.get("head_node_type")
    cluster_max = int(config.get("max_workers", 0) or 0)
    offers = []
    for name, node_type in (config.get("available_node_types") or {}).items():
        resources = node_type.get("resources")
        room = min(int(node_type.get("max_workers", cluster_max) or 0), cluster_max)
        if name == head or room < 1 or not isinstance(resources, dict):
            continue
        offers.append(
            NodeOffer(
                name,
                float(resources.get("CPU", 0)),
                float(resources.get("GPU", 0)),
                float(resources["memory"]) if resources.get("memory") else None,
                room,
            )
        )
    return tuple(offers)


def trial_resources(
    shape: ClusterShape,
    cpus_per_trial: float,
    gpus_per_trial: float | None,
    memory_gib: float | None = None,
) -> dict[str, float]:
    """The resources of one trial, refusing requests that no node could ever satisfy.

    Ray would leave such trials PENDING forever; here they end the search before it starts. On
    a cluster with an autoscaler a trial may also go to a node type it can launch; without
    ``--gpus-per-trial`` a trial takes one GPU when any alive or launchable node has one.
    ``memory_gib`` (``--memory-per-trial``) is reserved too and must fit the same node.
    """
    offers = shape.offers
    has_gpu = any(n.gpus >= 1 for n in offers)
    gpus = (1.0 if has_gpu else 0.0) if gpus_per_trial is None else gpus_per_trial
    memory = None if memory_gib is None else memory_gib * 2**30
    resources = {"cpu": cpus_per_trial, "gpu": gpus}
    if memory is not None:
        resources["memory"] = memory
    if any(n.fits(cpus_per_trial, gpus, memory) for n in offers):
        return resources
    request = f"--cpus-per-trial {cpus_per_trial:g} --gpus-per-trial {gpus:g}"
    if memory_gib is not None:
        request += f" --memory-per-trial {memory_gib:g}"
    if shape.autoscaling:
        raise LensSearchError(
            f"{request} cannot be scheduled: no alive node and no node type the autoscaler can "
            f"launch offers that ({'; '.join(_describe_types(shape))})"
        )
    if memory is not None and any(n.fits(cpus_per_trial, gpus) for n in offers):
        raise LensSearchError(
            f"{request} cannot be scheduled: no node with those CPUs and GPUs has that much "
            f"memory ({'; '.join(_describe_types(shape))})"
        )
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
    raise LensSearchError(
        f"{request} cannot be scheduled: no node has both ({'; '.join(_describe_types(shape))})"
    )


def trials_per_node(cpus: float, gpus: float, resources: dict[str, float]) -> int:
    """How many trials of ``resources`` fit on a node of ``cpus`` and ``gpus``."""
    fits = [math.floor(cpus / resources["cpu"])] if resources["cpu"] > 0 else []
    if resources["gpu"] > 0:
        fits.append(math.floor(gpus / resources["gpu"]))
    return max(0, min(fits, default=0))


def trial_slots(offers: tuple[NodeOffer, ...], resources: dict[str, float]) -> int:
    """Trials of ``resources`` that ``offers`` run at once (a launchable type: all its nodes)."""
    return sum(
        (1 if n.max_workers is None else n.max_workers) * trials_per_node(n.cpus, n.gpus, resources)
        for n in offers
    )


def _describe_types(shape: ClusterShape) -> list[str]:
    """The alive node kinds (head, workers) and the launchable types, once each."""
    seen = [n.describe() for n in shape.alive]
    return list(dict.fromkeys(seen)) + [n.describe() for n in shape.launchable]

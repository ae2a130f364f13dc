"""A real multi-node Ray on one machine, started with ``ray start``, for tests and local tries.

Test harness, not product code: the tests and ``scripts/local_cluster.py`` use it.

``local_multinode_cluster()`` starts a head node and worker nodes that declare fake GPUs, each in a
session of its own, so that stopping the cluster (or killing one worker node) signals exactly
the processes of that node and never another Ray on the same machine (``ray stop`` would kill
every Ray of the user). Token authentication stays on unless ``token_auth=False``: every node
and driver gets ``RAY_AUTH_MODE=token`` and the path of the cluster's token (or, without it,
``RAY_AUTH_MODE=disabled``, like a plain ``ray start --head`` with no token in HOME).

Example::

    with local_multinode_cluster(num_workers=2) as cluster, connected(cluster):
        print(ray.cluster_resources()["GPU"])  # 2.0
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lens_search.search.ray_adapter import refresh_ray_auth

AUTH_ENV_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
DEFAULT_TOKEN_PATH = Path.home() / ".ray" / "auth_token"
OBJECT_STORE_BYTES = 100 * 1024 * 1024
PROJECT_ROOT = Path(__file__).resolve().parents[2]
HEAD_NAME = "head"


@dataclass(frozen=True)
class LocalNode:
    """One ``ray start`` node: its name, Ray node id and the session id shared by its processes."""

    name: str
    node_id: str
    session_id: int


@dataclass
class LocalCluster:
    """What ``local_multinode_cluster`` started: address, token, nodes and the env to reach it."""

    address: str
    temp_dir: Path
    token_path: Path | None
    head: LocalNode
    workers: list[LocalNode]
    env: dict[str, str] = field(default_factory=dict)
    remove_temp_dir: bool = False

    @property
    def nodes(self) -> list[LocalNode]:
        return [self.head, *self.workers]

    @property
    def worker_node_ids(self) -> list[str]:
        return [node.node_id for node in self.workers]

    def processes(self, node: LocalNode | None = None) -> list[int]:
        """Live (non-zombie) process ids of one node or of all nodes; drivers are not included."""
        nodes = [node] if node else self.nodes
        return _session_processes({each.session_id for each in nodes})

    def pause_worker(self, index: int = 0) -> None:
        """Stop (SIGSTOP) every process of worker node ``index`` but its raylet: its trials make
        no progress, while the node still answers the GCS's health checks."""
        node = self.workers[index]
        _signal_all([p for p in self.processes(node) if not _is_raylet(p)], signal.SIGSTOP)

    def resume_worker(self, index: int = 0) -> None:
        """Continue (SIGCONT) what ``pause_worker`` stopped."""
        _signal_all(self.processes(self.workers[index]), signal.SIGCONT)

    def kill_worker(self, index: int = 0) -> str:
        """Kill worker node ``index`` like a lost machine (SIGKILL, raylet first); return its id."""
        node = self.workers[index]
        kill_sessions({node.session_id}, grace_s=0.0)
        return node.node_id

    def stop(self, grace_s: float = 3.0) -> None:
        """Stop every node of this cluster: SIGTERM, then SIGKILL whatever is left after grace_s."""
        kill_sessions({node.session_id for node in self.workers}, grace_s=grace_s)
        kill_sessions({self.head.session_id}, grace_s=grace_s)
        if self.remove_temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def save(self, path: Path) -> None:
        """Write what ``load`` needs to find and stop this cluster from another process."""
        token = str(self.token_path) if self.token_path else None
        data = asdict(self) | {"temp_dir": str(self.temp_dir), "token_path": token}
        path.write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> LocalCluster:
        data = json.loads(path.read_text())
        head, workers = LocalNode(**data.pop("head")), [LocalNode(**w) for w in data.pop("workers")]
        temp_dir, token = Path(data.pop("temp_dir")), data.pop("token_path")
        token = Path(token) if token else None
        return cls(temp_dir=temp_dir, token_path=token, head=head, workers=workers, **data)


def free_port() -> int:
    """A TCP port that was free a moment ago (ports are passed explicitly to avoid clashes)."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def ensure_token(path: Path) -> Path:
    """Create a random token at ``path`` (mode 0600) unless one is there; return the path."""
    if not path.exists() or not path.read_text().strip():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path


def auth_env(token_path: Path) -> dict[str, str]:
    """Environment that makes a Ray process (node, driver, CLI) use token auth with this token."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_path)}


def _child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (*AUTH_ENV_VARS, "RAY_ADDRESS")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # Like the cloud nodes (project pip-installed), local workers can import search, trainables...
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _ray_start(
    args_per_node: list[list[str]], env: Mapping[str, str], timeout_s: float
) -> list[int]:
    """Run ``ray start ARGS`` for each node at once, each in a new session; return the session ids.

    A session id is the pid of its ``ray start``; the node's daemons and workers keep it.
    """
    procs = []
    for args in args_per_node:
        log = tempfile.TemporaryFile(mode="w+")
        cmd = [sys.executable, "-m", "ray.scripts.scripts", "start", *args]
        procs.append(
            (
                subprocess.Popen(
                    cmd,
                    env=dict(env),
                    start_new_session=True,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                ),
                log,
            )
        )
    deadline = time.monotonic() + timeout_s
    failures = []
    for proc, log in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            failures.append(f"ray start took over {timeout_s:.0f} s")
            continue
        if proc.returncode != 0:
            log.seek(0)
            tail = "\n".join(log.read().splitlines()[-15:])
            failures.append(f"ray start failed (exit {proc.returncode}):\n{tail}")
    for _, log in procs:
        log.close()
    sessions = [proc.pid for proc, _ in procs]
    if failures:
        kill_sessions(set(sessions), grace_s=0.0)
        raise RuntimeError("\n".join(failures))
    return sessions


def _node_args(name: str, cpus: int, gpus: int, temp_dir: Path) -> list[str]:
    return [
        "--node-ip-address=127.0.0.1",
        f"--node-name={name}",
        f"--num-cpus={cpus}",
        f"--num-gpus={gpus}",
        f"--temp-dir={temp_dir}",
        f"--object-store-memory={OBJECT_STORE_BYTES}",
        "--min-worker-port=0",
        "--max-worker-port=0",
        f"--dashboard-agent-listen-port={free_port()}",
        "--disable-usage-stats",
    ]


_PROBE = """
import json, sys, time, ray
ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
deadline = time.monotonic() + float(sys.argv[3])
while True:
    alive = [n for n in ray.nodes() if n["Alive"]]
    if len(alive) >= int(sys.argv[2]) or time.monotonic() > deadline:
        break
    time.sleep(0.2)
print(json.dumps({n["NodeName"]: n["NodeID"] for n in alive}))
"""


def alive_nodes(
    address: str, env: Mapping[str, str], expected: int, timeout_s: float = 60.0
) -> dict[str, str]:
    """Wait (in a separate driver) until ``expected`` nodes are alive; map node name to id."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, address, str(expected), str(timeout_s)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s + 30,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def start_local_cluster(
    num_workers: int = 2,
    gpus_per_worker: int = 1,
    cpus_per_worker: int = 1,
    head_cpus: int = 1,
    temp_dir: str | Path | None = None,
    token_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 90.0,
    token_auth: bool = True,
) -> LocalCluster:
    """Start a head (no GPU) and ``num_workers`` fake-GPU worker nodes; ``.stop()`` ends them.

    Args:
        temp_dir: Ray's root temp folder for this cluster (keep it short: Unix sockets live
            there); a fresh one under /tmp by default, removed by ``stop()``.
        token_path: auth token file; a fresh one in ``temp_dir`` by default.
        env: extra environment for every node, e.g. ``{"RAY_health_check_period_ms": "500"}``.
        token_auth: False starts the cluster without token authentication (no token file).
    """
    own_temp = temp_dir is None
    root = Path(tempfile.mkdtemp(prefix="lsray-")) if temp_dir is None else Path(temp_dir)
    root.mkdir(parents=True, exist_ok=True)
    token = (
        ensure_token(Path(token_path) if token_path else root / "auth_token")
        if token_auth
        else None
    )
    cluster_env = auth_env(token) if token else {"RAY_AUTH_MODE": "disabled"}
    node_env = _child_env({**cluster_env, **(env or {})})
    sessions: dict[str, int] = {}
    try:
        head_args = [
            "--head",
            f"--port={free_port()}",
            "--include-dashboard=false",
            f"--dashboard-port={free_port()}",
            f"--ray-client-server-port={free_port()}",
            *_node_args(HEAD_NAME, head_cpus, 0, root / HEAD_NAME),
        ]
        (sessions[HEAD_NAME],) = _ray_start([head_args], node_env, timeout_s)
        address = (root / HEAD_NAME / "ray_current_cluster").read_text().strip()
        names = [f"worker-{index}" for index in range(num_workers)]
        worker_args = [
            [
                f"--address={address}",
                *_node_args(name, cpus_per_worker, gpus_per_worker, root / name),
            ]
            for name in names
        ]
        # Worker nodes start in parallel: each has its own temp dir, so no socket-name races.
        sessions.update(zip(names, _ray_start(worker_args, node_env, timeout_s), strict=True))
        ids = alive_nodes(address, _child_env(cluster_env), 1 + num_workers, timeout_s)
        missing = set(sessions) - set(ids)
        if missing:
            raise RuntimeError(f"nodes never became alive: {sorted(missing)}")
    except BaseException:
        kill_sessions({sid for name, sid in sessions.items() if name != HEAD_NAME}, 0.0)
        kill_sessions({sessions[HEAD_NAME]} if HEAD_NAME in sessions else set(), 0.0)
        if own_temp:
            shutil.rmtree(root, ignore_errors=True)
        raise
    nodes = [LocalNode(name, ids[name], sid) for name, sid in sessions.items()]
    return LocalCluster(address, root, token, nodes[0], nodes[1:], cluster_env, own_temp)


@contextmanager
def local_multinode_cluster(
    num_workers: int = 2,
    gpus_per_worker: int = 1,
    cpus_per_worker: int = 1,
    head_cpus: int = 1,
    temp_dir: str | Path | None = None,
    **kwargs: Any,
) -> Iterator[LocalCluster]:
    """``start_local_cluster(...)`` for a ``with`` block: every node is stopped on exit."""
    cluster = start_local_cluster(
        num_workers, gpus_per_worker, cpus_per_worker, head_cpus, temp_dir, **kwargs
    )
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def ray_auth_env(env: Mapping[str, str]) -> Iterator[None]:
    """This process's Ray auth variables set to ``env`` (RAY_AUTH_TOKEN dropped), then put back.

    Ray reads them once at import: each change is followed by ``refresh_ray_auth``.
    """
    saved = {name: os.environ.get(name) for name in (*AUTH_ENV_VARS, *env)}
    os.environ.pop("RAY_AUTH_TOKEN", None)
    os.environ.update(env)
    refresh_ray_auth()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        refresh_ray_auth()


@contextmanager
def connected(cluster: LocalCluster, **init_kwargs: Any) -> Iterator[None]:
    """Connect this process as a driver (``ray.init``) with the cluster's token; shut down after."""
    import ray

    with ray_auth_env(cluster.env):
        ray.init(address=cluster.address, **init_kwargs)
        try:
            yield
        finally:
            ray.shutdown()


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, session id) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[3])


def _session_processes(session_ids: set[int]) -> list[int]:
    """Live processes in these sessions, plus their descendants (in case one called setsid)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))) and stat[0] != "Z":
            stats[int(entry)] = stat
    chosen = {pid for pid, (_, _, sid) in stats.items() if sid in session_ids}
    grew = True
    while grew:
        more = {pid for pid, (_, ppid, _) in stats.items() if ppid in chosen} - chosen
        chosen |= more
        grew = bool(more)
    chosen.discard(os.getpid())
    return sorted(chosen)


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_sessions(session_ids: set[int], grace_s: float = 3.0) -> None:
    """SIGTERM the sessions' processes, wait up to grace_s, then SIGKILL the rest (raylet first)."""
    if not session_ids:
        return
    if grace_s > 0:
        _signal_all(_session_processes(session_ids), signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while _session_processes(session_ids) and time.monotonic() < deadline:
            time.sleep(0.1)
    for _ in range(50):
        pids = _session_processes(session_ids)
        if not pids:
            return
        raylets = [p for p in pids if _is_raylet(p)]
        _signal_all(raylets + [p for p in pids if p not in raylets], signal.SIGKILL)
        time.sleep(0.1)


def _is_raylet(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "raylet"
    except OSError:
        return False

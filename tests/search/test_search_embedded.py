"""The embedded local Ray that a search starts: no dashboard, and nobody joins without its token.

Ray 2.60's GCS, raylet and worker gRPC servers listen on every interface (``::``) whatever node IP
is asked for (``ray.init`` maps 127.0.0.1 to the host's address), so "loopback only" cannot be had
from Ray's API; what a search can and does guarantee is checked here from outside the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_PORT = 8265
JOIN_TIMEOUT_S = 90

EMBEDDED = """
import json, os, sys
import ray
import psutil  # Ray's vendored copy, on the path once ray is imported
from lens_search.search.cluster import connect

connect(None)
me = psutil.Process()
procs = {p.pid: p for p in me.children(recursive=True)} | {me.pid: me}
listeners = [
    [c.laddr.ip, c.laddr.port, " ".join(procs[c.pid].cmdline())[:300]]
    for c in psutil.net_connections(kind="inet")
    if c.status == psutil.CONN_LISTEN and c.pid in procs
]
print(json.dumps({
    "gcs": ray.get_runtime_context().gcs_address,
    "auth": os.environ.get("RAY_AUTH_MODE"),
    "listeners": listeners,
}), flush=True)
sys.stdin.readline()
ray.shutdown()
"""

JOIN = """
import sys, ray
ray.init(address=sys.argv[1], log_to_driver=False)
print("JOINED", flush=True)
"""


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    return {**base, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def try_join(address: str, **auth: str) -> str:
    """Run a driver joining ``address``: 'refused' on Ray's auth error, else its last output."""
    joiner = subprocess.Popen(
        [sys.executable, "-c", JOIN, address],
        env=env(**auth),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen = []
    watchdog = threading.Timer(JOIN_TIMEOUT_S, joiner.kill)  # a silent hang ends the read loop
    watchdog.start()
    try:
        assert joiner.stdout is not None
        for line in joiner.stdout:
            seen.append(line)
            if "InvalidAuthToken" in line or "Unauthenticated" in line:
                return "refused"
            if line.startswith("JOINED"):
                break
    finally:
        watchdog.cancel()
        joiner.kill()
        joiner.wait()
    return "".join(seen[-5:])


def test_embedded_ray_serves_no_dashboard_and_refuses_callers_without_its_token() -> None:
    driver = subprocess.Popen(
        [sys.executable, "-c", EMBEDDED],
        cwd=REPO,
        env=env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert driver.stdout is not None and driver.stdin is not None
        state = json.loads(driver.stdout.readline())
        assert state["auth"] == "token"
        listeners = state["listeners"]
        assert listeners  # the GCS at least
        assert all(port != DASHBOARD_PORT for _, port, _ in listeners)
        assert not [cmd for _, _, cmd in listeners if "dashboard" in cmd.lower()]
        # The GCS port is reachable on the host's address: without the token, nobody gets in.
        assert not state["gcs"].startswith("127.")
        assert try_join(state["gcs"], RAY_AUTH_MODE="disabled") == "refused"
        wrong = "0123456789abcdef0123456789abcdef"
        assert try_join(state["gcs"], RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=wrong) == "refused"
        driver.stdin.write("\n")
        driver.stdin.flush()
        assert driver.wait(timeout=120) == 0
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()

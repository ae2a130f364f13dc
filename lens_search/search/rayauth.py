"""Which authentication a Ray cluster wants, asked of the cluster itself.

Ray 2.60 reads ``RAY_AUTH_MODE`` once and never asks the cluster: a driver in token mode joins a
cluster without token authentication, and then every trial actor is cancelled before it runs; a
driver without a token is refused by a cluster with one. A token left in ``~/.ray`` by an earlier
embedded search says nothing about the cluster being joined, so the mode is found by asking the
cluster's GCS once without a token (refused: the cluster wants one) and, if so, once with the token
(refused: it is the wrong token). Each question runs in a short child process because Ray's GCS
client logs its refusals on stderr and caches the mode for the whole process. The Ray internals
this needs live in ``search.ray_adapter``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lens_search.errors import LensSearchError
from lens_search.search.ray_adapter import GCS_AUTH_PROBE, local_cluster_address, refresh_ray_auth

ASK_TIMEOUT_S = 60.0
ACCEPTED, REFUSED = "accepted", "refused"


@dataclass(frozen=True)
class TokenSource:
    """Where this process would read Ray's auth token from, in Ray's order of precedence."""

    env: dict[str, str]
    shown: str


def gcs_address(address: str) -> str:
    """HOST:PORT of the cluster's GCS; ``auto`` is looked up like ``ray.init`` does."""
    if address != "auto":
        return address.split("://", 1)[-1]
    found = local_cluster_address()
    if found is None:
        raise LensSearchError(
            "--address auto: no running Ray cluster found on this machine (start one with "
            "'ray start --head', or give its HOST:PORT)"
        )
    return found


def token_source() -> TokenSource | None:
    """The token this process offers: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return TokenSource({}, "RAY_AUTH_TOKEN")
    path_var = os.environ.get("RAY_AUTH_TOKEN_PATH")
    if path_var:
        return _file_source(Path(path_var).expanduser(), "RAY_AUTH_TOKEN_PATH")
    return _file_source(Path.home() / ".ray" / "auth_token", None)


def _file_source(path: Path, variable: str | None) -> TokenSource | None:
    try:
        present = bool(path.read_text().strip())
    except OSError:
        present = False
    if not present:
        return None
    shown = f"{variable}={path}" if variable else str(path)
    return TokenSource({"RAY_AUTH_TOKEN_PATH": str(path)}, shown)


def ask_gcs(address: str, auth: dict[str, str]) -> str:
    """ACCEPTED or REFUSED: how the GCS at HOST:PORT answers a driver with these RAY_AUTH_* vars."""
    env = {**os.environ, **auth}
    try:
        done = subprocess.run(
            [sys.executable, "-c", GCS_AUTH_PROBE, address],
            env=env,
            capture_output=True,
            text=True,
            timeout=ASK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise LensSearchError(
            f"the Ray cluster at {address} did not answer within {ASK_TIMEOUT_S:.0f} s"
        ) from exc
    answer = (done.stdout.strip().splitlines() or [""])[-1]
    if answer not in (ACCEPTED, REFUSED):
        reason = _last_error_line(done.stderr) or f"exit status {done.returncode}"
        raise LensSearchError(f"cannot join the Ray cluster at {address}: {reason}")
    return answer


def _last_error_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":", 1)[0]]
    return (errors or lines or [""])[-1][:300]


def use_cluster_auth(address: str) -> str:
    """Set this process's RAY_AUTH_MODE to what the cluster at ``address`` wants; return it.

    Raises LensSearchError, naming the reason, when the cluster wants a token and none is found
    or the one found is refused. A Ray Client address (ray://) is left to Ray: it names no GCS.
    """
    if address.startswith("ray://"):
        return os.environ.get("RAY_AUTH_MODE", "")
    gcs = gcs_address(address)
    if ask_gcs(gcs, {"RAY_AUTH_MODE": "disabled"}) == ACCEPTED:
        return _set_auth({"RAY_AUTH_MODE": "disabled"})
    source = token_source()
    if source is None:
        raise LensSearchError(
            f"the Ray cluster at {gcs} wants an auth token and none was found (set "
            f"RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH, or put the cluster's token in "
            f"~/.ray/auth_token)"
        )
    auth = {"RAY_AUTH_MODE": "token", **source.env}
    if ask_gcs(gcs, auth) == REFUSED:
        raise LensSearchError(
            f"the Ray cluster at {gcs} refused the auth token from {source.shown} (it is "
            f"another cluster's token: set RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH to this "
            f"cluster's)"
        )
    return _set_auth(auth)


def _set_auth(auth: dict[str, str]) -> str:
    os.environ.update(auth)
    refresh_ray_auth()
    return auth["RAY_AUTH_MODE"]

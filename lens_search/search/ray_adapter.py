"""The one place that uses Ray's private APIs, each where Ray 2.60 has no public one.

- ``refresh_ray_auth``: Ray reads ``RAY_AUTH_*`` once, at import, and caches the token;
  ``ray._raylet.Config.initialize`` and ``AuthenticationTokenLoader.reset_cache`` make it read
  them again (a driver switches auth mode for the cluster it joins).
- ``GCS_AUTH_PROBE``: a child-process script asking a cluster's GCS for one key with
  ``ray._raylet.GcsClient``, printing ``accepted`` or ``refused`` (how ``search.rayauth`` learns
  which auth mode a cluster wants, before ``ray.init``).
- ``local_cluster_address``: the cluster ``ray.init(address="auto")`` would join
  (``ray._private.services.canonicalize_bootstrap_address``).
- ``worker_output_to``: a handler on the dispatcher through which the driver prints what worker
  processes print (``ray._private.ray_logging.global_worker_stdstream_dispatcher``); for a driver
  started with ``ray.init(log_to_driver=False)`` it starts the thread that receives those lines
  (``Worker.print_logs``, kept as ``Worker.logger_thread``, which ``ray.shutdown`` stops).

What each does is pinned by ``tests/search/test_search_adapters.py`` on a real Ray (the
receiving thread of a driver without Ray's printer by ``tests/search/test_search_console.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

GCS_AUTH_PROBE = """
import sys
from ray._raylet import GcsClient
from ray.exceptions import AuthenticationError
try:
    client = GcsClient(address=sys.argv[1])
    client.internal_kv_get(b"session_name", namespace=b"session", timeout=10)
except AuthenticationError:
    print("refused")
else:
    print("accepted")
"""
"""Run as ``python -c GCS_AUTH_PROBE HOST:PORT``; the last line of its output is the answer."""


def refresh_ray_auth() -> None:
    """Make an already imported Ray re-read RAY_AUTH_* (it caches them at import)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def local_cluster_address() -> str | None:
    """HOST:PORT of the cluster ``address="auto"`` finds on this machine (None: no cluster)."""
    from ray._private.services import canonicalize_bootstrap_address

    return canonicalize_bootstrap_address("auto")


@contextmanager
def worker_output_to(
    name: str, write: Callable[[dict[str, Any]], None], *, replacing: str | None = None
) -> Iterator[None]:
    """Hand what worker processes print to ``write`` (as handler ``name``) inside the block.

    ``write`` gets Ray's record of each batch of lines (``lines``, ``pid``, ``ip``,
    ``actor_name``, ``task_name``). ``replacing`` names a handler taken off for the block and put
    back after it (Ray's own printer is ``ray_print_logs``) if Ray is still connected: shutting
    Ray down inside the block stops the forwarding first, so no line printed late reaches the
    replaced handler, and ``ray.shutdown`` takes Ray's printer off by itself (putting it back
    then would make the next ``ray.init`` print every line twice).

    A driver connected with ``log_to_driver=False`` receives no lines until this starts Ray's
    receiving thread, with ``write`` as the only handler: Ray's printer never runs, so no line
    can reach the console however late it comes.
    """
    import threading

    import ray
    from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
    from ray._private.worker import global_worker

    removed = [pair for pair in dispatcher.handlers if pair[0] == replacing] if replacing else []
    if replacing:
        dispatcher.remove_handler(replacing)
    dispatcher.add_handler(name, write)
    receiving = getattr(global_worker, "logger_thread", None)
    if ray.is_initialized() and (receiving is None or not receiving.is_alive()):
        receiving = threading.Thread(
            target=global_worker.print_logs, name="ray_print_logs", daemon=True
        )
        global_worker.logger_thread = receiving  # what ray.shutdown stops and joins
        receiving.start()
    try:
        yield
    finally:
        dispatcher.remove_handler(name)
        for handler_name, handler in removed if ray.is_initialized() else ():
            dispatcher.add_handler(handler_name, handler)

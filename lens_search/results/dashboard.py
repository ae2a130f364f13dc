"""Watch a search in optuna-dashboard. ``python -m results.dashboard EXPERIMENT [--port N]``.

Serves the experiment's Optuna study (``EXPERIMENT/optuna-journal.log``, written as the search
runs) on 127.0.0.1 only, on a free port unless ``--port`` is given, and prints the URL and the
SSH tunnel command to reach it from a laptop when it runs on a cluster's head node. Works while
the search runs (the page shows new trials and epochs as they are reported) and after it.
Ctrl-C stops it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lens_search.cli import console_script
from lens_search.errors import LensSearchError
from lens_search.experiments.study import find_journal, journal_storage, study_name_of
from lens_search.results.outputs import results_parser

HOST = "127.0.0.1"  # never beyond loopback: reach it from elsewhere through an SSH tunnel

logger = logging.getLogger(__name__)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request, so a slow page load does not hold up the next one."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No line per HTTP request on the console (the page polls every few seconds)."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logger.debug(format, *args)


def make_dashboard_server(experiment: str | Path, port: int = 0) -> tuple[WSGIServer, str]:
    """A server of optuna-dashboard on the experiment's study, and the study page's URL."""
    from optuna_dashboard import wsgi

    journal = find_journal(experiment)
    storage = journal_storage(journal)
    study_id = storage.get_study_id_from_name(study_name_of(journal))
    try:
        server = make_server(
            HOST, port, wsgi(storage), server_class=_ThreadingServer, handler_class=_QuietHandler
        )
    except OSError as exc:
        raise LensSearchError(f"--port {port}: cannot listen on {HOST} ({exc.strerror})") from exc
    return server, f"http://{HOST}:{server.server_port}/dashboard/studies/{study_id}"


def instructions(url: str, port: int, experiment: str) -> str:
    """What to open, and how to open it from a laptop when this runs on a cluster's head node."""
    return "\n".join(
        [
            f"optuna-dashboard for {experiment}: {url}",
            "On a cluster head node, open a tunnel from your own machine first, then the URL:",
            f"  ssh -N -L {port}:127.0.0.1:{port} USER@HEAD_NODE",
            f"  (or: ray attach cluster.yaml -p {port})",
            "Ctrl-C stops the dashboard.",
        ]
    )


def serve(server: WSGIServer) -> None:
    """Serve until Ctrl-C, then close the socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m results.dashboard``."""
    parser = results_parser(
        "dashboard", __doc__.split("\n")[0], experiment="experiment folder (e.g. runs/NAME)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise LensSearchError(f"--port must be between 1 and 65535, got {args.port}")
    server, url = make_dashboard_server(args.experiment, args.port)
    print(instructions(url, server.server_port, args.experiment), flush=True)
    serve(server)
    print("dashboard stopped", file=sys.stderr)
    return 0


cli = console_script(main, prog="results.dashboard")


if __name__ == "__main__":
    cli()

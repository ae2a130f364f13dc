"""Waiting for nodes, visibly and within a bound: one status line, and a launch timeout.

On a cluster whose workers start at zero, every trial waits until Ray's autoscaler has launched a
node for it. ``LaunchWatch`` notices when trials are pending and none runs, prints one line every
``LINE_EVERY_S`` seconds saying what the cluster does (node types launching, launch failures the
autoscaler reports, trials waiting, seconds waited), and after ``--launch-timeout`` seconds with
no trial running stops the search the way Ctrl-C does (Tune saves its state, so the experiment
stays resumable). ``run_search`` then raises ``NodesDidNotCome`` with ``launch_timed_out()``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ray.tune import Callback, Stopper

from lens_search.search.autoscaler_adapter import autoscaler_status

LINE_EVERY_S = 30.0
FIRST_LINE_AFTER_S = 5.0
"""The first waiting line: this long after trials began to wait on a cluster with an autoscaler
(starting a trial on an alive node takes a few seconds and deserves no line)."""
FIRST_LINE_WITHOUT_AUTOSCALER_S = 60.0
CHECK_EVERY_S = 1.0
EXIT_NO_NODES = 3
"""Exit status of a search stopped because no node came within ``--launch-timeout``."""


class NodesDidNotCome(Exception):
    """No trial could start within ``--launch-timeout``; the experiment is saved, resumable."""


def cluster_activity(status: dict[str, Any] | None) -> tuple[list[str], list[str]]:
    """(what is launching, why launches failed) from the autoscaler's report, as short phrases."""
    if status is None:
        return [], []
    report = status.get("autoscaler_report") or {}
    launching: dict[str, int] = {}
    for node_type, count in (report.get("pending_launches") or {}).items():
        launching[node_type] = launching.get(node_type, 0) + int(count)
    for entry in report.get("pending_nodes") or []:
        node_type = entry[1] if len(entry) > 1 else "node"
        launching[node_type] = launching.get(node_type, 0) + 1
    phrases = [f"{count} {node_type} launching" for node_type, count in launching.items()]
    failures = []
    availability = (report.get("node_availability_summary") or {}).get("node_availabilities")
    for node_type, record in (availability or {}).items():
        info = record.get("unavailable_node_information") if isinstance(record, dict) else None
        if record and not record.get("is_available", True) and info:
            reason = " ".join(str(info.get("description", "")).split()).rstrip(".")
            failures.append(f"{node_type} launch failed ({info.get('category')}): {reason}")
    failed_nodes: dict[str, int] = {}
    for entry in report.get("failed_nodes") or []:
        node_type = entry[1] if len(entry) > 1 else "node"
        failed_nodes[node_type] = failed_nodes.get(node_type, 0) + 1
    failures += [f"{n} {node_type} failed to start" for node_type, n in failed_nodes.items()]
    return phrases, failures


@dataclass
class _Watch:
    """What the current search's watch knows; module state, as a restored experiment brings back
    its own unpickled copy of each callback (so the callback itself holds nothing)."""

    timeout_s: float = float("inf")
    autoscaling: bool = False
    print_lines: bool = True
    status: Callable[[], dict[str, Any] | None] = autoscaler_status
    timed_out: str | None = None
    waiting_since: float | None = None
    last_check: float = 0.0
    last_line: float = 0.0


_watch = _Watch()


def watch_launches(
    timeout_s: float,
    autoscaling: bool,
    print_lines: bool = True,
    status: Callable[[], dict[str, Any] | None] = autoscaler_status,
) -> None:
    """Set up the watch for the next ``fit`` (every ``LaunchWatch`` callback reads this)."""
    global _watch
    _watch = _Watch(timeout_s, autoscaling, print_lines, status)


def launch_timed_out() -> str | None:
    """The line saying why the last ``fit`` was stopped for want of nodes, or None."""
    return _watch.timed_out


class LaunchWatch(Callback):
    """Tune callback: a status line while trials wait for nodes; a stop after the timeout.

    Configured by ``watch_launches`` before each ``fit``: the timeout, whether an autoscaler
    runs, whether to print (not with ``--quiet``: the timeout still applies).
    """

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        watch = _watch
        now = time.monotonic()
        if now - watch.last_check < CHECK_EVERY_S or watch.timed_out:
            return
        watch.last_check = now
        pending = sum(1 for t in trials if t.status == "PENDING")
        running = sum(1 for t in trials if t.status == "RUNNING")
        if not pending or running:
            watch.waiting_since = None
            return
        if watch.waiting_since is None:
            watch.waiting_since, watch.last_line = now, 0.0
        waited = now - watch.waiting_since
        first = FIRST_LINE_AFTER_S if watch.autoscaling else FIRST_LINE_WITHOUT_AUTOSCALER_S
        due = waited >= first and now - watch.last_line >= LINE_EVERY_S
        if waited < watch.timeout_s and not (due and watch.print_lines):
            return
        launching, failures = cluster_activity(watch.status() if watch.autoscaling else None)
        if waited >= watch.timeout_s:
            watch.timed_out = _timeout_line(watch, pending, launching, failures)
            _stop_tune_as_on_ctrl_c()
            return
        watch.last_line = now
        print(_waiting_line(watch, pending, waited, launching, failures), flush=True)

    @property
    def stopper(self) -> Stopper:
        """Stops every trial once timed out, where Tune's own signal handler is not installed."""
        return _StopOnTimeout()


def _waiting_line(
    watch: _Watch, pending: int, waited: float, launching: list[str], failures: list[str]
) -> str:
    doing = launching or (
        ["the autoscaler has no launch under way yet"] if watch.autoscaling else []
    )
    parts = [
        "Waiting for nodes: " + ", ".join(doing or ["no node offers a free slot"]),
        f"{pending} trial{'s' if pending != 1 else ''} pending, none running",
        f"{waited:.0f} s waited (--launch-timeout {watch.timeout_s:g} s)",
    ]
    return "; ".join(parts + failures)


def _timeout_line(watch: _Watch, pending: int, launching: list[str], failures: list[str]) -> str:
    if failures:
        why = "the autoscaler reports: " + "; ".join(failures)
    elif launching:
        why = "still " + ", ".join(launching) + " (see `ray status` on the head)"
    elif watch.autoscaling:
        why = "the autoscaler launched none and reports no failure (see `ray status`)"
    else:
        why = "the cluster has no autoscaler and no node with a free slot came back"
    return (
        f"no trial could start within --launch-timeout {watch.timeout_s:g} s "
        f"({pending} pending): {why}"
    )


def _stop_tune_as_on_ctrl_c() -> None:
    """SIGUSR1 to this process: Tune's handler (main thread only) ends ``fit`` and saves state."""
    if threading.current_thread() is threading.main_thread() and callable(
        signal.getsignal(signal.SIGUSR1)
    ):
        os.kill(os.getpid(), signal.SIGUSR1)


class _StopOnTimeout(Stopper):
    """The fallback when ``fit`` runs outside the main thread: stop all trials (not resumable)."""

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return bool(_watch.timed_out) and threading.current_thread() is not (
            threading.main_thread()
        )

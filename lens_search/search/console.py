"""A quiet console for a search: Tune's table and the summary on screen, the rest in a log file.

Ray forwards whatever trial workers print (TensorFlow's C++ log lines, Python warnings, Keras
output) to the driver's console, and Ray, Optuna and Python warnings log there too. During a
search all of that goes to ``EXPERIMENT/search.log`` instead; ``--verbose`` shows it on the
console as well. Errors of Ray and Optuna still reach the console.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ray

from lens_search.cli import PACKAGES, VERBOSE
from lens_search.search.ray_adapter import worker_output_to

LOG_FILE = "search.log"
LIBRARY_LOGGERS = ("ray", "optuna", "py.warnings", "tensorflow", "absl")
TRIAL_OUTPUT_LOGGER = "lens_search.search.trial_output"
RAY_PRINTER = "ray_print_logs"  # the handler ray.init(log_to_driver=True) registers
OUR_PRINTER = "lens_search_log"

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def library_logs_to_file(
    log_file: Path,
    verbosity: int,
    console_filter: logging.Filter | Sequence[logging.Filter] | None = None,
) -> Iterator[None]:
    """Log Ray, Optuna, Python warnings and the project's messages to ``log_file``.

    Below ``--verbose`` the libraries' console handlers are replaced by one that shows errors
    only, and only those ``console_filter`` (one filter or several) lets through (the log file
    gets them all).
    Everything is put back afterwards (a notebook or a test keeps its logging).
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file)
    to_file.setFormatter(logging.Formatter(_FORMAT))
    errors = logging.StreamHandler()
    errors.setLevel(logging.ERROR)
    filters = [console_filter] if isinstance(console_filter, logging.Filter) else console_filter
    for one in filters or ():
        errors.addFilter(one)
    saved = [_save(logging.getLogger(name)) for name in (*LIBRARY_LOGGERS, *PACKAGES)]
    logging.captureWarnings(True)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if verbosity < VERBOSE:
            logger.handlers = [errors]
            logger.propagate = False
        logger.addHandler(to_file)
    for name in PACKAGES:
        logging.getLogger(name).addHandler(to_file)
    trial_output = logging.getLogger(TRIAL_OUTPUT_LOGGER)
    trial_output.propagate = False
    trial_output.addHandler(to_file)
    trial_output.setLevel(logging.INFO)
    try:
        yield
    finally:
        trial_output.removeHandler(to_file)
        logging.captureWarnings(False)
        for logger, handlers, propagate in saved:
            logger.handlers = handlers
            logger.propagate = propagate
        to_file.close()


def _save(logger: logging.Logger) -> tuple[logging.Logger, list[logging.Handler], bool]:
    return logger, list(logger.handlers), logger.propagate


def prints_worker_output(verbosity: int) -> bool:
    """Whether Ray's driver should print what workers print on the console: with --verbose."""
    return verbosity >= VERBOSE


@contextmanager
def trial_output_to_file(verbosity: int, shutdown_ray: bool = False) -> Iterator[None]:
    """Write what trial workers print to the search log (see ``library_logs_to_file``).

    Ray's driver prints each worker's stdout/stderr through a dispatcher of named handlers, from
    a thread that receives the lines up to seconds after the workers print them (a trial's last
    "Checkpoint successfully created" line arrives after ``Tuner.fit`` has returned). Below
    ``--verbose`` Ray's printer is off: a search starts Ray without it
    (``connect(print_worker_output=prints_worker_output(verbosity))``), and an already running
    Ray has it taken off for the block and put back afterwards, if still connected. With
    ``shutdown_ray`` Ray is shut down (the receiving thread stopped) before the block ends, so a
    line that arrives late still goes to the log.
    """
    logger = logging.getLogger(TRIAL_OUTPUT_LOGGER)

    def write(data: dict[str, Any]) -> None:
        if data.get("pid") == "autoscaler":  # Ray's resource report every few seconds
            return
        source = data.get("actor_name") or data.get("task_name") or "worker"
        where = f"({source} pid={data.get('pid')}, ip={data.get('ip')})"
        for line in data.get("lines", []):
            logger.info("%s %s", where, line)

    replacing = None if prints_worker_output(verbosity) else RAY_PRINTER
    with worker_output_to(OUR_PRINTER, write, replacing=replacing):
        try:
            yield
        finally:
            if shutdown_ray:
                ray.shutdown()

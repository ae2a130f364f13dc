"""Shared fixtures: tiny simulated data sets (real lenstronomy) and a real local Ray."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")


@pytest.fixture(autouse=True)
def project_logging_clean() -> Iterator[None]:
    """Give every test the project's loggers as a library import leaves them, and again after it.

    ``lensing.cli.configure_logging`` (any CLI run in-process, including one inside a module- or
    session-scoped fixture, which runs before this fixture) adds console handlers and stops the
    packages' loggers from propagating, so a later test's ``caplog`` (which listens on the root
    logger) would see nothing. Saving and restoring is not enough: the state saved could already
    be the configured one.
    """
    _clean_project_loggers()
    try:
        yield
    finally:
        _clean_project_loggers()


def _clean_project_loggers() -> None:
    import logging

    from lens_search.cli import PACKAGES

    for name in (*PACKAGES, "__main__"):
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "lens_search_console", 0)]
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


@pytest.fixture(scope="session")
def tiny_classify_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 images per class at 32x32 in the public layout (train/val)."""
    from lens_search.data.simulate import simulate_classification

    out = tmp_path_factory.mktemp("data") / "classify"
    return simulate_classification(out, per_class=12, size=32, val_fraction=0.25, progress=False)


@pytest.fixture(scope="session")
def tiny_superres_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 LR/HR pairs (75 -> 150) in the public layout."""
    from lens_search.data.simulate import simulate_superres

    out = tmp_path_factory.mktemp("data") / "superres"
    return simulate_superres(out, pairs=16, progress=False)


@pytest.fixture(scope="session")
def tiny_superres_space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``--space`` file of a cheap corner of the SR space, ``bench.search_efficiency.QUICK_SPACE``.

    For tests about running searches, not about what they find: the full space's largest network
    (4 layers of up to 128 filters, 5x5 kernels at 150 px) costs 10-20x it per epoch. The learning
    rate, dropout, translation and flips are still searched.
    """
    import json

    from bench.search_efficiency import QUICK_SPACE

    path = tmp_path_factory.mktemp("space") / "tiny-superres.json"
    path.write_text(json.dumps(QUICK_SPACE))
    return path


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A real local Ray with two CPUs, no dashboard, shut down after the module."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(autouse=True)
def _verbosity_back_to_normal() -> Iterator[None]:
    """A test that runs a command's ``main([... "--quiet"])`` in this process leaves the
    project's verbosity QUIET (a command line is one process in real use): put it back, so a
    later test in the same worker sees what a fresh process would (the live table printed)."""
    yield
    from lens_search.cli import NORMAL, configure_logging, verbosity

    if verbosity() != NORMAL:
        configure_logging(NORMAL)

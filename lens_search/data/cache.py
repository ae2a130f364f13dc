"""The default data sets: simulated on first use into a cache folder and reused afterwards.

The folder is ``$LENS_SEARCH_CACHE/<task>-<key>`` (default cache ``~/.cache/lens-search``), where
the key hashes the simulation settings. A file lock keeps two processes from simulating the same
set twice, and the simulator publishes by atomic rename, so no reader sees a partial data set.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lens_search.errors import LensSearchError

CACHE_ENV = "LENS_SEARCH_CACHE"
Simulator = Callable[..., Path]
"""``simulate(folder, **settings)``: writes a data set into ``folder``, returns it."""
_NOT_IN_KEY = frozenset({"workers", "progress"})


def cache_root() -> Path:
    """``$LENS_SEARCH_CACHE`` or ``~/.cache/lens-search``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lens-search").expanduser()


def dataset_key(task: str, sim_kwargs: dict[str, Any]) -> str:
    """A short hash of the settings that change the data (not ``workers`` or ``progress``)."""
    settings = {k: v for k, v in sorted(sim_kwargs.items()) if k not in _NOT_IN_KEY}
    text = json.dumps({"task": task, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def default_dataset(task: str, simulate: Simulator | None = None, **sim_kwargs: Any) -> Path:
    """The folder of the ``task`` data set simulated with ``sim_kwargs``, simulating it if needed.

    ``simulate(folder, **sim_kwargs)`` writes the data set (a task's own simulator); without it,
    the simulator ``lensing.simulate`` has for ``task`` (``simulators()``).

    Example:
        >>> default_dataset("classify", preset="varied", per_class=333, size=128)
    """
    from lens_search.data.simulate import DEFAULT_TEST_FRACTION  # lenstronomy: slow

    if simulate is None:
        known = simulators()
        if task not in known:
            raise LensSearchError(f"unknown task {task!r} (choose from {', '.join(known)})")
        simulate = known[task]
    # The test split is in the key even when left at its default: a set cached before test/
    # existed has another key, so it is simulated anew with test/ rather than refused.
    sim_kwargs = {"test_fraction": DEFAULT_TEST_FRACTION, **sim_kwargs}
    folder = cache_root() / f"{task}-{dataset_key(task, sim_kwargs)}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return simulate(folder, **sim_kwargs)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def simulators() -> dict[str, Simulator]:
    """The simulators of ``lensing.simulate`` by the name of the data set they write."""
    from lens_search.data.simulate import SIMULATORS

    return dict(SIMULATORS)

"""The one place that edits Ray Tune's saved search state: a grown experiment's sample count.

Ray 2.60's ``Tuner.restore`` takes no ``num_samples``: the restored ``SearchGenerator`` reads the
count from the newest ``search_gen_state-<session>.json`` in the experiment folder (a cloudpickled
dict with ``counter``, ``total_samples``, ``finished`` and the ``Experiment``, written by
``ray.tune.utils.util._atomic_save``, read by ``_load_newest_checkpoint``, the newest being the
greatest name). Raising ``total_samples`` there before the restore makes the resumed controller
create the extra trials, with the same searcher (and Optuna study), trial counter and folder.
What this relies on is pinned by ``tests/search/test_search_adapters.py``.
"""

from __future__ import annotations

from typing import Any

import pyarrow.fs

from experiments.storage import filesystem
from lensing.errors import LensSearchError

SEARCH_STATE_PREFIX = "search_gen_state-"


def _newest_state(experiment: str) -> tuple[pyarrow.fs.FileSystem, str | None]:
    fs, folder = filesystem(experiment)
    infos = fs.get_file_info(pyarrow.fs.FileSelector(folder))
    names = sorted(
        info.base_name
        for info in infos
        if info.type == pyarrow.fs.FileType.File
        and info.base_name.startswith(SEARCH_STATE_PREFIX)
        and info.base_name.endswith(".json")
    )
    return fs, f"{folder}/{names[-1]}" if names else None


def _read(fs: pyarrow.fs.FileSystem, path: str) -> dict[str, Any]:
    import ray.cloudpickle as cloudpickle

    with fs.open_input_stream(path) as stream:
        state: dict[str, Any] = cloudpickle.loads(stream.readall())
    return state


def saved_samples(experiment: str) -> int | None:
    """The sample count Tune's saved search state of ``experiment`` holds (None: none saved)."""
    fs, path = _newest_state(experiment)
    return None if path is None else int(_read(fs, path)["total_samples"])


def grow_samples(experiment: str, samples: int) -> None:
    """Make the restored search of ``experiment`` create trials until ``samples`` in all.

    The state file is replaced whole (local: written beside it, then renamed), so a crash
    leaves either the old or the new count.
    """
    import ray.cloudpickle as cloudpickle

    fs, path = _newest_state(experiment)
    if path is None:
        raise LensSearchError(f"{experiment}: Ray Tune saved no search state yet, nothing to grow")
    state = _read(fs, path)
    if samples < int(state["total_samples"]):
        raise LensSearchError(f"{experiment}: cannot shrink a search to {samples} samples")
    state["total_samples"] = samples
    state["finished"] = False
    spec = getattr(state.get("experiment"), "spec", None)
    if isinstance(spec, dict):
        spec["num_samples"] = samples
    data = cloudpickle.dumps(state)
    folder, name = path.rsplit("/", 1)
    if isinstance(fs, pyarrow.fs.LocalFileSystem):
        temp = f"{folder}/.grow-{name}"
        with fs.open_output_stream(temp) as out:
            out.write(data)
        fs.move(temp, path)
        return
    with fs.open_output_stream(path) as out:
        out.write(data)

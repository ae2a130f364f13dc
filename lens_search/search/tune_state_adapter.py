"""The one place that edits Ray Tune's saved search state: a grown experiment's sample count.

Ray 2.60's ``Tuner.restore`` takes no ``num_samples``: the restored ``SearchGenerator`` reads the
count from the newest ``search_gen_state-<session>.json`` in the experiment folder (a cloudpickled
dict with ``counter``, ``total_samples``, ``finished`` and the ``Experiment``, written by
``ray.tune.utils.util._atomic_save``, read by ``_load_newest_checkpoint``, the newest being the
greatest name). Raising ``total_samples`` there before the restore makes the resumed controller
create the extra trials, with the same searcher (and Optuna study), trial counter and folder.
What this relies on is pinned by ``tests/search/test_search_adapters.py``.

The file is never unpickled here: a crafted state file would run code in whoever unpickles it.
Its pickle opcodes are read with ``pickletools.genops`` (which executes nothing), and growing
rewrites the three integers and the flag in place (``total_samples``, the spec's
``num_samples``, ``finished``), with the length of the pickle frame that holds them.
"""

from __future__ import annotations

import pickle
import pickletools
import struct
from typing import Any

import pyarrow.fs

from lens_search.errors import LensSearchError
from lens_search.experiments.storage import filesystem

SEARCH_STATE_PREFIX = "search_gen_state-"
KEY_OPS = ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE")
MEMO_OPS = ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT")
INT_OPS = ("BININT1", "BININT2", "BININT", "INT", "LONG1")


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


def _read(fs: pyarrow.fs.FileSystem, path: str) -> bytes:
    with fs.open_input_stream(path) as stream:
        data: bytes = stream.readall()
    return data


def _opcodes(data: bytes) -> list[tuple[str, Any, int]]:
    """Name, argument and offset of each pickle opcode of ``data``, read without running any."""
    return [(op.name, arg, int(pos or 0)) for op, arg, pos in pickletools.genops(data)]


def _value_op(data: bytes, key: str) -> tuple[str, Any, int, int]:
    """The opcode that follows the first dict key ``key``: name, value, start and end offset."""
    ops = _opcodes(data)
    keys = [i for i, (name, arg, _) in enumerate(ops) if name in KEY_OPS and arg == key]
    if not keys:
        raise LensSearchError(
            f"Ray Tune's saved search state has no {key!r}: is Ray newer than 2.60?"
        )
    value = next(i for i in range(keys[0] + 1, len(ops)) if ops[i][0] not in MEMO_OPS)
    end = ops[value + 1][2] if value + 1 < len(ops) else len(data)
    name, arg, start = ops[value]
    return name, arg, start, end


def _int_value(data: bytes, key: str) -> int:
    name, value, _, _ = _value_op(data, key)
    if name not in INT_OPS:
        raise LensSearchError(f"Ray Tune's saved search state holds {key!r} as {name}, not a count")
    return int(value)


def _int_op(value: int) -> bytes:
    if value < 256:
        return b"K" + struct.pack("<B", value)
    if value < 65536:
        return b"M" + struct.pack("<H", value)
    return b"J" + struct.pack("<i", value)


def _replace(data: bytes, start: int, end: int, new: bytes) -> bytes:
    """``data`` with bytes ``start:end`` replaced, the enclosing pickle frame's length adjusted."""
    delta = len(new) - (end - start)
    patched = data[:start] + new + data[end:]
    for name, length, pos in _opcodes(data):
        if name == "FRAME" and pos < start < pos + 9 + length:
            header = struct.pack("<Q", length + delta)
            return patched[: pos + 1] + header + patched[pos + 9 :]
    return patched


def saved_samples(experiment: str) -> int | None:
    """The sample count Tune's saved search state of ``experiment`` holds (None: none saved)."""
    fs, path = _newest_state(experiment)
    return None if path is None else _int_value(_read(fs, path), "total_samples")


def grow_samples(experiment: str, samples: int) -> None:
    """Make the restored search of ``experiment`` create trials until ``samples`` in all.

    The state file is replaced whole (local: written beside it, then renamed), so a crash
    leaves either the old or the new count.
    """
    fs, path = _newest_state(experiment)
    if path is None:
        raise LensSearchError(f"{experiment}: Ray Tune saved no search state yet, nothing to grow")
    data = _read(fs, path)
    if samples < _int_value(data, "total_samples"):
        raise LensSearchError(f"{experiment}: cannot shrink a search to {samples} samples")
    for key in ("num_samples", "total_samples"):  # each found again in the patched bytes
        _int_value(data, key)
        _, _, start, end = _value_op(data, key)
        data = _replace(data, start, end, _int_op(samples))
    _, _, start, end = _value_op(data, "finished")
    data = _replace(data, start, end, pickle.NEWFALSE)
    folder, name = path.rsplit("/", 1)
    if isinstance(fs, pyarrow.fs.LocalFileSystem):
        temp = f"{folder}/.grow-{name}"
        with fs.open_output_stream(temp) as out:
            out.write(data)
        fs.move(temp, path)
        return
    with fs.open_output_stream(path) as out:
        out.write(data)

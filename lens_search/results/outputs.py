"""Output folders of the results CLIs: written whole or not at all, never over earlier output.

The commands' parsers come from here too (``results_parser``, ``add_output_flags``), so the
EXPERIMENT argument and the ``--out``/``--force`` pair read the same in every command.

Everything is written into a hidden sibling folder first and renamed into place at the end, so a
failure (or Ctrl-C) leaves no partial output folder; an existing folder is replaced only with
``force=True``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from lens_search.cli import OneLineParser, native_stderr_silenced
from lens_search.data.output import staging_folder
from lens_search.errors import LensSearchError
from lens_search.experiments.settings import LEADERBOARD_FILE
from lens_search.experiments.storage import is_uri

__all__ = [
    "add_output_flags",
    "check_apart_from_inputs",
    "check_new_file",
    "check_writable",
    "native_stderr_silenced",
    "output_folder",
    "quiet_keras_import",
    "results_parser",
]

EXPERIMENT_HELP = "experiment folder or URI"


def results_parser(
    command: str, description: str, experiment: str | None = EXPERIMENT_HELP
) -> OneLineParser:
    """The parser of ``python -m results.COMMAND``; its first argument is the experiment, with
    the help text ``experiment``, unless that is None (a command that reads no experiment)."""
    parser = OneLineParser(prog=f"python -m results.{command}", description=description)
    if experiment is not None:
        parser.add_argument("experiment", help=experiment)
    return parser


def add_output_flags(parser: OneLineParser, out_help: str, required: bool = False) -> None:
    """``--out`` (the output folder, help ``out_help``) and ``--force`` (replace an existing one):
    the pair of every command that writes an ``output_folder``."""
    parser.add_argument("--out", required=required, help=out_help)
    parser.add_argument("--force", action="store_true", help="replace an existing --out folder")


def quiet_keras_import() -> None:
    """Import Keras (and TensorFlow) with their native stderr lines hidden.

    TensorFlow prints CUDA-probe lines on file descriptor 2 whatever TF_CPP_MIN_LOG_LEVEL says,
    and a user error must still be one line (``lensing.cli.native_stderr_silenced``).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    with native_stderr_silenced():
        import keras  # noqa: F401


def check_writable(out: str | Path, force: bool) -> Path:
    """``out`` as a Path; LensSearchError if it exists and ``force`` is not given."""
    folder = Path(out).expanduser()
    if folder.exists() and not folder.is_dir():
        raise LensSearchError(f"{folder}: exists and is not a folder; choose another --out")
    if folder.exists() and not force:
        raise LensSearchError(
            f"{folder}: already exists; pass --force to replace it or choose another --out"
        )
    return folder


@contextmanager
def output_folder(out: str | Path, force: bool) -> Iterator[Path]:
    """Yield a staging folder that becomes ``out`` when the block finishes without error."""
    folder = check_writable(out, force)
    with staging_folder(folder) as staging:
        yield staging
        check_writable(folder, force)  # someone may have created it meanwhile
        _replace(staging, folder)


def _replace(staging: Path, folder: Path) -> None:
    """Move ``staging`` to ``folder``; an old ``folder`` is removed only once the new one is in."""
    old = None
    if folder.exists():
        old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
        os.rename(folder, old)
    try:
        os.rename(staging, folder)
    except OSError as exc:
        if old is not None:
            os.rename(old, folder)
        raise LensSearchError(f"{folder}: could not write the output folder: {exc}") from exc
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_new_file(path: str | Path, force: bool) -> None:
    """LensSearchError if the local file ``path`` exists and ``force`` is not given."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise LensSearchError(f"{target}: is a folder; expected a file name")
    if target.exists() and not force:
        raise LensSearchError(
            f"{target}: already exists; pass --force to overwrite it or choose another file"
        )


def check_apart_from_inputs(
    out: str | Path,
    inputs: Mapping[str, str | Path | None],
    experiment: str | Path | None = None,
    flag: str = "--out",
) -> None:
    """Refuse an output that is, holds or sits in an input: writing (or --force) would change it.

    ``inputs`` names local inputs (data set folder, model file); ``experiment`` is the experiment
    read, inside which an output may only be a direct entry that is not a trial folder or a file
    the search wrote (so ``EXPERIMENT/plots`` and ``EXPERIMENT/retrain-rank1`` stay the defaults).
    Storage URIs are never local inputs and are skipped.
    """
    target = _resolved(out)
    named = {what: path for what, path in inputs.items() if path is not None}
    if experiment is not None:
        named["experiment"] = experiment
    for what, path in named.items():
        if is_uri(path):
            continue
        source = _resolved(path)
        inside = source in target.parents
        if target == source or inside or target in source.parents:
            if what == "experiment" and inside and _free_entry_of(source, target):
                continue
            where = "is" if target == source else "holds" if target in source.parents else "is in"
            raise LensSearchError(
                f"{flag} {out} {where} the {what} {path}; an output never goes into (or over) "
                f"an input, even with --force: choose a {flag} outside it"
            )


def _free_entry_of(experiment: Path, target: Path) -> bool:
    """True for a direct entry of the experiment that nothing of the search wrote."""
    if target.parent != experiment:
        return False
    if target.is_dir():
        return not any((target / name).exists() for name in ("result.json", "params.json"))
    return target.name == LEADERBOARD_FILE or not target.exists()


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()

"""The Optuna study of an experiment, kept on disk as a journal file that any process can read.

A search appends every trial's parameters, per-epoch intermediate values and final state to
``EXPERIMENT/optuna-journal.log`` (Optuna's ``JournalStorage`` with a file backend) as it runs,
so ``optuna.load_study``, optuna-dashboard and ``results.plots`` read it during and after the
search. The study is named after the experiment.

Example:
    >>> study = load_study("runs/superres-20261201-120000")
    >>> [t.state.name for t in study.trials]
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

import optuna
import pyarrow.fs
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from lens_search.errors import LensSearchError
from lens_search.experiments.storage import experiment_name, filesystem, is_uri

JOURNAL_FILE = "optuna-journal.log"

logger = logging.getLogger(__name__)


def journal_storage(journal: str | Path) -> JournalStorage:
    """Optuna storage appending to the journal file ``journal`` (created if missing)."""
    Path(journal).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(journal)))


def find_journal(experiment: str | Path) -> Path:
    """The journal of an experiment folder (or the journal file itself), or LensSearchError.

    For an experiment on remote storage (``s3://...``): the driver's live journal when this
    runs where the search runs (its head node), else the copy saved with the experiment.
    """
    if is_uri(experiment):
        local = driver_folder(str(experiment)) / JOURNAL_FILE
        if not local.is_file() and not download_journal(str(experiment), local):
            raise LensSearchError(f"{experiment}: no {JOURNAL_FILE} there (yet)")
        return local
    path = Path(experiment).expanduser()
    journal = path if path.is_file() else path / JOURNAL_FILE
    if not journal.is_file():
        where = "no such folder" if not path.exists() else f"no {JOURNAL_FILE} in it"
        raise LensSearchError(f"{experiment}: {where} (is it an experiment folder of a search?)")
    return journal.resolve()


def study_name_of(journal: Path) -> str:
    """The one study a search journal holds (named after its experiment)."""
    names = optuna.get_all_study_names(journal_storage(journal))
    if not names:
        raise LensSearchError(f"{journal}: the journal holds no study yet")
    return names[0]


def load_study(experiment: str | Path) -> optuna.Study:
    """The experiment's study, read from its journal (works while the search runs)."""
    journal = find_journal(experiment)
    return optuna.load_study(study_name=study_name_of(journal), storage=journal_storage(journal))


def download_journal(experiment_uri: str, journal: Path) -> bool:
    """Copy the journal saved with a remote experiment to ``journal`` unless that is as long.

    Returns False when the experiment has no journal. A journal only grows, so the longer copy
    is the newer one.
    """
    fs, folder = filesystem(experiment_uri)
    source = f"{folder}/{JOURNAL_FILE}"
    info = fs.get_file_info(source)
    if info.type != pyarrow.fs.FileType.File:
        return False
    if journal.is_file() and journal.stat().st_size >= info.size:
        return True
    journal.parent.mkdir(parents=True, exist_ok=True)
    with fs.open_input_stream(source) as remote, journal.open("wb") as local:
        local.write(remote.readall())
    return True


def driver_folder(experiment: str) -> Path:
    """Where the driver writes the journal and the log: the experiment folder when it is local.

    For remote storage (``s3://...``) a local folder of the driver (its journal is copied to
    the experiment folder with Tune's state, see ``search.searcher.JournalOptunaSearch``).
    """
    if not is_uri(experiment):
        return Path(experiment)
    digest = hashlib.sha1(experiment.encode()).hexdigest()[:8]
    name = experiment_name(experiment)
    return Path(tempfile.gettempdir()) / "lens-search" / f"{name}-{digest}"

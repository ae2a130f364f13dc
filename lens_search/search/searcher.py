"""Optuna behind Ray Tune: a study kept in a journal file, told honestly about stopped trials.

What it needs of ``OptunaSearch``'s internals goes through ``search.optuna_adapter``, called by
its module name so that every such call shows where it is made.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState
from ray.tune.result import TRAINING_ITERATION
from ray.tune.search.optuna import OptunaSearch

from lens_search.experiments.study import JOURNAL_FILE, download_journal, journal_storage
from lens_search.search import optuna_adapter

logger = logging.getLogger(__name__)


class JournalOptunaSearch(OptunaSearch):
    """OptunaSearch whose study lives in the journal file ``journal``, named ``study_name``.

    Other processes (``optuna.load_study``, optuna-dashboard) read the journal while the search
    runs. When Tune restores the searcher on ``--resume`` the study is reattached to the journal,
    so the resumed search appends to the same study. ``mirror`` is the experiment folder on remote
    storage (``s3://...``): the journal is then a local file on the driver, copied next to Tune's
    own searcher state at every experiment checkpoint (Tune uploads that folder to the bucket) and
    downloaded from there on a resume on another machine.
    """

    def __init__(
        self, *args: Any, journal: str | None = None, mirror: str | None = None, **kwargs: Any
    ):
        self._journal = journal
        self._mirror = mirror
        if journal is not None:
            kwargs["storage"] = journal_storage(journal)
        super().__init__(*args, **kwargs)
        study = optuna_adapter.searcher_study(self)
        if journal is not None and study is not None and isinstance(self.metric, str):
            with warnings.catch_warnings():  # experimental in Optuna 5; names the dashboard's axis
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([self.metric])

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        self._report_last(trial_id, result)
        super().on_trial_complete(trial_id, result=result, error=error)

    def _report_last(self, trial_id: str, result: dict | None) -> None:
        """Record the final epoch's score as an intermediate value too.

        Tune hands a trial's last result to ``on_trial_complete`` only, never to
        ``on_trial_result``, so without this the study's learning curves miss their last epoch.
        """
        trial = optuna_adapter.asked_trial(self, trial_id)
        if optuna_adapter.was_told(self, trial_id) or trial is None or not result:
            return
        value, step = result.get(self.metric), result.get(TRAINING_ITERATION)
        if isinstance(self.metric, str) and value is not None and step is not None:
            trial.report(value, step)

    def save(self, checkpoint_path: str) -> None:
        super().save(checkpoint_path)
        if self._mirror and self._journal and Path(self._journal).is_file():
            shutil.copyfile(self._journal, Path(checkpoint_path).parent / JOURNAL_FILE)

    def restore(self, checkpoint_path: str) -> None:
        super().restore(checkpoint_path)
        if self._journal is not None:
            self._reattach(self._journal)

    def _reattach(self, journal: str) -> None:
        """Point the restored study and its open trials at the journal; fail lost trials."""
        if self._mirror:
            download_journal(self._mirror, Path(journal))
        optuna_adapter.reattach_study(self, journal_storage(journal))
        self._fail_lost_trials()

    def _fail_lost_trials(self) -> None:
        """Mark FAIL the trials asked after Tune's last saved state: Tune has no record of them."""
        study = optuna_adapter.searcher_study(self)
        if study is None:  # restored before Tune set a metric: nothing was asked yet
            return
        for frozen in optuna_adapter.unknown_running_trials(self):
            logger.info("study trial %d was lost when the search stopped", frozen.number)
            study.tell(frozen.number, state=TrialState.FAIL)


class PruneAwareOptunaSearch(JournalOptunaSearch):
    """Records ASHA-stopped trials as PRUNED instead of COMPLETE.

    Ray's OptunaSearch tells Optuna a trial stopped at epoch 1 of 10 is COMPLETE with its
    epoch-1 score, so TPE learns from truncated scores as if they were final. Told PRUNED,
    TPE ranks every finished trial above every stopped one and orders the stopped ones by how
    far they got, then by their last score (optuna/samplers/_tpe/sampler.py).
    """

    def __init__(self, *args: Any, max_epochs: int, epoch_attr: str = "epoch", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._max_epochs = max_epochs
        self._epoch_attr = epoch_attr

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        stopped_early = (
            not error
            and result is not None
            and result.get(self.metric) is not None
            and result.get(self._epoch_attr, self._max_epochs) < self._max_epochs
        )
        if not stopped_early or optuna_adapter.was_told(self, trial_id):
            super().on_trial_complete(trial_id, result=result, error=error)
            return
        self._report_last(trial_id, result)
        optuna_adapter.tell_pruned(self, trial_id)

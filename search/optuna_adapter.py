"""The one place that reads the internals of Ray's ``OptunaSearch`` and Optuna's storage ids.

Ray 2.60's ``OptunaSearch`` offers no public access to what ``search.searcher`` extends: its study
(``_ot_study``), the Optuna trial asked for each Tune trial (``_ot_trials``, by Tune trial id),
the Tune trials already told to the study (``_completed_trials``) and the study's name and
storage (``_study_name``, ``_storage``). An ``optuna.Trial`` is tied to its study through the
storage's trial id (``_trial_id``; the public ``number`` would ask the storage). What these mean
is pinned by ``tests/search/test_search_adapters.py``, so a Ray or Optuna upgrade that changes
them fails there first.
"""

from __future__ import annotations

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState
from ray.tune.search.optuna import OptunaSearch


def searcher_study(searcher: OptunaSearch) -> optuna.Study | None:
    """The study ``searcher`` asks and tells (None before Tune gives it a metric and mode)."""
    return searcher._ot_study


def asked_trial(searcher: OptunaSearch, trial_id: str) -> optuna.Trial | None:
    """The Optuna trial asked for Tune trial ``trial_id`` (None if none was)."""
    return searcher._ot_trials.get(trial_id)


def was_told(searcher: OptunaSearch, trial_id: str) -> bool:
    """Whether Tune trial ``trial_id``'s end was told to the study (a later one is ignored)."""
    return trial_id in searcher._completed_trials


def tell_pruned(searcher: OptunaSearch, trial_id: str) -> None:
    """Tell the study that Tune trial ``trial_id`` ended PRUNED, as ``OptunaSearch`` would tell."""
    searcher._ot_study.tell(searcher._ot_trials[trial_id], state=TrialState.PRUNED)
    searcher._completed_trials.add(trial_id)


def reattach_study(searcher: OptunaSearch, storage: BaseStorage) -> None:
    """Point a restored ``searcher``'s study and asked trials at ``storage`` (same study name).

    The unpickled study and trials hold a storage object of their own, which no longer writes
    to the journal other processes read; the sampler (with its random state), pruner and
    directions are kept.
    """
    old = searcher._ot_study
    searcher._storage = storage
    searcher._ot_study = optuna.create_study(
        storage=storage,
        sampler=old.sampler,
        pruner=old.pruner,
        study_name=searcher._study_name,
        directions=old.directions,
        load_if_exists=True,
    )
    searcher._ot_trials = {
        trial_id: optuna.Trial(searcher._ot_study, trial._trial_id)
        for trial_id, trial in searcher._ot_trials.items()
    }


def unknown_running_trials(searcher: OptunaSearch) -> list[FrozenTrial]:
    """The study's RUNNING trials that no Tune trial of ``searcher`` was asked for."""
    known = {trial._trial_id for trial in searcher._ot_trials.values()}
    running = searcher._ot_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return [frozen for frozen in running if frozen._trial_id not in known]

"""The one place that reads the internals of Ray's ``OptunaSearch`` and Optuna's storage ids.

Ray 2.60's ``OptunaSearch`` offers no public access to what ``search.searcher`` extends: its study
(``_ot_study``), the Optuna trial asked for each Tune trial (``_ot_trials``, by Tune trial id),
the Tune trials already told to the study (``_completed_trials``) and the study's name and
storage (``_study_name``, ``_storage``). An ``optuna.Trial`` is tied to its study through the
storage's trial id (``_trial_id``; the public ``number`` would ask the storage). What these mean
is pinned by ``tests/search/test_search_adapters.py``, so a Ray or Optuna upgrade that changes
them fails there first. ``search.sampler``'s rung-aware TPE samples from good and bad sets of its
own through ``tpe_sample_from_split`` (Optuna 5.1's ``TPESampler._sample`` with the split
replaced; pinned by ``tests/search/test_search_sampler.py``).
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import TPESampler
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


def tpe_sample_from_split(
    sampler: TPESampler,
    study: optuna.Study,
    search_space: dict[str, BaseDistribution],
    below: list[FrozenTrial],
    above: list[FrozenTrial],
) -> dict[str, Any]:
    """What ``TPESampler._sample`` returns once it has split the trials: the candidate of the
    good set's Parzen estimator with the best log-likelihood ratio against the bad set's."""
    mpe_below = sampler._build_parzen_estimator(study, search_space, below, handle_below=True)
    mpe_above = sampler._build_parzen_estimator(study, search_space, above, handle_below=False)
    samples = mpe_below.sample(sampler._rng.rng, sampler._n_ei_candidates)
    scores = sampler._compute_acquisition_func(samples, mpe_below, mpe_above)
    chosen = TPESampler._compare(samples, scores)
    return {name: dist.to_external_repr(chosen[name]) for name, dist in search_space.items()}

"""Optuna behind Ray Tune, told honestly about trials that ASHA stopped early."""

from __future__ import annotations

from typing import Any

from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch


class PruneAwareOptunaSearch(OptunaSearch):
    """OptunaSearch that records ASHA-stopped trials as PRUNED instead of COMPLETE.

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
        if not stopped_early or trial_id in self._completed_trials:
            super().on_trial_complete(trial_id, result=result, error=error)
            return
        self._ot_study.tell(self._ot_trials[trial_id], state=TrialState.PRUNED)
        self._completed_trials.add(trial_id)

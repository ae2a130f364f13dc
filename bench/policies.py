"""Search libraries as ``bench.engine.Policy``: each driven without workers, in the order its own
runner calls it, so a replay runs the library's real search code.

- ``RayPolicy``: a Ray Tune searcher and scheduler, called as Tune's controller calls them
  (``suggest``, ``on_trial_add``, ``on_trial_result``, ``on_trial_complete``).
- ``RandomSearcher``: random configurations from ``SearchSpace.sample`` (a searcher for
  ``RayPolicy``).
- ``HyperbandPolicy``: keras-tuner's ``HyperbandOracle`` (factor 3, iterations repeated until the
  budget is spent), driven as its tuner drives it, one trial at a time; a trial continued from
  an earlier one resumes that configuration's curve at its ``tuner/initial_epoch``.
- ``OptunaPolicy``: Optuna alone, ask-and-tell, TPE with one of its pruners.
- ``BohbPolicy``: Ray's ``TuneBOHB`` with ``HyperBandForBOHB``, driven through ``_Controller``,
  the part of Tune's ``TuneController`` the scheduler calls; paused trials resume later at their
  next epoch.
- ``DehbPolicy``: DEHB's ask-and-tell (PyPI ``dehb``, optional: ``dehb_available``).

Every library is imported when its policy is built, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.engine import Config, Started

if TYPE_CHECKING:
    from lens_search.spaces import SearchSpace


def quiet_search_logs() -> None:
    """Optuna's per-trial INFO lines and Ray's INFO/WARNING logs off (a replay makes thousands)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("ray").setLevel(logging.ERROR)


class RayPolicy:
    """A Ray Tune searcher and scheduler, called in the order Tune's controller calls them.

    Trial ids are ``t00001``, ``t00002``, ...; every trial runs from epoch 1 to ``max_epochs``
    unless the scheduler stops it. Without a scheduler every trial trains all its epochs.
    """

    def __init__(
        self, searcher: Any, scheduler: Any, metric: str, max_epochs: int, workers: int
    ) -> None:
        self.searcher, self.scheduler = searcher, scheduler
        self.metric, self.max_epochs, self.workers = metric, max_epochs, workers
        self.count = 0
        self.trials: dict[str, _TrialRef] = {}

    def start(self) -> Started | None:
        from ray.tune.search import Searcher

        self.count += 1
        trial_id = f"t{self.count:05d}"
        config = self.searcher.suggest(trial_id)
        if config is None or config == Searcher.FINISHED:
            return None
        if self.scheduler is not None:
            self.trials[trial_id] = _TrialRef(trial_id)
            self.scheduler.on_trial_add(None, self.trials[trial_id])
        return trial_id, config, 1, self.max_epochs

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        from ray.tune.schedulers import TrialScheduler

        result = {self.metric: value, "epoch": epoch, "training_iteration": epoch}
        if self.scheduler is not None:
            trial = self.trials[trial_id]
            decision = self.scheduler.on_trial_result(None, trial, result)
        else:
            decision = TrialScheduler.STOP if epoch >= self.max_epochs else TrialScheduler.CONTINUE
        if decision == TrialScheduler.CONTINUE and epoch < self.max_epochs:
            self.searcher.on_trial_result(trial_id, result)
            return True
        if self.scheduler is not None:
            self.scheduler.on_trial_complete(None, self.trials.pop(trial_id), result)
        self.searcher.on_trial_complete(trial_id, result=result)
        return False


@dataclass(frozen=True)
class _TrialRef:
    """What Ray's ASHA reads of a trial: its id."""

    trial_id: str


class RandomSearcher:
    """Random configurations from the project's own sampler (``SearchSpace.sample``), seeded;
    a Ray searcher's interface (``suggest``, ``on_trial_result``, ``on_trial_complete``)."""

    def __init__(self, space: SearchSpace, seed: int) -> None:
        self.space, self.rng = space, np.random.default_rng(seed)

    def suggest(self, trial_id: str) -> Config:
        return self.space.sample(self.rng)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        pass

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None) -> None:
        pass


class HyperbandPolicy:
    """keras-tuner's ``HyperbandOracle``, driven as its ``Tuner`` drives it, one trial at a time.

    ``folder`` holds the oracle's project files (a scratch folder per replay).
    """

    workers = 1

    def __init__(
        self, space: SearchSpace, metric: str, max_epochs: int, seed: int, folder: str
    ) -> None:
        import keras_tuner as kt

        from bench.search_efficiency import keras_tuner_seed

        hp = kt.HyperParameters()
        space.build_keras_tuner(hp)
        self.space, self.metric = space, metric
        self.oracle = kt.oracles.HyperbandOracle(
            objective=kt.Objective(metric, direction="max"),
            max_epochs=max_epochs,
            factor=3,
            hyperband_iterations=1000,  # repeated until the replay's budget runs out
            seed=keras_tuner_seed(seed),
            hyperparameters=hp,
        )
        self.oracle._set_project_dir(folder, "replay")
        self.running: dict[str, Any] = {}

    def start(self) -> Started | None:
        with contextlib.redirect_stdout(io.StringIO()):
            trial = self.oracle.create_trial("replay")
        if trial.status == "STOPPED":
            return None
        values = trial.hyperparameters.values
        config = {name: values[name] for name in self.space.searched()}
        self.running[trial.trial_id] = trial
        first, last = int(values["tuner/initial_epoch"]) + 1, int(values["tuner/epochs"])
        return str(trial.trial_id), config, first, last

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        trial = self.running[trial_id]
        with contextlib.redirect_stdout(io.StringIO()):
            self.oracle.update_trial(trial_id, {self.metric: value}, step=epoch)
            if epoch < int(trial.hyperparameters.values["tuner/epochs"]):
                return True
            trial.status = "COMPLETED"
            self.oracle.end_trial(self.running.pop(trial_id))
        return False


class OptunaPolicy:
    """Optuna alone, ask and tell: TPE (seeded) with ``pruner``; a trial that reaches
    ``max_epochs`` is told COMPLETE with its last value, a pruned one PRUNED."""

    def __init__(
        self, space: SearchSpace, pruner: Any, max_epochs: int, seed: int, workers: int
    ) -> None:
        import optuna

        self.space, self.max_epochs, self.workers = space, max_epochs, workers
        self.study = optuna.create_study(  # HyperbandPruner picks brackets by the name's hash
            study_name=f"replay-seed-{seed}",
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner,
        )
        self.trials: dict[str, Any] = {}

    def start(self) -> Started | None:
        trial = self.study.ask()
        config = {**self.space.define_by_run(trial), **trial.params}
        trial_id = str(trial.number)
        self.trials[trial_id] = trial
        return trial_id, config, 1, self.max_epochs

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        from optuna.trial import TrialState

        trial = self.trials[trial_id]
        trial.report(value, epoch)
        if epoch >= self.max_epochs:
            self.study.tell(trial, value)
        elif trial.should_prune():
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            return True
        del self.trials[trial_id]
        return False


def config_space(space: SearchSpace) -> tuple[Any, Config]:
    """The searched parameters as the ConfigSpace ``TuneBOHB`` samples, and the fixed values.

    Floats keep their range and log scale, integers their inclusive range and log scale (a
    ``step`` grid becomes an ordinal of its values), choices their values; a parameter with one
    possible value is fixed, as a config of Tune would carry it.
    """
    import ConfigSpace as CS

    hyperparameters: list[Any] = []
    fixed: Config = {}
    for param in space.params:
        form = param.config_space()
        if form is None:
            fixed[param.name] = param.default_value()
        else:
            hyperparameters.append(form)
    configuration_space = CS.ConfigurationSpace()  # TuneBOHB seeds it
    configuration_space.add(hyperparameters)
    return configuration_space, fixed


@dataclass(eq=False)
class _Trial:
    """What Ray's HyperBand schedulers and ``TuneController.stop_trial`` read of a Tune ``Trial``:
    its id, status, saving flag and last result; hashed by identity, as brackets key on it."""

    trial_id: str
    config: Config
    status: str = "PENDING"
    is_saving: bool = False
    last_result: dict[str, Any] = field(default_factory=dict)

    @property
    def trained(self) -> int:
        """Epochs this trial has trained (its last ``training_iteration``)."""
        return int(self.last_result.get("training_iteration", 0))


@dataclass
class _SearchAlgorithm:
    """Tune's ``SearchGenerator`` as ``HyperBandForBOHB`` reaches through it: ``.searcher``."""

    searcher: Any


class _Controller:
    """The part of Tune's ``TuneController`` that ``HyperBandForBOHB`` calls: ``get_trials``,
    ``search_alg.searcher`` (told of pauses) and ``stop_trial``."""

    def __init__(self, searcher: Any, scheduler: Any) -> None:
        self.search_alg = _SearchAlgorithm(searcher)
        self.scheduler = scheduler
        self.trials: list[_Trial] = []

    def get_trials(self) -> list[_Trial]:
        return self.trials

    def stop_trial(self, trial: _Trial) -> None:
        """As ``TuneController.stop_trial``: a pending or paused trial is removed from the
        scheduler, a running one completed with its last result; the searcher hears it ended."""
        from ray.tune.experiment import Trial

        searcher = self.search_alg.searcher
        if trial.status in (Trial.TERMINATED, Trial.ERROR):
            return
        if trial.status in (Trial.PENDING, Trial.PAUSED):
            self.scheduler.on_trial_remove(self, trial)
            searcher.on_trial_complete(trial.trial_id)
        else:
            self.scheduler.on_trial_complete(self, trial, trial.last_result)
            searcher.on_trial_complete(trial.trial_id, result=trial.last_result)
        trial.status = Trial.TERMINATED


class BohbPolicy:
    """Ray's ``TuneBOHB`` and ``HyperBandForBOHB``, driven as Tune's ``TuneController`` drives them.

    Tune keeps one trial pending: when none is, the searcher suggests one and the scheduler adds
    it to a bracket (``on_trial_add``). A free worker runs what ``choose_trial_to_run`` picks (a
    pending trial, or a paused one its bracket promoted), else the oldest pending trial. Each
    epoch's result goes to the scheduler's ``on_trial_result`` and then, unless it says STOP, to
    the searcher's (which learns from the results at rung ends). PAUSE frees the worker and
    keeps the trial, to be resumed at its next epoch; STOP, or a last epoch, ends it through
    ``stop_trial``. Pausing and resuming take no time here (Tune saves and restores a checkpoint).
    hpbandster draws from NumPy's global generator: seed it before building the policy.
    """

    def __init__(
        self, space: SearchSpace, metric: str, max_epochs: int, seed: int, workers: int
    ) -> None:
        from ray.tune.schedulers import HyperBandForBOHB
        from ray.tune.search.bohb import TuneBOHB

        configuration_space, self.fixed = config_space(space)
        warnings.filterwarnings(  # statsmodels' KDE, as hpbandster fits it, once per fit
            "ignore", message="After 0.17 or January 2028", category=FutureWarning
        )
        searcher = TuneBOHB(configuration_space, metric=metric, mode="max", seed=seed)
        scheduler = HyperBandForBOHB(
            time_attr="training_iteration",
            max_t=max_epochs,
            reduction_factor=3,
            metric=metric,
            mode="max",
        )
        self.controller = _Controller(searcher, scheduler)
        self.metric, self.max_epochs, self.workers = metric, max_epochs, workers
        self.trials: dict[str, _Trial] = {}

    def start(self) -> Started | None:
        from ray.tune.experiment import Trial

        self._keep_one_pending()
        trial = self._next_trial()
        while trial is not None and trial.trained >= self.max_epochs:
            trial.status = Trial.RUNNING  # restored with nothing left to train: it completes
            self.controller.stop_trial(trial)
            trial = self._next_trial()
        if trial is None:
            return None
        trial.status = Trial.RUNNING
        config = {**self.fixed, **trial.config}
        return trial.trial_id, config, trial.trained + 1, self.max_epochs

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        from ray.tune.experiment import Trial
        from ray.tune.schedulers import TrialScheduler

        trial = self.trials[trial_id]
        result = {self.metric: value, "epoch": epoch, "training_iteration": epoch}
        decision = self.controller.scheduler.on_trial_result(self.controller, trial, result)
        if decision != TrialScheduler.STOP:
            self.controller.search_alg.searcher.on_trial_result(trial_id, result)
        trial.last_result = result
        if decision == TrialScheduler.CONTINUE and epoch < self.max_epochs:
            return True
        if decision == TrialScheduler.PAUSE:
            trial.status = Trial.PAUSED
        else:  # STOP, or the trainable returned after its last epoch
            self.controller.stop_trial(trial)
        return False

    def _keep_one_pending(self) -> None:
        """Tune's trial queue: a new suggestion whenever no trial is pending."""
        from ray.tune.experiment import Trial

        if any(t.status == Trial.PENDING for t in self.controller.trials):
            return
        trial_id = f"t{len(self.controller.trials) + 1:05d}"
        suggested = self.controller.search_alg.searcher.suggest(trial_id)
        if suggested is None:
            return
        config = {k: v.item() if isinstance(v, np.generic) else v for k, v in suggested.items()}
        trial = _Trial(trial_id, config)
        self.trials[trial_id] = trial
        self.controller.trials.append(trial)
        self.controller.scheduler.on_trial_add(self.controller, trial)

    def _next_trial(self) -> _Trial | None:
        """The scheduler's choice, else the oldest pending trial (as ``_maybe_add_actors``)."""
        from ray.tune.experiment import Trial

        chosen: _Trial | None = self.controller.scheduler.choose_trial_to_run(self.controller)
        if chosen is not None:
            return chosen
        pending = (t for t in self.controller.trials if t.status == Trial.PENDING)
        return next(pending, None)


class DehbPolicy:
    """DEHB's ask-and-tell: each job trains a configuration from epoch 1 to its fidelity (DEHB
    retrains from scratch); ids ``j00001``, ... DEHB draws from NumPy's global generator too."""

    def __init__(
        self, space: SearchSpace, max_epochs: int, seed: int, workers: int, folder: str
    ) -> None:
        from dehb import DEHB

        configuration_space, self.fixed = config_space(space)
        configuration_space.seed(seed)
        self.dehb = DEHB(
            cs=configuration_space,
            dimensions=len(list(configuration_space.values())),
            min_fidelity=1,
            max_fidelity=max_epochs,
            eta=3,
            n_workers=1,  # ask-and-tell here; more would start a dask cluster
            seed=seed,
            output_path=folder,
            save_freq="end",
            log_level="ERROR",
        )
        self.workers = workers
        self.jobs: dict[str, tuple[Any, int]] = {}
        self.count = 0

    def start(self) -> Started | None:
        job = self.dehb.ask()
        self.count += 1
        trial_id = f"j{self.count:05d}"
        last = int(round(float(job["fidelity"])))
        values = dict(job["config"])
        config = {
            **self.fixed,
            **{k: v.item() if hasattr(v, "item") else v for k, v in values.items()},
        }
        self.jobs[trial_id] = (job, last)
        return trial_id, config, 1, last

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        job, last = self.jobs[trial_id]
        if epoch < last:
            return True
        self.dehb.tell(job, {"fitness": -value, "cost": float(last)})
        del self.jobs[trial_id]
        return False


def dehb_available() -> bool:
    """Whether the optional ``dehb`` package imports."""
    try:
        import dehb  # noqa: F401
    except ImportError:
        return False
    return True

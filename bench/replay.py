"""Replay searches against recorded learning curves: many seeds of every method in minutes.

    python -m bench.replay --task superres --seeds 30
    python -m bench.replay --task superres --quick        # 2 seeds, budget 3 x 9 epochs
    python -m bench.replay --benchmark mfh3_good --seeds 30   # regret, methods by preset name

``--benchmark NAME`` (``bench.benchmarks``): mf-prior-bench's multi-fidelity Hartmann functions
or a table under the ``forest`` surrogate, methods by preset name, regret of the incumbent at
1/3, 1/2, 2/3 and all of the budget in ``bench/out/replay-NAME.csv`` (method, seed, budget,
regret), Wilcoxon signed-rank tests against random + ASHA, a plot beside it. What follows
describes ``--task``.

A tabular/surrogate benchmark (as LCBench, YAHPO Gym or Syne Tune's simulator backend do): each
method runs its real search code against an oracle that answers from a table recorded by
``bench.record`` instead of training.

The oracle: a configuration the table holds gets its recorded curve (metric and seconds per
epoch); any other configuration gets a surrogate's curve, fitted on the table over the
configuration encoded in [0, 1] (log scale where the space samples on it), one output per epoch:

- ``--surrogate nearest`` (default): the recorded curve of the nearest table configuration, the
  distance weighting each parameter by its importance (a random forest's, for the final metric).
  Every answer was really trained, so the table's best configuration is reachable and the mark
  below means what it says; the recorded curves carry their own noise.
- ``--surrogate forest``: a scikit-learn random forest's prediction plus Gaussian noise of the
  size measured in the recorded curves (their epoch-to-epoch jitter), drawn once per (replay
  seed, configuration) so a configuration keeps its curve within a replay. Smoother, but it
  averages towards the mean near the best configurations, which it then rarely reaches.

The surrogate's quality on held-out configurations (5-fold: Spearman rank correlation of the
final metric, RMSE per epoch) is printed next to the results, for both kinds.

The searchers are driven directly, without Ray workers, by a discrete-event loop that plays
``--workers`` trials at once on a simulated clock made of the recorded (or predicted) epoch
seconds, in the order their epochs would finish; every epoch counts towards the budget
(``--samples`` x max_epochs, what ``c`` spends), and a method stops when it is spent. A trial
whose run stops may be started again later (paused, then resumed): it keeps its curve and counts
as one configuration.

- ``a``, ``a'``: ``search.run.make_searcher`` (Ray's ``OptunaSearch`` with TPE, stopped trials
  told PRUNED / COMPLETE) and ``make_scheduler`` (Ray's ASHA), called as Tune's controller calls
  them: ``suggest``, ``on_trial_add``, ``on_trial_result``, ``on_trial_complete``.
- ``b``: keras-tuner's own ``HyperbandOracle`` (factor 3, iterations repeated until the budget is
  spent), driven as its tuner drives it (``create_trial``, ``update_trial``, ``end_trial``),
  one trial at a time as ``bench.search_efficiency`` runs it; a trial continued from an earlier
  one resumes that configuration's curve at its ``tuner/initial_epoch``.
- ``c``: random configurations (``SearchSpace.sample``), every one trained to max_epochs.
- ``d``: the same random configurations under ``make_scheduler``'s ASHA.
- ``e``: BOHB, Ray's ``TuneBOHB`` (hpbandster's KDE model, over a ConfigSpace made from the
  space's parameters) with ``HyperBandForBOHB`` (max_t max_epochs, reduction factor 3), driven
  as Tune's controller drives them: one trial kept pending (``suggest``, ``on_trial_add``), a
  free worker given ``choose_trial_to_run``'s pick, ``on_trial_result`` to both, and a
  ``stop_trial`` that calls ``on_trial_remove`` / ``on_trial_complete``. The scheduler PAUSEs
  trials at rung ends and resumes the promoted ones later: a resumed trial trains from its next
  epoch (its earlier epochs were spent once), pausing and resuming taking no simulated time.
- ``f``, ``f'``: Optuna alone, ask-and-tell, TPE with its ``HyperbandPruner`` /
  ``SuccessiveHalvingPruner`` (min resource 1, reduction factor 3).
- ``a-mv``, ``a-def``: variants of ``a`` for choosing its settings (the project's
  ``PruneAwareOptunaSearch`` with ``TPESampler(multivariate=True)``, or with the space's defaults
  as Ray's ``points_to_evaluate``); ``--grace-period`` and ``--reduction-factor`` change ASHA's
  settings for every ASHA method.

Per (method, seed): ``epochs_to_mark`` (epochs spent when the best-so-far first came within
``MARK`` of the table's best configuration; empty if never), ``best_at_budget`` and ``budget``,
written to ``bench/out/replay-<task>.csv``, with a PNG of the median best-so-far against epochs
(interquartile band) and a JSON of the summary and the surrogate's quality next to it. The last
printed line is the median ratio of ``a``'s ``epochs_to_mark`` to ``c``'s and to ``b``'s.
"""

from __future__ import annotations

import contextlib
import csv
import heapq
import io
import json
import logging
import math
import sys
import tempfile
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.common import format_table, machine, quiet_logs, write_csv
from lens_search.cli import OneLineParser, run_cli
from lens_search.errors import LensSearchError

quiet_logs()

TABLES = Path(__file__).resolve().parent / "tables"
MARK = {"superres": 0.1, "classify": 0.002}
"""How close to the table's best configuration counts as reaching it (dB PSNR, AUC)."""
METHODS = {
    "a": "optuna tpe + asha, stopped = pruned (default)",
    "a'": "optuna tpe + asha, stopped = complete",
    "b": "keras-tuner hyperband",
    "c": "random, full epochs",
    "d": "random + asha",
    "e": "bohb (TuneBOHB + HyperBandForBOHB)",
    "f": "optuna tpe + HyperbandPruner",
    "f'": "optuna tpe + SuccessiveHalvingPruner",
    "a-mv": "a with multivariate TPE",
    "a-def": "a with the space's defaults tried first",
}
COLUMNS = ("method", "seed", "epochs_to_mark", "best_at_budget", "budget")
FRACTIONS = (1 / 3, 1 / 2, 2 / 3, 1.0)
"""Budget fractions the median regret is reported at."""


# ---- the table and its oracle ------------------------------------------------------------


@dataclass
class Table:
    """Recorded curves: one row per configuration, ``values``/``seconds`` of shape (n, epochs)."""

    task: str
    metric: str
    configs: list[dict[str, Any]]
    values: np.ndarray
    seconds: np.ndarray
    space: Any

    @property
    def max_epochs(self) -> int:
        return int(self.values.shape[1])

    @property
    def best(self) -> float:
        """The best value any recorded configuration reached at any epoch."""
        return float(np.nanmax(self.values))


def read_table(path: Path, task: str) -> Table:
    """Read a ``bench.record`` CSV (only configurations with every epoch recorded)."""
    from bench.record import space_of
    from lens_search.experiments.tasks import task_named

    space = space_of(task)
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    metric = info.get("metric", task_named(task).metric)
    rows: dict[int, list[dict[str, str]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(int(row["config_id"]), []).append(row)
    epochs = max(len(r) for r in rows.values())
    configs, values, seconds = [], [], []
    for config_id in sorted(rows):
        ordered = sorted(rows[config_id], key=lambda r: int(r["epoch"]))
        if len(ordered) != epochs:
            continue
        configs.append({name: space[name].parse(ordered[0][name]) for name in space.searched()})
        values.append([float(r[metric]) for r in ordered])
        seconds.append([float(r["epoch_seconds"]) for r in ordered])
    curves = np.array(values, dtype=float)
    # a diverged run (no finite score) counts as the worst score recorded
    curves = np.where(np.isfinite(curves), curves, np.nanmin(curves))
    return Table(task, metric, configs, curves, np.array(seconds), space)


def jitter(values: np.ndarray) -> float:
    """The recorded noise: epoch-to-epoch jitter of the curves' later half, as one std.

    For white noise of std s on a smooth curve the second difference has std s * sqrt(6); a
    robust (median absolute deviation) estimate keeps the curves' real bends out of it.
    """
    tail = values[:, values.shape[1] // 2 :]
    if tail.shape[1] < 3:
        return 0.0
    second = np.diff(tail, n=2, axis=1).ravel()
    mad = float(np.median(np.abs(second - np.median(second))))
    return 1.4826 * mad / math.sqrt(6)


SURROGATES = ("nearest", "forest")


class Surrogate:
    """A learning curve for any configuration, fitted on the table's curves.

    ``nearest``: the recorded curve of the nearest table configuration, distances weighted by
    how much each parameter matters (a random forest's importances for the final metric), so
    every answer is a curve that was really trained. ``forest``: a random forest's prediction,
    one output per epoch (smooth, but averaged towards the mean near the best configurations).
    """

    def __init__(self, kind: str, trees: int) -> None:
        self.kind, self.trees = kind, trees

    def fit(self, points: np.ndarray, targets: np.ndarray, final: np.ndarray) -> Surrogate:
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.neighbors import KNeighborsRegressor

        forest = RandomForestRegressor(
            n_estimators=self.trees, min_samples_leaf=2, random_state=0, n_jobs=1
        )
        if self.kind == "forest":
            self.model = forest.fit(points, targets)
            return self
        self.scale = np.sqrt(forest.fit(points, final).feature_importances_)
        self.model = KNeighborsRegressor(n_neighbors=1).fit(points * self.scale, targets)
        return self

    def predict(self, points: np.ndarray) -> np.ndarray:
        if self.kind == "forest":
            return self.model.predict(points)
        return self.model.predict(points * self.scale)


class Oracle:
    """Answers a configuration with its curve: recorded if in the table, else the surrogate's."""

    def __init__(self, table: Table, kind: str, trees: int) -> None:
        self.table = table
        self.points = np.array([table.space.to_unit(c) for c in table.configs])
        self.known = {self._key(p): i for i, p in enumerate(self.points)}
        targets = np.hstack([table.values, np.log(table.seconds)])
        self.model = Surrogate(kind, trees).fit(self.points, targets, table.values[:, -1])
        self.noise = jitter(table.values) if kind == "forest" else 0.0
        self.seed = 0
        self.cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self.finals: dict[bytes, float] = {}
        self.surrogate_answers = 0
        self.table_answers = 0

    @staticmethod
    def _key(point: np.ndarray) -> bytes:
        return np.round(point, 9).tobytes()

    def reseed(self, seed: int) -> None:
        """A new replay: fresh noise draws (a configuration keeps its curve within one replay)."""
        self.seed = seed
        self.cache.clear()

    def curve(self, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(metric per epoch, seconds per epoch) of ``config``."""
        point = self.table.space.to_unit(config)
        key = self._key(point)
        if key in self.known:
            self.table_answers += 1
            row = self.known[key]
            return self.table.values[row], self.table.seconds[row]
        if key not in self.cache:
            epochs = self.table.max_epochs
            predicted = self.model.predict(point[None, :])[0]
            rng = np.random.default_rng([self.seed, zlib.crc32(key)])
            values = predicted[:epochs] + rng.normal(0.0, self.noise, epochs)
            self.cache[key] = (values, np.exp(predicted[epochs:]))
            self.finals[key] = float(predicted[epochs - 1])
        self.surrogate_answers += 1
        return self.cache[key]

    def truth(self, config: dict[str, Any]) -> float:
        """The last epoch's score without noise: recorded, or the surrogate's prediction."""
        key = self._key(self.table.space.to_unit(config))
        if key in self.known:
            return float(self.table.values[self.known[key], -1])
        if key not in self.finals:
            self.curve(config)
            self.surrogate_answers -= 1
        return self.finals[key]


def surrogate_quality(table: Table, kind: str, trees: int, folds: int = 5) -> dict[str, Any]:
    """Held-out quality: Spearman of the final metric and RMSE per epoch over ``folds`` folds."""
    from scipy.stats import spearmanr
    from sklearn.model_selection import KFold

    points = np.array([table.space.to_unit(c) for c in table.configs])
    predicted = np.zeros_like(table.values)
    folds = min(folds, len(points))
    for train, test in KFold(folds, shuffle=True, random_state=0).split(points):
        values = table.values[train]
        model = Surrogate(kind, trees).fit(points[train], values, values[:, -1])
        predicted[test] = model.predict(points[test])
    rho = spearmanr(predicted[:, -1], table.values[:, -1]).statistic
    rmse = np.sqrt(np.mean((predicted - table.values) ** 2, axis=0))
    return {"spearman_final": float(rho), "rmse_per_epoch": [float(x) for x in rmse]}


# ---- the methods -------------------------------------------------------------------------


class Policy(Protocol):
    """A search method as the event loop sees it."""

    workers: int

    def start(self) -> tuple[str, dict[str, Any], int, int] | None:
        """A new trial: (id, config, first epoch, last epoch), or None when it has no more."""

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        """One epoch's value; True to train the next epoch.

        False: the trial stopped running, ended or paused; a paused trial is resumed by a later
        ``start`` that returns its id again, with the first epoch it has not trained yet.
        """


class RayPolicy:
    """A Ray Tune searcher and scheduler, called in the order Tune's controller calls them."""

    def __init__(self, searcher: Any, scheduler: Any, metric: str, max_epochs: int, workers: int):
        self.searcher, self.scheduler = searcher, scheduler
        self.metric, self.max_epochs, self.workers = metric, max_epochs, workers
        self.count = 0
        self.trials: dict[str, Any] = {}

    def start(self) -> tuple[str, dict[str, Any], int, int] | None:
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
    """Random configurations from the project's own sampler (``SearchSpace.sample``)."""

    def __init__(self, space: Any, seed: int) -> None:
        self.space, self.rng = space, np.random.default_rng(seed)

    def suggest(self, trial_id: str) -> dict[str, Any]:
        return self.space.sample(self.rng)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        pass

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None) -> None:
        pass


class HyperbandPolicy:
    """keras-tuner's ``HyperbandOracle``, driven as its ``Tuner`` drives it, one trial at a time."""

    workers = 1

    def __init__(self, space: Any, metric: str, max_epochs: int, seed: int, folder: str) -> None:
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

    def start(self) -> tuple[str, dict[str, Any], int, int] | None:
        with contextlib.redirect_stdout(io.StringIO()):
            trial = self.oracle.create_trial("replay")
        if trial.status == "STOPPED":
            return None
        values = trial.hyperparameters.values
        config = {name: values[name] for name in self.space.searched()}
        self.running[trial.trial_id] = trial
        first, last = int(values["tuner/initial_epoch"]) + 1, int(values["tuner/epochs"])
        return trial.trial_id, config, first, last

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
    """Optuna alone, ask and tell: TPE with one of its own pruners."""

    def __init__(self, space: Any, pruner: Any, max_epochs: int, seed: int, workers: int) -> None:
        import optuna

        self.space, self.max_epochs, self.workers = space, max_epochs, workers
        self.study = optuna.create_study(  # HyperbandPruner picks brackets by the name's hash
            study_name=f"replay-seed-{seed}",
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner,
        )
        self.trials: dict[str, Any] = {}

    def start(self) -> tuple[str, dict[str, Any], int, int] | None:
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


def config_space(space: Any) -> tuple[Any, dict[str, Any]]:
    """The searched parameters as the ConfigSpace ``TuneBOHB`` samples, and the fixed values.

    Floats keep their range and log scale, integers their inclusive range and log scale (a
    ``step`` grid becomes an ordinal of its values), choices their values; a parameter with one
    possible value is fixed, as a config of Tune would carry it.
    """
    import ConfigSpace as CS

    hyperparameters: list[Any] = []
    fixed: dict[str, Any] = {}
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
    config: dict[str, Any]
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
    """

    def __init__(self, space: Any, metric: str, max_epochs: int, seed: int, workers: int) -> None:
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

    def start(self) -> tuple[str, dict[str, Any], int, int] | None:
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

        chosen = self.controller.scheduler.choose_trial_to_run(self.controller)
        if chosen is not None:
            return chosen
        pending = (t for t in self.controller.trials if t.status == Trial.PENDING)
        return next(pending, None)


def variant_searcher(method: str, table: Table, seed: int) -> Any:
    """``a-mv`` / ``a-def``: the project's prune-aware searcher with one TPE setting changed."""
    import optuna

    from lens_search.search.searcher import PruneAwareOptunaSearch

    common: dict[str, Any] = {
        "space": table.space.define_by_run,
        "metric": table.metric,
        "mode": "max",
        "max_epochs": table.max_epochs,
    }
    if method == "a-mv":
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
        return PruneAwareOptunaSearch(**common, sampler=sampler)
    searched = set(table.space.searched())
    defaults = {k: v for k, v in table.space.defaults().items() if k in searched}
    return PruneAwareOptunaSearch(**common, seed=seed, points_to_evaluate=[defaults])


def make_policy(
    method: str,
    task: str,
    table: Table,
    seed: int,
    workers: int,
    folder: str,
    asha: dict[str, int] | None = None,
) -> Policy:
    """Method ``method`` built from its library's (or the project's) own search code.

    ``asha``: ``grace_period`` / ``reduction_factor`` for ``SearchConfig`` (else its defaults).
    """
    import optuna

    from lens_search.experiments.tasks import TASKS
    from lens_search.search.config import SearchConfig
    from lens_search.search.run import make_scheduler, make_searcher

    spec = TASKS[task]
    epochs = table.max_epochs
    if method in ("a", "a'", "c", "d", "a-mv", "a-def"):
        policy = "complete" if method == "a'" else "pruned"
        config = SearchConfig(max_epochs=epochs, seed=seed, stopped_trials=policy, **(asha or {}))
        np.random.seed(seed)  # ASHA draws its bracket from NumPy's global generator
        if method in ("a", "a'"):
            searcher = make_searcher(spec, table.space, config)
        elif method in ("c", "d"):
            searcher = RandomSearcher(table.space, seed)
        else:
            searcher = variant_searcher(method, table, seed)
        scheduler = None if method == "c" else make_scheduler(spec, config)
        return RayPolicy(searcher, scheduler, table.metric, epochs, workers)
    if method == "b":
        return HyperbandPolicy(table.space, table.metric, epochs, seed, folder)
    if method == "e":
        np.random.seed(seed)  # hpbandster's BOHB draws from NumPy's global generator
        return BohbPolicy(table.space, table.metric, epochs, seed, workers)
    pruners = {
        "f": optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=epochs, reduction_factor=3
        ),
        "f'": optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    }
    return OptunaPolicy(table.space, pruners[method], epochs, seed, workers)


# ---- the event loop ----------------------------------------------------------------------


@dataclass
class _Running:
    trial_id: str
    values: np.ndarray
    seconds: np.ndarray
    epoch: int
    last: int
    truth: float = math.nan


Curve = tuple[np.ndarray, np.ndarray]


@dataclass
class Trace:
    """One replay: every epoch's value in the order the epochs finished, with the epoch it was
    (the fidelity) and its configuration's ``truth`` (full-fidelity score without noise)."""

    method: str
    seed: int
    values: list[float] = field(default_factory=list)
    configs: int = 0
    epochs: list[int] = field(default_factory=list)
    truths: list[float] = field(default_factory=list)

    def incumbent_truth(self, budget: int) -> np.ndarray:
        """After each of ``budget`` epochs, the truth of the incumbent: the configuration with
        the best value seen at the highest epoch reached so far (a higher fidelity's result
        replaces lower ones, as BOHB's and DEHB's incumbents do); held if it stopped early."""
        out = np.full(budget, np.nan)
        level, best, truth = 0, -math.inf, math.nan
        count = min(budget, len(self.values))
        for i in range(count):
            value, epoch = self.values[i], self.epochs[i]
            if epoch > level or (epoch == level and value > best):
                level, best, truth = epoch, value, self.truths[i]
            out[i] = truth
        out[count:] = truth
        return out

    def best_so_far(self, budget: int) -> np.ndarray:
        """Best value after each of ``budget`` epochs (the last value held if it stopped early)."""
        values = np.array(self.values[:budget], dtype=float)
        best = np.maximum.accumulate(np.nan_to_num(values, nan=-np.inf))
        if len(best) < budget:
            best = np.concatenate([best, np.full(budget - len(best), best[-1])])
        return best

    def epochs_to(self, mark: float) -> int | None:
        best = self.best_so_far(len(self.values))
        reached = np.nonzero(best >= mark)[0]
        return int(reached[0]) + 1 if len(reached) else None


def replay(policy: Policy, oracle: Oracle, budget: int, trace: Trace) -> Trace:
    """Play ``policy`` against ``oracle`` until ``budget`` epochs have finished.

    A trial id started again (a paused trial resumed) keeps its curve and counts as one
    configuration; it trains only the epochs after those it already spent.
    """
    events: list[tuple[float, int, int]] = []
    running: dict[int, _Running] = {}
    curves: dict[str, Curve] = {}
    truths: dict[str, float] = {}
    truth_of = getattr(oracle, "truth", None)
    order = 0

    def launch(slot: int, now: float) -> None:
        nonlocal order
        started = policy.start() if trace.configs < budget else None
        if started is None:
            return
        trial_id, config, first, last = started
        if trial_id not in curves:
            curves[trial_id] = oracle.curve(config)
            truths[trial_id] = truth_of(config) if truth_of else math.nan
            trace.configs += 1
        values, seconds = curves[trial_id]
        running[slot] = _Running(trial_id, values, seconds, first, last, truths[trial_id])
        order += 1
        heapq.heappush(events, (now + seconds[first - 1], order, slot))

    for slot in range(policy.workers):
        launch(slot, 0.0)
    while events and len(trace.values) < budget:
        now, _, slot = heapq.heappop(events)
        run = running[slot]
        value = float(run.values[run.epoch - 1])
        trace.values.append(value)
        trace.epochs.append(run.epoch)
        trace.truths.append(run.truth)
        if len(trace.values) >= budget:
            break
        if policy.report(run.trial_id, run.epoch, value) and run.epoch < run.last:
            run.epoch += 1
            order += 1
            heapq.heappush(events, (now + run.seconds[run.epoch - 1], order, slot))
        else:
            del running[slot]
            launch(slot, now)
    return trace


# ---- the benchmark -----------------------------------------------------------------------


def run_replays(
    table: Table,
    oracle: Oracle,
    methods: Sequence[str],
    seeds: Sequence[int],
    budget: int,
    workers: int,
    log: Callable[[str], None],
    asha: dict[str, int] | None = None,
) -> list[Trace]:
    """Every method for every seed; returns the traces."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("ray").setLevel(logging.ERROR)
    traces = []
    for method in methods:
        start = time.perf_counter()
        for seed in seeds:
            oracle.reseed(seed)
            with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
                policy = make_policy(method, table.task, table, seed, workers, folder, asha)
                traces.append(replay(policy, oracle, budget, Trace(method, seed)))
        log(f"{method}: {len(seeds)} seeds in {time.perf_counter() - start:.1f} s")
    return traces


def rows_of(traces: Sequence[Trace], mark: float, budget: int) -> list[dict[str, Any]]:
    """The CSV's rows: one per (method, seed)."""
    return [
        {
            "method": t.method,
            "seed": t.seed,
            "epochs_to_mark": t.epochs_to(mark),
            "best_at_budget": round(float(t.best_so_far(budget)[-1]), 4),
            "budget": budget,
        }
        for t in traces
    ]


def median_epochs(reached: Sequence[int | None], budget: int) -> float:
    """Median epochs to the mark, a run that never reached it counting as infinitely many."""
    values = sorted(math.inf if r is None else r for r in reached)
    return float(np.median(values)) if values else math.nan


def summary(
    traces: Sequence[Trace], methods: Sequence[str], best: float, mark: float, budget: int
) -> list[dict[str, Any]]:
    """Per method: median epochs to the mark, how many seeds reached it, best and regrets."""
    out = []
    for method in methods:
        mine = [t for t in traces if t.method == method]
        curves = np.array([t.best_so_far(budget) for t in mine])
        reached = [t.epochs_to(mark) for t in mine]
        finals = curves[:, -1]
        row: dict[str, Any] = {
            "method": method,
            "name": METHODS[method],
            "reached": f"{sum(r is not None for r in reached)}/{len(mine)}",
            "median_to_mark": median_epochs(reached, budget),
            "best_median": float(np.median(finals)),
            "best_iqr": f"{np.percentile(finals, 25):.3f}-{np.percentile(finals, 75):.3f}",
            "best_range": f"{finals.min():.3f}-{finals.max():.3f}",
            "configs": float(np.median([t.configs for t in mine])),
        }
        for fraction in FRACTIONS:
            at = max(1, int(round(fraction * budget)))
            row[f"regret@{at}"] = float(np.median(best - curves[:, at - 1]))
        out.append(row)
    return out


def read_live(path: Path) -> dict[str, list[float]]:
    """Live searches' best metric per method (``method,seed,best,...``, one row per seed)."""
    live: dict[str, list[float]] = {}
    with open(path, newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                live.setdefault(row["method"], []).append(float(row["best"]))
            except (KeyError, TypeError, ValueError):
                raise LensSearchError(
                    f"--live {path}: line {line} needs a method and a numeric best"
                ) from None
    return live


def live_check(traces: Sequence[Trace], live: dict[str, list[float]], budget: int) -> list[str]:
    """Whether each live run's best falls inside the replay's spread for the same method: the
    range and the 5-95 % band of the replayed seeds' best at the budget."""
    lines = []
    for method, values in live.items():
        finals = np.array([t.best_so_far(budget)[-1] for t in traces if t.method == method])
        if not len(finals):
            continue
        low, high = float(finals.min()), float(finals.max())
        band = np.percentile(finals, [5, 95])
        inside = sum(low <= v <= high for v in values)
        lines.append(
            f"live check {method}: live {' '.join(f'{v:.3f}' for v in values)}; replay range "
            f"{low:.3f}-{high:.3f} (5-95 % {band[0]:.3f}-{band[1]:.3f}) over {len(finals)} "
            f"seeds: {inside}/{len(values)} inside"
        )
    return lines


def ratio_line(rows: Sequence[dict[str, Any]], budget: int) -> str:
    """The median ratios of a's epochs to the mark to c's and b's (bounds where one never got
    there in most seeds)."""
    by = {r["method"]: r["median_to_mark"] for r in rows}
    parts = []
    for other in ("c", "b"):
        if "a" not in by or other not in by:
            parts.append(f"a/{other} n/a (method not run)")
            continue
        a, o = by["a"], by[other]
        if math.isinf(a):
            parts.append(f"a/{other} n/a (a did not reach the mark in most seeds)")
        elif math.isinf(o):
            parts.append(f"a/{other} < {a / budget:.2f} ({other} did not reach it within {budget})")
        else:
            parts.append(f"a/{other} = {a / o:.2f} ({a:g} / {o:g} epochs)")
    return "median epochs_to_mark ratios: " + "; ".join(parts)


def plot(
    traces: Sequence[Trace], methods: Sequence[str], budget: int, best: float, out: Path
) -> None:
    """Median best-so-far against epochs spent, interquartile band, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    epochs = np.arange(1, budget + 1)
    for method in methods:
        curves = np.array([t.best_so_far(budget) for t in traces if t.method == method])
        curves = np.where(np.isfinite(curves), curves, np.nan)
        low, mid, high = np.nanpercentile(curves, [25, 50, 75], axis=0)
        width = 2.5 if method == "a" else 1.2  # the default drawn on top, thicker
        (line,) = axes.plot(
            epochs, mid, label=f"{method}: {METHODS[method]}", linewidth=width, zorder=3
        )
        axes.fill_between(epochs, low, high, color=line.get_color(), alpha=0.15)
    axes.axhline(best, color="black", linestyle=":", linewidth=1, label="table's best")
    finite = [v for t in traces for v in t.best_so_far(budget) if math.isfinite(v)]
    axes.set_ylim(np.percentile(finite, 5), best + 0.05 * (best - min(finite) + 1e-9))
    axes.set_xlabel("epochs spent")
    axes.set_ylabel("best so far")
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    """Replay every method for every seed, print the table, write the CSV and the plot."""
    parser = OneLineParser(prog="python -m bench.replay", description=__doc__.split("\n")[0])
    from bench.benchmarks import BENCHMARKS

    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", choices=sorted(MARK), help="a recorded table, scored by the mark")
    which.add_argument(
        "--benchmark",
        choices=BENCHMARKS,
        help="a named benchmark scored by regret (bench.benchmarks; methods by preset name)",
    )
    parser.add_argument("--table", type=Path, default=None, help="default bench/tables/TASK.csv")
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1")
    parser.add_argument(
        "--samples", type=int, default=9, help="budget = samples x max_epochs (what c spends)"
    )
    parser.add_argument("--workers", type=int, default=2, help="trials at once (b: always 1)")
    parser.add_argument("--surrogate", choices=SURROGATES, default="nearest")
    parser.add_argument("--grace-period", type=int, default=None, help="ASHA's (default 1)")
    parser.add_argument("--reduction-factor", type=int, default=None, help="ASHA's (default 3)")
    parser.add_argument(
        "--methods",
        default=None,
        help="--task: subset of " + ", ".join(METHODS) + " (default all); --benchmark: presets "
        "of bench.benchmarks (default all; dehb where installed)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 seeds, budget 3 x max_epochs, a 20-tree forest"
    )
    parser.add_argument("--out", type=Path, default=None, help="default bench/out/replay-TASK.csv")
    parser.add_argument(
        "--live",
        type=Path,
        default=None,
        help="live searches' bests to check (default bench/tables/live-TASK.csv if present)",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.samples < 1 or args.workers < 1:
        parser.error("--seeds, --samples and --workers must be at least 1")
    if args.benchmark:
        return benchmark_main(parser, args)
    methods = [m.strip() for m in (args.methods or ",".join(METHODS)).split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {', '.join(METHODS)}")
    path = args.table or TABLES / f"{args.task}.csv"
    if not path.is_file():
        parser.error(f"--table: no table at {path} (record one with python -m bench.record)")
    seeds, trees = (2, 20) if args.quick else (args.seeds, 100)
    if args.quick:
        args.samples = 3
    out = args.out or Path(f"bench/out/replay-{args.task}.csv")
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    start = time.perf_counter()
    table = read_table(path, args.task)
    live_path = args.live or TABLES / f"live-{args.task}.csv"
    if args.live is not None and not args.live.is_file():
        parser.error(f"--live: no file at {args.live}")
    live = read_live(live_path) if live_path.is_file() else {}  # bad rows refused before running
    if len(table.configs) < 5:
        parser.error(f"--table: {path} holds {len(table.configs)} complete configurations, need 5")
    if args.grace_period is not None and not 1 <= args.grace_period <= table.max_epochs:
        parser.error(f"--grace-period must be between 1 and {table.max_epochs} (the table's)")
    if args.reduction_factor is not None and args.reduction_factor < 2:
        parser.error("--reduction-factor must be at least 2")
    budget = args.samples * table.max_epochs
    mark = table.best - MARK[args.task]
    quality = {kind: surrogate_quality(table, kind, trees) for kind in SURROGATES}
    oracle = Oracle(table, args.surrogate, trees)
    print(
        f"table {path}: {len(table.configs)} configurations x {table.max_epochs} epochs of "
        f"{table.metric}; best {table.best:.4f}, mark {mark:.4f}; budget {budget} epochs, "
        f"{args.workers} workers, {seeds} seeds"
    )
    for kind in SURROGATES:
        used = " (used)" if kind == args.surrogate else ""
        print(
            f"surrogate {kind}{used}, 5-fold held out: Spearman of final {table.metric} "
            f"{quality[kind]['spearman_final']:.3f}; RMSE per epoch "
            + " ".join(f"{x:.3f}" for x in quality[kind]["rmse_per_epoch"])
            + (f"; noise std {jitter(table.values):.4f}" if kind == "forest" else "")
        )
    asha = {
        key: value
        for key, value in (
            ("grace_period", args.grace_period),
            ("reduction_factor", args.reduction_factor),
        )
        if value is not None
    }
    traces = run_replays(table, oracle, methods, range(seeds), budget, args.workers, log, asha)
    rows = rows_of(traces, mark, budget)
    write_csv(rows, COLUMNS, out)
    plot(traces, methods, budget, table.best, out.with_suffix(".png"))
    table_rows = summary(traces, methods, table.best, mark, budget)
    print(format_table(table_rows, list(table_rows[0])))
    print(
        f"answers: {oracle.table_answers} from the table, {oracle.surrogate_answers} from the "
        f"surrogate; {time.perf_counter() - start:.0f} s; {machine()}"
    )
    details = {
        "table": str(path),
        "configs": len(table.configs),
        "best": table.best,
        "mark": mark,
        "budget": budget,
        "workers": args.workers,
        "surrogate": args.surrogate,
        "surrogate_quality": quality,
        "summary": table_rows,
    }
    if live:
        checks = live_check(traces, live, budget)
        print("\n".join(checks))
        details["live_check"] = checks
    out.with_suffix(".json").write_text(json.dumps(details, indent=1, default=str) + "\n")
    log(f"wrote {out}, {out.with_suffix('.png')} and {out.with_suffix('.json')}")
    print(ratio_line(table_rows, budget))
    return 0


def benchmark_main(parser: Any, args: Any) -> int:
    """``--benchmark NAME``: ``bench.benchmarks.run_benchmark`` with the command line's settings."""
    from bench import benchmarks

    available = [m for m in benchmarks.METHODS if m != "dehb" or benchmarks.dehb_available()]
    methods = [m.strip() for m in (args.methods or ",".join(available)).split(",") if m.strip()]
    unknown = sorted(set(methods) - set(benchmarks.METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {', '.join(benchmarks.METHODS)}")
    if "dehb" in methods and not benchmarks.dehb_available():
        parser.error("--methods dehb needs the dehb package (see bench/RESULTS.md)")
    if args.live or args.table or args.surrogate != "nearest" or args.grace_period:
        parser.error("--benchmark takes --seeds, --samples, --workers, --methods, --quick, --out")
    seeds, trees = (2, 20) if args.quick else (args.seeds, 100)
    samples = 3 if args.quick else args.samples
    suffix = "" if samples == 9 or args.quick else f"-s{samples}"
    out = args.out or Path(f"bench/out/replay-{args.benchmark}{suffix}.csv")
    return benchmarks.run_benchmark(
        args.benchmark, methods, seeds, samples, args.workers, out, trees
    )


if __name__ == "__main__":
    run_cli(main, prog="bench.replay")

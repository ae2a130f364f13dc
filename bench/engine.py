"""The replay engine: recorded learning curves, an oracle that answers any configuration from
them, the protocol a search method is driven through, and the discrete-event loop that plays one
against the other on a simulated clock.

- ``Table`` / ``read_table``: a ``bench.record`` CSV, one curve (metric and seconds per epoch)
  per configuration that has every epoch recorded.
- ``Surrogate`` / ``Oracle``: a curve for any configuration: the recorded one for a recorded
  configuration, else a surrogate's (``SURROGATES``: ``nearest``, the recorded curve of the
  nearest table configuration under an importance-weighted distance; ``forest``, a random
  forest's prediction plus Gaussian noise of the recorded jitter). ``surrogate_quality`` scores
  both on held-out configurations.
- ``Policy``: a search method as the loop sees it (``start`` a trial, ``report`` an epoch).
  The adapters of Ray Tune, Optuna, keras-tuner, BOHB and DEHB live in ``bench.policies``, the
  named presets that build them in ``bench.presets``.
- ``replay`` / ``Trace`` / ``run_replays``: ``workers`` trials at once, their epochs finishing
  in simulated-time order; every epoch counts towards the budget, and the trace holds each
  epoch's value, fidelity and its configuration's noise-free final score.

The engine imports no search library: it is deterministic given the policy and the oracle.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from lens_search.spaces import SearchSpace

Array = NDArray[np.float64]
Config = dict[str, Any]
Curve = tuple[Array, Array]
"""A configuration's learning curve: (metric per epoch, seconds per epoch), epoch 1 first."""
Started = tuple[str, Config, int, int]
"""A trial a policy starts: (trial id, configuration, first epoch to train, last epoch)."""

TABLES = Path(__file__).resolve().parent / "tables"
"""Where ``bench.record`` writes its tables (``<task>.csv`` with a ``<task>.json`` sidecar)."""
SURROGATES = ("nearest", "forest")


# ---- the table -----------------------------------------------------------------------------


@dataclass
class Table:
    """Recorded curves: one row per configuration, ``values``/``seconds`` of shape (n, epochs).

    ``values`` holds the metric (higher is better) with non-finite entries replaced by the
    worst finite value; ``seconds`` the recorded wall time of each epoch.
    """

    task: str
    metric: str
    configs: list[Config]
    values: Array
    seconds: Array
    space: SearchSpace

    @property
    def max_epochs(self) -> int:
        """Epochs per recorded curve."""
        return int(self.values.shape[1])

    @property
    def best(self) -> float:
        """The best value any recorded configuration reached at any epoch."""
        return float(np.nanmax(self.values))


def read_table(path: Path, task: str) -> Table:
    """The table of a ``bench.record`` CSV for ``task``, keeping only the configurations with
    every epoch recorded; the metric is the sidecar JSON's ``metric``, else the task's."""
    from bench.record import space_of
    from lens_search.experiments.tasks import task_named

    space: SearchSpace = space_of(task)
    sidecar = path.with_suffix(".json")
    info = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    metric = str(info.get("metric", task_named(task).metric))
    rows: dict[int, list[dict[str, str]]] = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(int(row["config_id"]), []).append(row)
    epochs = max(len(r) for r in rows.values())
    configs: list[Config] = []
    values: list[list[float]] = []
    seconds: list[list[float]] = []
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
    return Table(task, metric, configs, curves, np.array(seconds, dtype=float), space)


def jitter(values: Array) -> float:
    """The recorded noise: epoch-to-epoch jitter of the curves' later half, as one std.

    For white noise of std s on a smooth curve the second difference has std s * sqrt(6); a
    robust (median absolute deviation) estimate keeps the curves' real bends out of it. 0 when
    the later half has fewer than 3 epochs.
    """
    tail = values[:, values.shape[1] // 2 :]
    if tail.shape[1] < 3:
        return 0.0
    second = np.diff(tail, n=2, axis=1).ravel()
    mad = float(np.median(np.abs(second - np.median(second))))
    return 1.4826 * mad / math.sqrt(6)


# ---- the surrogate and the oracle ----------------------------------------------------------


class Surrogate:
    """A learning curve for any configuration, fitted on the table's curves.

    ``nearest``: the recorded curve of the nearest table configuration, distances weighted by
    how much each parameter matters (a random forest's importances for the final metric), so
    every answer is a curve that was really trained. ``forest``: a random forest's prediction,
    one output per epoch (smooth, but averaged towards the mean near the best configurations).
    Deterministic: the forest's seed is fixed.
    """

    def __init__(self, kind: str, trees: int) -> None:
        if kind not in SURROGATES:
            raise ValueError(f"surrogate {kind!r}: choose from {', '.join(SURROGATES)}")
        self.kind, self.trees = kind, trees
        self.model: Any = None
        self.scale: Array = np.ones(0)

    def fit(self, points: Array, targets: Array, final: Array) -> Surrogate:
        """Fit on ``points`` (configurations in the unit cube, one per row) and ``targets``
        (one output per column); ``final`` (the final metric) sets ``nearest``'s weights."""
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

    def predict(self, points: Array) -> Array:
        """The fitted outputs for each row of ``points``."""
        if self.kind == "forest":
            return np.asarray(self.model.predict(points), dtype=float)
        return np.asarray(self.model.predict(points * self.scale), dtype=float)


class Oracle:
    """Answers a configuration with its curve: recorded if in the table, else the surrogate's.

    The surrogate predicts the metric and the log of the epoch seconds; under ``forest`` the
    metric gets Gaussian noise of the table's ``jitter``, drawn once per (replay seed,
    configuration), so a configuration keeps its curve within a replay. ``table_answers`` and
    ``surrogate_answers`` count the curves handed out.
    """

    def __init__(self, table: Table, kind: str, trees: int) -> None:
        self.table = table
        self.points: Array = np.array([table.space.to_unit(c) for c in table.configs])
        self.known = {self._key(p): i for i, p in enumerate(self.points)}
        targets = np.hstack([table.values, np.log(table.seconds)])
        self.model = Surrogate(kind, trees).fit(self.points, targets, table.values[:, -1])
        self.noise = jitter(table.values) if kind == "forest" else 0.0
        self.seed = 0
        self.cache: dict[bytes, Curve] = {}
        self.finals: dict[bytes, float] = {}
        self.surrogate_answers = 0
        self.table_answers = 0

    @staticmethod
    def _key(point: Array) -> bytes:
        return np.round(point, 9).tobytes()

    def reseed(self, seed: int) -> None:
        """A new replay: fresh noise draws (a configuration keeps its curve within one replay)."""
        self.seed = seed
        self.cache.clear()

    def curve(self, config: Config) -> Curve:
        """(metric per epoch, seconds per epoch) of ``config``, ``table.max_epochs`` each."""
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

    def truth(self, config: Config) -> float:
        """The last epoch's score without noise: recorded, or the surrogate's prediction.

        Not counted as an answer."""
        key = self._key(self.table.space.to_unit(config))
        if key in self.known:
            return float(self.table.values[self.known[key], -1])
        if key not in self.finals:
            self.curve(config)
            self.surrogate_answers -= 1
        return self.finals[key]


def surrogate_quality(table: Table, kind: str, trees: int, folds: int = 5) -> dict[str, Any]:
    """Held-out quality of surrogate ``kind`` over ``folds`` folds (at most one per
    configuration): ``spearman_final`` (rank correlation of the final metric) and
    ``rmse_per_epoch`` (a list, one float per epoch)."""
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


# ---- what the loop drives and what it plays against ----------------------------------------


class Policy(Protocol):
    """A search method as the event loop sees it: ``workers`` trials at most run at once."""

    workers: int

    def start(self) -> Started | None:
        """A new trial: (id, config, first epoch, last epoch), or None when it has no more."""

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        """One epoch's value; True to train the next epoch.

        False: the trial stopped running, ended or paused; a paused trial is resumed by a later
        ``start`` that returns its id again, with the first epoch it has not trained yet.
        """


class Answers(Protocol):
    """What a replay plays against: a curve and a noise-free final score per configuration."""

    def curve(self, config: Config) -> Curve:
        """(metric per epoch, seconds per epoch) of ``config``; the same within one seed."""

    def truth(self, config: Config) -> float:
        """``config``'s full-fidelity score without noise."""

    def reseed(self, seed: int) -> None:
        """Start the replay of ``seed`` (fresh noise draws, if any)."""


# ---- the event loop ------------------------------------------------------------------------


@dataclass
class _Running:
    trial_id: str
    values: Array
    seconds: Array
    epoch: int
    last: int
    truth: float = math.nan


@dataclass
class Trace:
    """One replay: every epoch's value in the order the epochs finished, with the epoch it was
    (the fidelity) and its configuration's ``truth`` (full-fidelity score without noise);
    ``configs`` counts the distinct trial ids started."""

    method: str
    seed: int
    values: list[float] = field(default_factory=list)
    configs: int = 0
    epochs: list[int] = field(default_factory=list)
    truths: list[float] = field(default_factory=list)

    def incumbent_truth(self, budget: int) -> Array:
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

    def best_so_far(self, budget: int) -> Array:
        """Best value after each of ``budget`` epochs (the last value held if it stopped early;
        NaN values count as minus infinity)."""
        values = np.array(self.values[:budget], dtype=float)
        best = np.maximum.accumulate(np.nan_to_num(values, nan=-np.inf))
        if len(best) < budget:
            best = np.concatenate([best, np.full(budget - len(best), best[-1])])
        return best

    def epochs_to(self, mark: float) -> int | None:
        """Epochs spent when the best so far first reached ``mark``; None if it never did."""
        best = self.best_so_far(len(self.values))
        reached = np.nonzero(best >= mark)[0]
        return int(reached[0]) + 1 if len(reached) else None


def replay(policy: Policy, answers: Answers, budget: int, trace: Trace) -> Trace:
    """Play ``policy`` against ``answers`` until ``budget`` epochs have finished; returns
    ``trace`` with every finished epoch appended.

    ``policy.workers`` slots run a trial each; an epoch finishes after its recorded seconds on a
    simulated clock (ties in start order), and a free slot asks the policy for its next trial.
    A trial id started again (a paused trial resumed) keeps its curve and counts as one
    configuration; it trains only the epochs from its given first one. No new trial starts once
    ``budget`` configurations have been started.
    """
    events: list[tuple[float, int, int]] = []
    running: dict[int, _Running] = {}
    curves: dict[str, Curve] = {}
    truths: dict[str, float] = {}
    order = 0

    def launch(slot: int, now: float) -> None:
        nonlocal order
        started = policy.start() if trace.configs < budget else None
        if started is None:
            return
        trial_id, config, first, last = started
        if trial_id not in curves:
            curves[trial_id] = answers.curve(config)
            truths[trial_id] = answers.truth(config)
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


PolicyFactory = Callable[[str, int, str], Policy]
"""Builds a method's policy for one replay: (method, seed, a scratch folder) -> policy."""


def run_replays(
    answers: Answers,
    methods: Sequence[str],
    seeds: Sequence[int],
    budget: int,
    build: PolicyFactory,
    log: Callable[[str], None],
) -> list[Trace]:
    """Every method for every seed (the same seeds for all: paired), method by method; each
    replay gets ``answers`` reseeded and a fresh scratch folder. Logs one line per method."""
    traces = []
    for method in methods:
        start = time.perf_counter()
        for seed in seeds:
            answers.reseed(seed)
            with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
                policy = build(method, seed, folder)
                traces.append(replay(policy, answers, budget, Trace(method, seed)))
        log(f"{method}: {len(seeds)} seeds in {time.perf_counter() - start:.1f} s")
    return traces

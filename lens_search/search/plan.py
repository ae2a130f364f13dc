"""What a search will do and cost, known before its first trial (``--dry-run``, the cost line).

The estimate rests on measurements on this machine, never on a table of typical speeds:
``experiments.cost`` trains the space's default and largest configurations for two short epochs
on random images of the trial's shape, in as many processes at once as trials would run here,
and counts the multiply-adds of configurations sampled from the space; a sampled configuration's
epoch costs what the two measured ones say at its multiply-adds. If the data must be simulated,
a few lenses are simulated here and timed. ASHA is then replayed on those costs (``replay_asha``:
Ray's rule, trials of random quality, as many at once as the cluster runs) for the epochs it
trains and the wall time they take.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import heapq
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lens_search.errors import LensSearchError
from lens_search.experiments.tasks.base import PlannedData
from lens_search.search.cluster import ClusterShape, NodeOffer, trial_resources, trial_slots
from lens_search.search.memory import largest_value, machine_memory

if TYPE_CHECKING:
    from lens_search.experiments.tasks import Task
    from lens_search.search.config import SearchConfig
    from lens_search.spaces import SearchSpace

SHORT_EPOCH, LONG_EPOCH = 2, 6
"""Batches of the two timed epoch lengths (what every epoch pays, what each image adds)."""
SIZED_SAMPLES = 50
"""The search's first configurations whose multiply-adds place them between the two timed."""
REPLAYS = 200
REPLAYED_TRIALS = 20_000
"""At most this many trials replayed in all (fewer replays of a search of many samples)."""
RAY_START_S = 15.0
"""Seconds the estimate adds for starting an embedded Ray and its first workers."""
SIM_SAMPLE = 4
"""Lenses per class (pairs / 3 for super-resolution) simulated to time the simulation."""
EVENING_S = 4 * 3600.0
"""A laptop's evening; a search estimated at more than ``FAR_BEYOND`` of these gets a line."""
FAR_BEYOND = 2.0
"""The image size the cost line offers with ``--backbone cnn`` (the Quick start's 48-64 px)."""
SLOWEST_IMAGE_S = 1.0
"""Seconds per training image beyond the slowest trial step of the spaces on a 2-core CPU
(InceptionResNetV2 at 299 px; at 128 px it is about 0.17 s); a screen for ``cost_line`` only."""
COST_CACHE = "costs"


@dataclass(frozen=True)
class Budget:
    """The epochs a search may train, and what ASHA is expected to train of them."""

    samples: int
    max_epochs: int
    rungs: tuple[int, ...]
    concurrent: int
    expected_epochs: float
    wall_s: float
    """The trials' wall time when ``epoch_costs`` (below) hold; 0 without costs."""


@dataclass(frozen=True)
class Costs:
    """Measured on this machine: seconds per epoch and once per trial, and the simulation."""

    default_epoch_s: float
    largest_epoch_s: float
    mean_epoch_s: float
    once_s: float
    epoch_s: tuple[float, ...]
    """The epoch cost of each configuration sampled from the space (what ASHA is replayed on)."""
    simulate_s: float
    measured_on: str
    timed_at_once: int = 1
    """Processes that timed the configurations together (the trials that share this machine)."""


@dataclass(frozen=True)
class Plan:
    task: str
    data: PlannedData
    space_lines: tuple[str, ...]
    resources: str
    concurrent: int
    budget: Budget
    costs: Costs | None
    remote: bool = False
    """Trials run on a cluster's nodes, not on the machine that timed them."""

    @property
    def wall_s(self) -> float:
        if self.costs is None:
            return 0.0
        return self.costs.simulate_s + RAY_START_S + self.budget.wall_s


def rungs(config: SearchConfig) -> tuple[int, ...]:
    """The epochs at which ASHA compares trials (Ray's ``_Bracket`` milestones)."""
    count = int(
        math.log(config.max_epochs / config.grace_period) / math.log(config.reduction_factor) + 1
    )
    return tuple(config.grace_period * config.reduction_factor**k for k in range(count))


def replay_asha(
    samples: int,
    max_epochs: int,
    milestones: tuple[int, ...],
    reduction_factor: int,
    concurrent: int,
    trial_cost: Callable[[np.random.Generator, int], tuple[float, float]] | None = None,
    replays: int = REPLAYS,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean epochs trained and mean wall time of ``samples`` trials under ASHA.

    Each trial has a random quality that its score shows at every rung, and at a rung it stops
    where Ray's ASHA stops it: below the ``1 - 1/reduction_factor`` quantile of the scores
    recorded there before it. ``concurrent`` trials run at once; ``trial_cost(rng, number)``
    gives trial ``number``'s (once, per-epoch) seconds (default: 0 and 1, the wall time in
    epochs).
    """
    rng = np.random.default_rng(seed)
    replays = max(10, min(replays, REPLAYED_TRIALS // samples))
    cost = trial_cost or (lambda _rng, _number: (0.0, 1.0))
    epochs_total, walls = 0.0, []
    for _ in range(replays):
        recorded: dict[int, list[float]] = {m: [] for m in milestones}
        quality = rng.random(samples)
        costs = [cost(rng, number) for number in range(samples)]
        events: list[tuple[float, int, int]] = []  # (time an epoch ends, trial, epoch)
        started = 0
        for _slot in range(min(concurrent, samples)):
            once, per_epoch = costs[started]
            heapq.heappush(events, (once + per_epoch, started, 1))
            started += 1
        end = 0.0
        while events:
            now, trial, epoch = heapq.heappop(events)
            end = max(end, now)
            epochs_total += 1
            go_on = epoch < max_epochs
            if epoch in recorded:
                scores = recorded[epoch]
                cutoff = np.percentile(scores, (1 - 1 / reduction_factor) * 100) if scores else None
                go_on = go_on and (cutoff is None or quality[trial] >= cutoff)
                scores.append(float(quality[trial]))
            if go_on:
                heapq.heappush(events, (now + costs[trial][1], trial, epoch + 1))
            elif started < samples:
                once, per_epoch = costs[started]
                heapq.heappush(events, (now + once + per_epoch, started, 1))
                started += 1
        walls.append(end)
    return epochs_total / replays, float(np.mean(walls))


@functools.lru_cache(maxsize=16)
def _unit_replay(
    samples: int, max_epochs: int, milestones: tuple[int, ...], reduction_factor: int, at_once: int
) -> tuple[float, float]:
    """``replay_asha`` at 1 s per epoch: the same for a search's cost line and its live ETA."""
    return replay_asha(samples, max_epochs, milestones, reduction_factor, at_once)


def make_plan(
    task: Task,
    config: SearchConfig,
    measure: bool = True,
    keep_costs: bool = False,
    quick: bool = False,
) -> Plan:
    """The plan of a new search with ``config``; with ``measure``, timed on this machine.

    Creates nothing (no experiment, no data set; a timed simulation runs in a temporary folder
    that is removed), except, with ``keep_costs``, the record of the timings. ``quick`` times
    the default configuration's short epochs only (every configuration then costs what it does):
    enough to tell an evening from days, in a third of the time.
    """
    space = task.searched_space(config.space, weights=config.weights, backbone=config.backbone)
    data = plan_data(task, config)
    shape, where = _cluster(config)
    resources = trial_resources(
        shape, config.cpus_per_trial, config.gpus_per_trial, config.memory_per_trial
    )
    concurrent = trials_at_once(shape, resources, config)
    costs = (
        measure_costs(task, config, space, data, concurrent, keep_costs, quick) if measure else None
    )
    budget = plan_budget(config, concurrent, costs)
    per_trial = f"{resources['cpu']:g} CPU, {resources['gpu']:g} GPU"
    if "memory" in resources:
        per_trial += f", {resources['memory'] / 2**30:g} GiB"
    return Plan(
        task=task.name,
        data=data,
        space_lines=tuple(param.describe() for param in space.params),
        resources=f"{per_trial} per trial on {where}",
        concurrent=concurrent,
        budget=budget,
        costs=costs,
        remote=config.address is not None,
    )


def expected_epochs_per_trial(config: SearchConfig, concurrent: int) -> float:
    """What ASHA is expected to train of one trial, from ``replay_asha`` (the live ETA's start)."""
    return plan_budget(config, concurrent, None).expected_epochs / config.samples


def plan_budget(config: SearchConfig, concurrent: int, costs: Costs | None) -> Budget:
    milestones = rungs(config)
    trial_cost: Callable[[np.random.Generator, int], tuple[float, float]] | None = None
    if costs is not None:
        epoch_s, once = costs.epoch_s, costs.once_s

        def trial_cost(rng: np.random.Generator, number: int) -> tuple[float, float]:
            """The search's own first configurations in order, then any of them."""
            known = number if number < len(epoch_s) else int(rng.integers(len(epoch_s)))
            return once, float(epoch_s[known])

    below_max = tuple(m for m in milestones if m < config.max_epochs)
    args = (config.samples, config.max_epochs, below_max, config.reduction_factor, concurrent)
    epochs, wall = replay_asha(*args, trial_cost) if trial_cost else _unit_replay(*args)
    return Budget(
        samples=config.samples,
        max_epochs=config.max_epochs,
        rungs=milestones,
        concurrent=concurrent,
        expected_epochs=epochs,
        wall_s=wall if costs is not None else 0.0,
    )


def plan_data(task: Task, config: SearchConfig) -> PlannedData:
    """The data's sizes from the folder, or from the settings of the data set to simulate."""
    from lens_search.data.cache import cache_root, dataset_key
    from lens_search.data.output import MANIFEST
    from lens_search.data.simulate import DEFAULT_TEST_FRACTION

    if config.data is not None:
        return _existing_data(task, Path(config.data).expanduser())
    changes = task.simulation_changes(config.to_dict())
    settings = {**task.default_simulation, **{k: v for k, v in changes.items() if v}}
    key = dataset_key(task.name, {"test_fraction": DEFAULT_TEST_FRACTION, **settings})
    folder = cache_root() / f"{task.name}-{key}"
    if (folder / MANIFEST).is_file():
        return _existing_data(task, folder, cached=True)
    return task.planned_data(settings, folder, SIM_SAMPLE)


def _existing_data(task: Task, folder: Path, cached: bool = False) -> PlannedData:
    if not folder.exists():
        raise LensSearchError(f"--data {folder}: no such folder")
    train, val, unit = task.layout_sizes(folder)
    found = "found in the cache" if cached else "found"
    return PlannedData(
        description=f"{found} at {folder}: {train} train and {val} val {unit}",
        train=train,
        val=val,
    )


def _cluster(config: SearchConfig) -> tuple[ClusterShape, str]:
    """The cluster's shape: from Ray on ``--address``, else this machine's (no Ray started)."""
    if config.address is None:
        cpus, gpus = float(os.cpu_count() or 1), float(local_gpus())
        memory = machine_memory()
        node = NodeOffer("this machine", cpus, gpus, float(memory) if memory else None)
        return ClusterShape(1, cpus, gpus, cpus, gpus, alive=(node,)), (
            f"this machine ({cpus:g} CPUs, {gpus:g} GPUs; an embedded Ray)"
        )
    import ray

    from lens_search.search.cluster import check_join, cluster_shape, connect

    check_join(config.address)
    connect(config.address, print_worker_output=False)
    try:
        shape = cluster_shape()
    finally:
        ray.shutdown()
    where = f"the cluster at {config.address} ({shape.nodes} alive nodes, "
    where += f"{shape.total_cpus:g} CPUs, {shape.total_gpus:g} GPUs"
    if shape.launchable:
        where += "; the autoscaler can add " + "; ".join(n.describe() for n in shape.launchable)
    return shape, where + ")"


def trials_at_once(shape: ClusterShape, resources: dict[str, float], config: SearchConfig) -> int:
    """Trials at once: alive nodes and every node the autoscaler may launch, full."""
    slots = trial_slots(shape.offers, resources)
    return max(1, min(slots, config.samples, config.max_concurrent or config.samples))


def local_gpus() -> int:
    """NVIDIA GPUs of this machine, from their device files (no driver or library loaded)."""
    return len(glob.glob("/dev/nvidia[0-9]*"))


def cpu_model() -> str:
    """This machine's CPU model as the OS names it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "an unknown CPU"


def measure_costs(
    task: Task,
    config: SearchConfig,
    space: SearchSpace,
    data: PlannedData,
    concurrent: int,
    keep: bool = False,
    quick: bool = False,
) -> Costs:
    """Time the default and the largest configuration here, and the simulation if needed."""
    searched = set(space.searched())
    default = space.defaults()
    largest = dict(default)
    for name in searched:
        value = largest_value(space[name])
        if value is not None:
            largest[name] = type(default[name])(value) if default[name] is not None else value
    sized = [default, largest] + first_configs(task, config, space)
    spec = {
        "task": task.name,
        "timed": [[default, SHORT_EPOCH], [default, LONG_EPOCH], [largest, SHORT_EPOCH]]
        if not quick
        else [[default, SHORT_EPOCH]] * 3,
        "sized": sized,
        "train": data.train,
        "val_share": round(data.val / max(1, data.train), 2),
        "settings": task.training_settings(config.to_dict()),
        "threads": max(1, math.ceil(config.cpus_per_trial)),
    }
    here = min(concurrent, os.cpu_count() or 1) if config.address is None else 1
    results = _run_cost_processes(spec, max(1, int(here)), keep)

    def seconds(index: int) -> tuple[float, float]:
        runs = [r["timed"][index] for r in results]
        return float(np.mean([t["train_images"] for t in runs])), float(
            np.mean([t["epoch_s"] for t in runs])
        )

    (n_short, t_short), (n_long, t_long), (n_large, t_large) = seconds(0), seconds(1), seconds(2)
    if n_long >= 2 * n_short:  # two lengths far enough apart to split the cost
        per_image = max(0.0, (t_long - t_short) / (n_long - n_short))
        every_epoch = max(0.0, t_short - per_image * n_short)
    else:  # a data set of a few batches: the long epoch was a whole one
        per_image, every_epoch = t_long / n_long, 0.0
    per_image_large = max(0.0, t_large - every_epoch) / n_large
    adds = results[0]["multiply_adds"]
    per_image_sampled = [
        _power_law(a, (adds[0], per_image), (adds[1], per_image_large)) for a in adds[2:]
    ]
    once = float(np.mean([t["once_s"] for r in results for t in r["timed"]]))
    epoch_s = tuple(every_epoch + c * data.train for c in per_image_sampled)
    gpu = "" if local_gpus() else ", no GPU"
    return Costs(
        default_epoch_s=every_epoch + per_image * data.train,
        largest_epoch_s=every_epoch + per_image_large * data.train,
        mean_epoch_s=float(np.mean(epoch_s)),
        once_s=once,
        epoch_s=epoch_s,
        simulate_s=time_simulation(task, data) if data.to_simulate else 0.0,
        measured_on=f"{cpu_model()}, {os.cpu_count()} CPUs{gpu}",
        timed_at_once=len(results),
    )


def first_configs(task: Task, config: SearchConfig, space: SearchSpace) -> list[dict[str, Any]]:
    """The configurations the search's own sampler proposes first, in its order.

    The same Optuna sampler and seed as the search (``search.sampler.make_sampler``), the
    space's defaults first with ``--first-trial defaults``: until its start-up trials are
    done TPE samples at random, and nothing is told here, so these are the configurations the
    search trains first (later ones follow the results, and are drawn from the same space).
    """
    import optuna

    from lens_search.search.sampler import make_sampler, startup_trials

    startup = config.startup_trials or startup_trials(config.samples)
    sampler = make_sampler(config.seed, startup, rung_model=config.tpe_model == "rung")
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(sampler=sampler, direction="maximize")
        searched = set(space.searched())
        if config.first_trial == "defaults":
            study.enqueue_trial({k: v for k, v in space.defaults().items() if k in searched})
        configs = []
        for _ in range(min(config.samples, SIZED_SAMPLES)):
            trial = study.ask()
            fixed = space.define_by_run(trial)
            configs.append({**space.defaults(), **trial.params, **fixed})
    finally:
        optuna.logging.set_verbosity(verbosity)
    return configs


def _power_law(adds: float, low: tuple[float, float], high: tuple[float, float]) -> float:
    """The per-image cost at ``adds`` on the power law through the two measured points.

    Time grows slower than the multiply-adds on a CPU (a wider layer uses its cores better),
    so the law is fitted, not assumed linear; equal multiply-adds (a fixed architecture) give
    the mean of the two.
    """
    (a0, c0), (a1, c1) = low, high
    if min(a0, a1, adds, c0, c1) <= 0 or abs(math.log(a1 / a0)) < 1e-6:
        return (c0 + c1) / 2
    exponent = math.log(c1 / c0) / math.log(a1 / a0)
    return c0 * (adds / a0) ** exponent


def _run_cost_processes(spec: dict[str, Any], count: int, keep: bool) -> list[dict[str, Any]]:
    """``experiments.cost`` in ``count`` processes at once.

    The figures are kept per spec, process count and CPU model under the data cache
    (``lensing.cache.cache_root``) when ``keep`` (a real search), and read back by any later
    plan of the same; a dry run creates nothing, so it only reads them.
    """
    key = hashlib.sha256(
        json.dumps({**spec, "count": count, "cpu": cpu_model()}, sort_keys=True).encode()
    ).hexdigest()[:16]
    record = _cost_record(key)
    if record.exists():
        try:
            return list(json.loads(record.read_text()))
        except (OSError, ValueError):
            pass
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "lens_search.experiments.cost", json.dumps(spec)]
    pipe = subprocess.PIPE
    runs = [
        subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=env)
        for _ in range(count)
    ]
    results = []
    for run in runs:
        out, err = run.communicate()
        if run.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            raise LensSearchError(f"timing a training step failed: {last}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    if keep:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(results))
    return results


def _cost_record(key: str) -> Path:
    from lens_search.data.cache import cache_root

    return cache_root() / COST_CACHE / f"{key}.json"


def time_simulation(task: Task, data: PlannedData) -> float:
    """Seconds to simulate ``data.to_simulate`` lenses here with one process per CPU.

    One process simulates one of ``Task.count_setting`` first (imports, caches), then the
    plan's sample of ``data.sample_images`` lenses timed, in a temporary folder removed
    afterwards.
    """
    settings = dict(data.sample)
    simulate, count = task.simulate, task.count_setting
    quiet, messages = StringIO(), logging.getLogger("lens_search.data")
    level, messages.level = messages.level, logging.WARNING
    try:
        with tempfile.TemporaryDirectory() as tmp, redirect_stdout(quiet), redirect_stderr(quiet):
            common: dict[str, Any] = {"workers": 1, "progress": False, "test_fraction": 0.0}
            simulate(Path(tmp) / "warm", **common, **{**settings, count: 1})
            started = time.perf_counter()
            simulate(Path(tmp) / "timed", **common, **settings)
            per_lens = (time.perf_counter() - started) / data.sample_images
    finally:
        messages.setLevel(level)
    return data.to_simulate * per_lens / (os.cpu_count() or 1)


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def format_plan(plan: Plan, command: str) -> str:
    """The plan as ``--dry-run`` prints it."""
    b = plan.budget
    full = b.samples * b.max_epochs
    rung_text = ", ".join(str(r) for r in b.rungs if r < b.max_epochs) or "none"
    lines = [
        f"Plan of {command} (nothing was created)",
        f"  data: {plan.data.description}",
        "  space:",
        *(f"    {line}" for line in plan.space_lines),
        f"  trials: {b.samples}, up to {b.max_epochs} epochs each ({full} epochs at most)",
        f"  ASHA (rungs at epochs {rung_text}) is expected to train about "
        f"{b.expected_epochs:.0f} epochs ({b.expected_epochs / full:.0%}), {b.concurrent} at once",
        f"  resources: {plan.resources}",
    ]
    costs = plan.costs
    if costs is None:
        return "\n".join(lines)
    lines += [
        f"  estimated wall time: {format_duration(plan.wall_s)}",
        f"    an epoch of the default configuration: {format_duration(costs.default_epoch_s)}, "
        f"of the largest: {format_duration(costs.largest_epoch_s)}, "
        f"of the search's on average: {format_duration(costs.mean_epoch_s)}; "
        f"{format_duration(costs.once_s)} once per trial",
    ]
    if costs.simulate_s:
        lines.append(f"    simulating the data: {format_duration(costs.simulate_s)}")
    lines.append(
        f"    rests on: short epochs of the default (two lengths) and the largest configuration "
        f"timed on "
        f"{costs.measured_on}, {costs.timed_at_once} at once"
        f"{', a few lenses simulated' if costs.simulate_s else ''}; the multiply-adds of "
        f"{min(b.samples, SIZED_SAMPLES)} configurations the search samples first; "
        "ASHA replayed on them; "
        f"{RAY_START_S:.0f} s to start Ray"
    )
    if plan.remote:
        lines.append(
            "    the times are this machine's: the cluster's nodes (their GPUs) will differ"
        )
    return "\n".join(lines)


def dry_run(task: Task, config: SearchConfig, command: str) -> str:
    """The plan ``--dry-run`` prints, after the checks a search makes before it creates anything.

    What the search would refuse (an existing ``--name``, a batch too large for memory, a
    ``--warm-start`` experiment of another task or space, a cluster that cannot be joined or
    cannot run a trial) is refused here the same way.
    """
    from lens_search.data.inspect import inspect_dataset
    from lens_search.experiments.claim import check_unclaimed
    from lens_search.experiments.storage import experiment_path, resolve_storage
    from lens_search.search.memory import check_search_fits
    from lens_search.search.warm_start import warm_start_trials

    storage = resolve_storage(config.storage)
    if config.data is not None and Path(config.data).expanduser().exists():
        inspect_dataset(Path(config.data).expanduser())  # every file, as the loader refuses it
    if config.name is not None:
        check_unclaimed(experiment_path(storage, config.name), resume=False)
    check_search_fits(task, config)
    if config.warm_start:
        space = task.searched_space(config.space, weights=config.weights, backbone=config.backbone)
        warm_start_trials(config.warm_start, storage, task, space)
    return format_plan(make_plan(task, config), command)


def cost_line(task: Task, config: SearchConfig) -> str | None:
    """One line when a new embedded search is estimated far beyond a laptop's evening, else None.

    A search whose epochs ASHA is expected to train could not take that long even at
    ``SLOWEST_IMAGE_S`` per training image is not timed. Otherwise the plan is measured (and
    its timings kept, so the next search of the same kind reads them); the line says what the
    estimate is, on what, and what fits: the ``cnn`` backbone for classification, fewer samples,
    or a GPU cluster. The search starts all the same: the user may mean it.
    """
    if config.address is not None or config.resume:
        return None
    unmeasured = make_plan(task, config, measure=False)
    images = unmeasured.budget.expected_epochs * unmeasured.data.train
    if images * SLOWEST_IMAGE_S / unmeasured.concurrent <= FAR_BEYOND * EVENING_S:
        return None
    plan = make_plan(task, config, keep_costs=True, quick=True)
    if plan.wall_s <= FAR_BEYOND * EVENING_S:
        return None
    fits = []
    lighter = task.lighter_settings(config.to_dict())
    if lighter:
        small = make_plan(task, replace(config, **lighter), keep_costs=True, quick=True)
        flags = " ".join(f"--{name.replace('_', '-')} {value}" for name, value in lighter.items())
        fits.append(f"{flags} (estimated at {format_duration(small.wall_s)})")
    share = EVENING_S / plan.wall_s
    if share * config.samples >= 2:
        fits.append(f"--samples {int(share * config.samples)} for about an evening")
    fits.append("a GPU cluster (ray up cluster.yaml, then --address auto)")
    return (
        f"search.{task.name}: this search is estimated at {format_duration(plan.wall_s)} on this "
        f"machine ({plan.costs.measured_on if plan.costs else ''}); it starts anyway; "
        f"what fits an evening: {'; or '.join(fits)}; --dry-run shows the plan"
    )

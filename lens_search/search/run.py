"""One search: Optuna samples, Ray Tune schedules, ASHA stops the weak, a leaderboard comes out."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # keep the CLIReporter table with our columns

import pandas as pd  # noqa: E402
import ray  # noqa: E402
from ray import tune  # noqa: E402
from ray.tune.logger import TBXLoggerCallback  # noqa: E402
from ray.tune.schedulers import ASHAScheduler  # noqa: E402
from ray.tune.search import ConcurrencyLimiter, Searcher  # noqa: E402

from lens_search.cli import NORMAL, QUIET, verbosity  # noqa: E402
from lens_search.errors import LensSearchError  # noqa: E402
from lens_search.experiments.claim import check_unclaimed, claim_experiment  # noqa: E402
from lens_search.experiments.settings import (  # noqa: E402
    LEADERBOARD_FILE,
    SETTINGS_FILE,
    ExperimentSettings,
    read_settings,
    write_settings,
)
from lens_search.experiments.storage import (  # noqa: E402
    ensure_writable,
    experiment_name,
    experiment_path,
    is_uri,
    list_experiments,
    refuse_shared_writable,
    resolve_storage,
    write_private,
)
from lens_search.experiments.study import JOURNAL_FILE, driver_folder  # noqa: E402
from lens_search.experiments.tasks import Task  # noqa: E402
from lens_search.results.leaderboard import build_leaderboard, format_table, write_leaderboard  # noqa: E402
from lens_search.search import optuna_adapter, tune_state_adapter  # noqa: E402
from lens_search.search.cluster import (  # noqa: E402
    ClusterShape,
    check_join,
    cluster_shape,
    connect,
    trial_resources,
    trial_slots,
)
from lens_search.search.config import (  # noqa: E402
    CHANGEABLE_ON_RESUME,
    GROWABLE_ON_RESUME,
    SearchConfig,
    check_resume_flags,
)
from lens_search.search.console import (  # noqa: E402
    LOG_FILE,
    library_logs_to_file,
    prints_worker_output,
    trial_output_to_file,
)
from lens_search.search.eta import EtaReporter  # noqa: E402
from lens_search.search.launch import (  # noqa: E402
    LaunchWatch,
    NodesDidNotCome,
    launch_timed_out,
    watch_launches,
)
from lens_search.search.memory import check_search_fits  # noqa: E402
from lens_search.search.orphans import set_aside_orphans  # noqa: E402
from lens_search.search.outcome import (  # noqa: E402
    SigintWatch,
    resume_command,
    stop_interrupted,
    trial_errors,
    was_interrupted,
)
from lens_search.search.plan import (  # noqa: E402
    cost_line,
    expected_epochs_per_trial,
    rungs,
    trials_at_once,
)
from lens_search.search.sampler import make_sampler, startup_trials  # noqa: E402
from lens_search.search.searcher import JournalOptunaSearch, PruneAwareOptunaSearch  # noqa: E402
from lens_search.search.storage import (  # noqa: E402
    LostStorageFailures,
    StorageWatch,
    TransientStateSyncRaces,
)
from lens_search.search.summary import summarize  # noqa: E402
from lens_search.search.warm_start import seed_study, seeding_line, warm_start_trials  # noqa: E402
from lens_search.spaces import SearchSpace  # noqa: E402
from lens_search.training import make_tune_trainable  # noqa: E402

EPOCH_ATTR = "epoch"


def resolve_space(task: Task, config: SearchConfig) -> SearchSpace:
    """The task's space with the user's ``--space`` overrides applied (``Task.searched_space``)."""
    return task.searched_space(config.space, weights=config.weights, backbone=config.backbone)


def make_searcher(
    task: Task, space: SearchSpace, config: SearchConfig, experiment: str | None = None
) -> Searcher:
    """Optuna's TPE over the task's space, with the task's metric and mode passed explicitly.

    The sampler is ``search.sampler.make_sampler``'s (``--tpe-model``, ``--startup-trials``);
    ``--first-trial defaults`` has the space's defaults trained first (not again on a resume).
    With ``experiment`` (its folder) the study is kept on disk there, named after it
    (``experiments.study``); without, in memory. With ``--warm-start`` the study is seeded with
    the other experiment's finished trials (``search.warm_start``).
    """
    startup = config.startup_trials or startup_trials(config.samples)
    sampler = make_sampler(config.seed, startup, rung_model=config.tpe_model == "rung")
    common: dict[str, Any] = {
        "space": space.define_by_run,
        "metric": task.metric,
        "mode": task.mode,
        "sampler": sampler,
    }
    if config.first_trial == "defaults" and not config.resume:
        searched = set(space.searched())
        common["points_to_evaluate"] = [
            {k: v for k, v in space.defaults().items() if k in searched}
        ]
    if experiment is not None:
        common.update(study_location(experiment))
    searcher: Searcher
    if config.stopped_trials == "pruned":
        searcher = PruneAwareOptunaSearch(**common, max_epochs=config.max_epochs)
    else:
        searcher = JournalOptunaSearch(**common)
    if config.warm_start and experiment is not None:
        trials = warm_start_trials(config.warm_start, config.storage, task, space)
        study = optuna_adapter.searcher_study(searcher)
        if study is None:  # OptunaSearch creates it when given space, metric and mode
            raise RuntimeError("the searcher has no study to warm-start")
        seed_study(study, trials, config.warm_start)
    if config.max_concurrent:
        searcher = ConcurrencyLimiter(searcher, max_concurrent=config.max_concurrent)
    return searcher


def make_scheduler(task: Task, config: SearchConfig) -> ASHAScheduler:
    """ASHA on the task's metric, counting epochs (stable across resumes)."""
    return ASHAScheduler(
        time_attr=EPOCH_ATTR,
        metric=task.metric,
        mode=task.mode,
        max_t=config.max_epochs,
        grace_period=config.grace_period,
        reduction_factor=config.reduction_factor,
    )


def study_location(experiment: str) -> dict[str, Any]:
    """The searcher's journal, study name and (for remote storage) the folder it is copied to."""
    folder = driver_folder(experiment)
    mirror = experiment if is_uri(experiment) else None
    name = experiment_name(experiment)
    return {"journal": str(folder / JOURNAL_FILE), "study_name": name, "mirror": mirror}


def make_reporter(
    task: Task,
    space: SearchSpace,
    config: SearchConfig,
    level: int = NORMAL,
    concurrent: int = 1,
    experiment: str | None = None,
) -> tune.ProgressReporter:
    """Ray Tune's live table: status, epoch, metric and every searched parameter of each trial,
    under the status line of epochs done and the ETA (``search.eta``).

    ``--quiet`` shows no table (only the summary at the end).
    """
    return EtaReporter(
        samples=config.samples,
        max_epochs=config.max_epochs,
        rungs=rungs(config),
        reduction_factor=config.reduction_factor,
        per_new_trial=expected_epochs_per_trial(config, concurrent),
        epoch_attr=EPOCH_ATTR,
        experiment=experiment,
        metric_columns={EPOCH_ATTR: "epoch", task.metric: task.metric, "time_total_s": "s"},
        parameter_columns=short_columns(space.searched()),
        max_column_length=12,
        max_report_frequency=30 if level > QUIET else 10**9,
        sort_by_metric=True,
        metric=task.metric,
        mode=task.mode,
    )


def short_columns(names: list[str], width: int = 8) -> dict[str, str]:
    """Short column titles for the live table: ``filters_1`` -> ``f1``, ``batch_size`` -> ``batch``.

    Titles that would clash keep the full name.
    """
    short = {name: _short_name(name, width) for name in names}
    titles = list(short.values())
    return {name: title if titles.count(title) == 1 else name for name, title in short.items()}


def _short_name(name: str, width: int) -> str:
    parts = [p for p in name.split("_") if p not in ("num", "size")] or [name]
    if len(parts) > 1 and parts[-1].isdigit():
        return parts[0][0] + "".join(parts[1:])
    if len(parts) > 1:
        return "_".join(p[:3] for p in parts)
    return parts[0][:width]


def _prepare(task: Task, config: SearchConfig) -> tuple[SearchConfig, str]:
    """Check storage and name; on --resume take the settings the experiment was started with."""
    storage = resolve_storage(config.storage)
    ensure_writable(storage)
    name = config.name or f"{task.name}-{datetime.now():%Y%m%d-%H%M%S}"
    path = experiment_path(storage, name)
    check_unclaimed(path, config.resume)
    if config.resume:
        if not tune.Tuner.can_restore(path):
            known = ", ".join(list_experiments(storage)) or "none"
            raise LensSearchError(
                f"--resume: no experiment {name!r} to resume in {storage} (found: {known})"
            )
        refuse_shared_writable(path)
        saved = read_settings(path)
        if saved.task != task.name:
            raise LensSearchError(f"experiment {name!r} is a {saved.task} search, not {task.name}")
        check_resume_flags(config, saved.config, name)
        kept = {k: getattr(config, k) for k in CHANGEABLE_ON_RESUME}
        kept |= {k: getattr(config, k) for k in GROWABLE_ON_RESUME if k in config.given_settings()}
        config = replace(SearchConfig(**saved.config), **kept)
    check_search_fits(task, config)
    write_private()
    return replace(config, name=name, storage=storage), path


def run_search(task: Task, config: SearchConfig) -> pd.DataFrame:
    """Run (or resume) a search; returns the leaderboard, also written to the experiment folder.

    Raises SearchInterrupted (a KeyboardInterrupt) after Ctrl-C, once the state is saved and the
    ``--resume`` command printed.
    """
    started = time.time()
    config, path = _prepare(task, config)
    check_join(config.address)  # a cluster that cannot be joined is refused before any folder
    warning = cost_line(task, config)
    if warning is not None:
        print(warning, flush=True)
    space = resolve_space(task, config)
    if config.warm_start and not config.resume:  # refused before the experiment folder exists
        seeds = warm_start_trials(config.warm_start, config.storage, task, space)
        print(seeding_line(config.warm_start, len(seeds)))
    task.prepare_training(config.to_dict())  # e.g. a --weights file that is not there
    data_path = task.data_path(config.to_dict())
    data = task.load_data(data_path, config.to_dict())
    if not config.resume:
        config = replace(config, data=str(data_path))
    log_file = driver_folder(path) / LOG_FILE
    # Held until the leaderboard is written: a second search of this experiment is refused.
    with claim_experiment(path, resume=config.resume):
        try:
            grid, orphans = _fit(task, space, config, data, path, log_file)
        except NodesDidNotCome as exc:
            resume = resume_command(task.name, config)
            message = f"{exc}; the experiment is saved, resume it with: {resume}"
            raise NodesDidNotCome(message) from None
        if was_interrupted():
            raise stop_interrupted(task.name, config)
        table = build_leaderboard(grid, task.metric, task.mode, config.max_epochs)
        leaderboard_path = f"{path}/{LEADERBOARD_FILE}"
        write_leaderboard(table, leaderboard_path)
    if verbosity() > QUIET:
        print(format_table(table, task.metric, top=10))
    wall_s = time.time() - started
    errors = trial_errors(grid)
    summary = summarize(table, task.metric, config, wall_s, path, leaderboard_path, errors, orphans)
    print(f"{summary}\nLog (Ray, Optuna, TensorFlow and trial output): {log_file}")
    return table


def _fit(
    task: Task, space: SearchSpace, config: SearchConfig, data: Any, path: str, log_file: Path
) -> tuple[Any, str | None]:
    """Join or start Ray, run the trials with their output sent to ``log_file``.

    Requests no node can satisfy are refused before the log file (and so the experiment folder)
    exists. Returns the grid and, on ``--resume``, the line about trial folders set aside as
    orphans.
    """
    printing = prints_worker_output(verbosity())
    started_ray = connect(config.address, config.storage, print_worker_output=printing)
    try:
        shape = cluster_shape()
        resources = trial_resources(
            shape, config.cpus_per_trial, config.gpus_per_trial, config.memory_per_trial
        )
    except BaseException:
        if started_ray:
            ray.shutdown()
        raise
    # Ray is shut down inside both blocks: what workers printed last, and what Ray logs while
    # stopping, arrive after fit() returns and must still go to the log file.
    with (
        library_logs_to_file(
            log_file,
            verbosity(),
            console_filter=(LostStorageFailures(path, SETTINGS_FILE), TransientStateSyncRaces()),
        ),
        trial_output_to_file(verbosity(), shutdown_ray=started_ray),
    ):
        orphans = set_aside_orphans(path) if config.resume else None
        trainable = tune.with_resources(
            make_tune_trainable(
                task.trainer, data, label=task.name, **_fixed_training_args(task, config)
            ),
            resources,
        )
        concurrent = trials_at_once(shape, resources, config)
        tuner = _make_tuner(task, space, config, trainable, path, shape, concurrent)
        watch_launches(config.launch_timeout, shape.autoscaling, verbosity() > QUIET)
        with _pending_trials(shape, resources, config):
            grid = tuner.fit()
    timed_out = launch_timed_out()
    if timed_out:
        raise NodesDidNotCome(timed_out)
    return grid, orphans


@contextmanager
def _pending_trials(
    shape: ClusterShape, resources: dict[str, float], config: SearchConfig
) -> Iterator[None]:
    """Let Tune keep as many trials pending as the autoscaler could start nodes for at once.

    With a searcher, Tune keeps one trial pending at a time (``TUNE_MAX_PENDING_TRIALS_PG``
    "auto"), so an autoscaler sees the demand of one trial and launches one node per round. On a
    cluster with an autoscaler the limit becomes the trials its launchable nodes could run at
    once (at most ``--samples``); elsewhere, and if the user set the variable, Tune's own rule.
    """
    name = "TUNE_MAX_PENDING_TRIALS_PG"
    slots = trial_slots(shape.launchable, resources)
    if not shape.autoscaling or slots < 2 or name in os.environ:
        yield
        return
    limit = min(slots, config.samples, config.max_concurrent or config.samples)
    os.environ[name] = str(limit)
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _fixed_training_args(task: Task, config: SearchConfig) -> dict[str, Any]:
    fixed: dict[str, Any] = {
        "epochs": config.max_epochs,
        "seed": config.seed,
        "threads": max(1, math.ceil(config.cpus_per_trial)),
    }
    return {**fixed, **task.training_settings(config.to_dict())}


def grow_experiment(path: str, samples: int) -> None:
    """Raise a resumed experiment's sample count to ``samples`` (``--resume --samples N``).

    The saved settings first, then Tune's saved search state (``search.tune_state_adapter``): a
    later plain ``--resume`` reads the new count from the settings and finishes the growth even
    if this stopped between the two. Finished trials, the study and the folder stay as they are.
    """
    saved = read_settings(path)
    before = tune_state_adapter.saved_samples(path)
    if before is None:  # stopped before Tune saved its searcher: resume it as it was first
        if samples != saved.config.get("samples"):
            raise LensSearchError(
                f"--samples {samples}: experiment {experiment_name(path)!r} stopped before its "
                "search state was saved; --resume it first without --samples, then grow it"
            )
        return
    if saved.config.get("samples") != samples:
        write_settings(path, replace(saved, config={**saved.config, "samples": samples}))
    if before < samples:
        tune_state_adapter.grow_samples(path, samples)
        print(
            f"Growing experiment {experiment_name(path)!r} from {before} to {samples} samples: "
            "its trials and Optuna study are kept"
        )


def _make_tuner(
    task: Task,
    space: SearchSpace,
    config: SearchConfig,
    trainable: Any,
    path: str,
    shape: ClusterShape,
    concurrent: int = 1,
) -> tune.Tuner:
    """A new Tuner, or the saved one of a ``--resume``.

    Actors are reused between trials except on a cluster with an autoscaler: a cached actor
    holds its node's CPUs and GPUs, so the node would never be idle and never scale down.
    """
    if config.resume:
        grow_experiment(path, config.samples)
        return tune.Tuner.restore(
            path, trainable=trainable, resume_unfinished=True, resume_errored=True
        )
    write_settings(
        path,
        ExperimentSettings(
            task=task.name,
            metric=task.metric,
            mode=task.mode,
            max_epochs=config.max_epochs,
            config=config.to_dict(),
        ),
    )
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=make_searcher(task, space, config, experiment=path),
            scheduler=make_scheduler(task, config),
            num_samples=config.samples,
            time_budget_s=config.time_budget,
            reuse_actors=not shape.autoscaling,
        ),
        run_config=tune.RunConfig(
            name=config.name,
            storage_path=config.storage,
            failure_config=tune.FailureConfig(max_failures=config.max_failures),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=1,
                checkpoint_score_attribute=task.metric,
                checkpoint_score_order=task.mode,
            ),
            progress_reporter=make_reporter(
                task, space, config, verbosity(), concurrent, experiment=path
            ),
            callbacks=[
                StorageWatch(must_hold=SETTINGS_FILE),
                TBXLoggerCallback(),
                SigintWatch(),
                LaunchWatch(),
            ],
            stop=LaunchWatch().stopper,
            verbose=0 if verbosity() == QUIET else 1,
        ),
    )

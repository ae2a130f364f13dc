"""Every setting of a search with its default, declared once; the CLI is generated from it."""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from lens_search.data.simulate import DEFAULT_PER_CLASS, DEFAULT_SIZE
from lens_search.errors import LensSearchError
from lens_search.training.backbones import DEFAULT_BACKBONE, image_size_limits

STOPPED_TRIAL_POLICIES = ("pruned", "complete")
TPE_MODELS = ("rung", "plain")
FIRST_TRIALS = ("defaults", "sampled")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_NAME_LENGTH = 100
MAX_SEED = 2**32 - 1
"""NumPy's RandomState (Optuna's TPE sampler, keras.utils.set_random_seed, scikit-learn's split)
accepts seeds 0..2**32-1, and so do the trials' own generators (``default_rng([seed, epoch])``)."""
CHANGEABLE_ON_RESUME = ("address", "storage", "name", "resume", "launch_timeout", "dry_run")
"""Flags a resumed search may give differently: where the cluster and the experiment are found,
and how long it waits for the cluster's nodes.
Every other setting is the saved one (Tune restores its searcher, scheduler, sample count, time
budget and failure policy from the experiment), so a different value is refused."""
GROWABLE_ON_RESUME = ("samples",)
"""Settings a resumed search may raise (never lower): ``--samples`` grows the experiment."""
PATH_SETTINGS = ("data", "space")
TASK_SETTINGS = frozenset({"per_class", "sim_size", "image_size", "backbone", "weights"})
"""Settings that only some tasks have (``Task.settings`` names its own): the CLI offers the
flags of the task's only."""


def option(default: Any, help_text: str) -> Any:
    """A dataclass field carrying its CLI help text."""
    return field(default=default, metadata={"help": help_text})


@dataclass
class SearchConfig:
    """The settings of one search; each field's metadata holds its CLI help text."""

    samples: int = option(50, "configurations to sample and train (Ray Tune trials)")
    max_epochs: int = option(10, "epochs a trial may train at most (ASHA's max_t)")
    grace_period: int = option(1, "epochs every trial trains before ASHA may stop it")
    reduction_factor: int = option(3, "ASHA keeps 1/reduction_factor of the trials at each rung")
    data: str | None = option(
        None, "data set folder (default: simulate into a cache folder on first use, then reuse it)"
    )
    per_class: int | None = option(
        None,
        "classification without --data: lenses per class of the simulated data set "
        f"(default {DEFAULT_PER_CLASS}, a fifth of them for validation)",
    )
    sim_size: int | None = option(
        None,
        "classification without --data: pixels a side of the simulated data set "
        f"(default {DEFAULT_SIZE}; the field of view stays 7.5 arcsec)",
    )
    image_size: int = option(
        128,
        f"classification: images are resized to this many pixels a side ({image_size_limits()})",
    )
    backbone: str = option(
        DEFAULT_BACKBONE,
        "classification backbone: inception_resnet_v2 (for GPUs) or cnn, a plain CNN trained "
        "from scratch whose depth and filter counts are searched (fits a CPU)",
    )
    weights: str | None = option(
        None,
        "classification: 'imagenet' (from the local Keras cache) or a weights file; default none",
    )
    cpus_per_trial: float = option(1.0, "CPUs reserved for each trial")
    gpus_per_trial: float | None = option(
        None,
        "GPUs per trial; fractions share a GPU (0.5 = two trials per GPU); "
        "default 1 if the cluster has GPUs, else 0",
    )
    memory_per_trial: float | None = option(
        None,
        "GiB of memory Ray reserves for each trial (default: none reserved); some node, alive or "
        "launchable by the autoscaler, must offer it",
    )
    max_concurrent: int | None = option(
        None, "trials running at once (default: as many as the resources allow)"
    )
    address: str | None = option(
        None,
        "Ray cluster to join ('auto' on a `ray up` head node, or host:port); "
        "default: an embedded local Ray",
    )
    storage: str = option(
        "./runs", "where experiments are written: a local folder or a URI such as s3://bucket/runs"
    )
    name: str | None = option(
        None, "experiment name (default: TASK-YYYYmmdd-HHMMSS); an existing one needs --resume"
    )
    seed: int = option(0, "seed of the Optuna sampler and of every trial's training")
    resume: bool = option(
        False,
        "continue the interrupted experiment --name; with a larger --samples, grow it (its "
        "trials and Optuna study are kept)",
    )
    warm_start: str | None = option(
        None,
        "seed a new search's Optuna study with the finished trials of an earlier experiment "
        "(a name in --storage, or its folder) of the same task and search space",
    )
    space: str | None = option(
        None, "JSON or YAML file that narrows ranges or fixes parameters of the search space"
    )
    time_budget: float | None = option(
        None, "stop starting and running trials after this many seconds"
    )
    stopped_trials: str = option(
        "pruned",
        "how trials stopped early by ASHA are told to Optuna: 'pruned' (TPE ranks them below "
        "finished ones) or 'complete' "
        "(Ray's default: their truncated score counts as final)",
    )
    tpe_model: str = option(
        "plain",
        "what TPE fits: 'rung' (the trials at the highest epoch enough of them reached, as BOHB "
        "does) or 'plain' (Optuna's: finished trials first, then stopped ones by how far they got)",
    )
    startup_trials: int | None = option(
        None,
        "random trials before TPE fits a model (default: 5 %% of --samples, at least 4)",
    )
    first_trial: str = option(
        "defaults",
        "what the first trial trains: 'defaults' (the space's defaults) or 'sampled'",
    )
    max_failures: int = option(
        2, "times a failing trial is retried from its last checkpoint before it is marked errored"
    )
    dry_run: bool = option(
        False,
        "print the plan (data, space, budget, resources, an estimated wall time measured on this "
        "machine) and exit, creating nothing",
    )
    launch_timeout: float = option(
        900.0,
        "seconds trials may wait with none running (nodes launching on an autoscaling cluster) "
        "before the search stops, resumable",
    )
    given: frozenset[str] | None = field(
        default=None, compare=False, repr=False, metadata={"setting": False}
    )
    """The settings the user gave explicitly (the CLI knows; None: those that differ from the
    defaults). Not a setting itself: neither a flag nor saved with the experiment."""

    def validate(self, task: Any = None) -> None:
        """Raise LensSearchError for settings that cannot work, before anything starts; with a
        ``task`` (``experiments.tasks.Task``) its own settings' checks too."""
        checks: list[tuple[bool, str]] = [
            (self.samples >= 1, f"--samples must be at least 1, got {self.samples}"),
            (self.max_epochs >= 1, f"--max-epochs must be at least 1, got {self.max_epochs}"),
            (
                1 <= self.grace_period <= self.max_epochs,
                f"--grace-period must be between 1 and --max-epochs ({self.max_epochs}), "
                f"got {self.grace_period}",
            ),
            (
                self.reduction_factor >= 2,
                f"--reduction-factor must be at least 2, got {self.reduction_factor}",
            ),
            (self.cpus_per_trial > 0, f"--cpus-per-trial must be > 0, got {self.cpus_per_trial}"),
            (
                self.gpus_per_trial is None or self.gpus_per_trial >= 0,
                f"--gpus-per-trial must be >= 0, got {self.gpus_per_trial}",
            ),
            (
                self.memory_per_trial is None or self.memory_per_trial > 0,
                f"--memory-per-trial must be > 0 GiB, got {self.memory_per_trial}",
            ),
            (
                self.max_concurrent is None or self.max_concurrent >= 1,
                f"--max-concurrent must be at least 1, got {self.max_concurrent}",
            ),
            (
                self.time_budget is None or self.time_budget > 0,
                f"--time-budget must be > 0 seconds, got {self.time_budget}",
            ),
            (self.max_failures >= 0, f"--max-failures must be >= 0, got {self.max_failures}"),
            (
                self.launch_timeout > 0,
                f"--launch-timeout must be > 0 seconds, got {self.launch_timeout}",
            ),
            (
                self.stopped_trials in STOPPED_TRIAL_POLICIES,
                f"--stopped-trials must be one of {', '.join(STOPPED_TRIAL_POLICIES)}",
            ),
            (
                self.tpe_model in TPE_MODELS,
                f"--tpe-model must be one of {', '.join(TPE_MODELS)}",
            ),
            (
                self.first_trial in FIRST_TRIALS,
                f"--first-trial must be one of {', '.join(FIRST_TRIALS)}",
            ),
            (
                self.startup_trials is None or self.startup_trials >= 1,
                f"--startup-trials must be at least 1, got {self.startup_trials}",
            ),
            (not self.resume or bool(self.name), "--resume needs the --name of the experiment"),
            (
                not (self.resume and self.dry_run),
                "--dry-run plans a new search; it cannot be used with --resume",
            ),
            (
                0 <= self.seed <= MAX_SEED,
                f"--seed must be between 0 and 2**32-1 ({MAX_SEED}), got {self.seed}",
            ),
        ]
        if self.name is not None:
            check_name(self.name)
        for ok, message in checks:
            if not ok:
                raise LensSearchError(message)
        if task is not None:
            task.check_settings(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (written next to the experiment)."""
        return {f.name: getattr(self, f.name) for f in setting_fields()}

    def given_settings(self) -> set[str]:
        """The settings the user gave: ``given`` if known, else those that differ from defaults."""
        if self.given is not None:
            return set(self.given)
        return {f.name for f in setting_fields() if getattr(self, f.name) != f.default}


def setting_fields() -> list[Any]:
    """The dataclass fields of SearchConfig that are settings (flags, saved with experiments)."""
    return [f for f in fields(SearchConfig) if f.metadata.get("setting", True)]


def check_name(name: str) -> None:
    """Refuse an experiment name that is not one plain folder name every storage URI can hold.

    ``../x`` would write outside --storage, ``a/b`` a folder deeper, and characters such as ``?``,
    ``#``, ``%`` or spaces change what an ``s3://`` or ``gs://`` URI means.
    """
    if len(name) > MAX_NAME_LENGTH or not NAME_PATTERN.fullmatch(name):
        raise LensSearchError(
            f"--name {name!r} is not a plain experiment name: use letters, digits, '.', '_' and "
            f"'-' (at most {MAX_NAME_LENGTH}), starting with a letter or digit; no path "
            "separators or '..'"
        )


def check_resume_flags(config: SearchConfig, saved: dict[str, Any], name: str) -> None:
    """Refuse a --resume whose flags ask for other settings than experiment ``name`` saved."""
    conflicts = resume_conflicts(config, saved)
    if conflicts:
        raise LensSearchError(
            f"--resume continues {name!r} with its saved settings, and these flags differ: "
            f"{', '.join(conflicts)}; drop them (or pass the saved values), or start a new "
            "experiment with another --name"
        )


def resume_conflicts(config: SearchConfig, saved: dict[str, Any]) -> list[str]:
    """``--flag value (saved: value)`` for every given setting that differs from the saved one.

    A resumed search runs with the saved settings; a flag asking for another value would be
    ignored, so the caller refuses it instead (``CHANGEABLE_ON_RESUME`` may differ, and
    ``GROWABLE_ON_RESUME`` may be larger).
    """
    defaults = {f.name: f.default for f in setting_fields() if f.default is not MISSING}
    conflicts = []
    for name in sorted(config.given_settings() - set(CHANGEABLE_ON_RESUME)):
        value, kept = getattr(config, name), saved.get(name, defaults.get(name))
        if _same_setting(name, value, kept) or _grows(name, value, kept):
            continue
        flag = "--" + name.replace("_", "-")
        conflicts.append(f"{flag} {value} (saved: {kept})")
    return conflicts


def _grows(name: str, value: Any, saved: Any) -> bool:
    return name in GROWABLE_ON_RESUME and saved is not None and value > saved


def _same_setting(name: str, value: Any, saved: Any) -> bool:
    if name in PATH_SETTINGS and value is not None and saved is not None:
        return Path(value).expanduser().resolve() == Path(saved).expanduser().resolve()
    return bool(value == saved)

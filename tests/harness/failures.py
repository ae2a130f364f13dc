"""Test-only failures of real trials: a trial raises right after reporting a chosen epoch.

The product's per-epoch loop knows nothing of them; they wrap what it calls back:

- ``with_injected_failures(trainable, switch)`` wraps a Tune function trainable (what
  ``trainables.make_tune_trainable`` returns). Once the trial has reported an epoch >= ``fail_at``
  with its checkpoint (so Tune holds that checkpoint), it raises
  ``RuntimeError("injected failure at epoch N")``.
- ``failing_on_epoch(switch, on_epoch, resume_from)`` does the same for a trainer called directly
  (``train_superres(..., on_epoch=...)``).
- ``inject_into_search(monkeypatch, switch)`` makes ``search.run`` wrap every trainable it builds.

With ``once`` a trial fails only once: the marker file ``injected_failure`` goes into every
checkpoint it reports from that failure on, so an attempt resumed from one does not fail again.
Without ``once`` every attempt fails after its first epoch >= ``fail_at``. The wrapped trainable
travels to Ray's workers by value (this module is pickled by value), so they need not import it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import ray.cloudpickle

FAIL_MARKER = "injected_failure"

OnEpoch = Callable[[dict[str, Any], "Path | None"], None]


@dataclass(frozen=True)
class FailureSwitch:
    """Fail after the report of the first epoch >= ``fail_at``; with ``once``, one time only."""

    fail_at: int
    once: bool = False

    def before_report(self, epoch: int, folder: Path | None, failed_before: bool) -> bool:
        """Whether to raise once epoch ``epoch`` is reported; marks ``folder`` when ``once``."""
        fail = epoch >= self.fail_at and not (self.once and failed_before)
        if self.once and folder is not None and (fail or failed_before):
            (folder / FAIL_MARKER).write_text(f"injected failure at epoch {epoch}\n")
        return fail

    def error(self) -> RuntimeError:
        return RuntimeError(f"injected failure at epoch {self.fail_at}")


def failed_before(folder: str | Path | None) -> bool:
    """Whether the checkpoint folder a run resumes from holds the marker of a failure."""
    return folder is not None and (Path(folder) / FAIL_MARKER).exists()


def failing_on_epoch(
    switch: FailureSwitch, on_epoch: OnEpoch | None = None, resume_from: str | Path | None = None
) -> OnEpoch:
    """``on_epoch`` for a trainer run that resumes from ``resume_from``, failing per ``switch``."""
    resumed_failed = failed_before(resume_from)

    def report(metrics: dict[str, Any], folder: Path | None) -> None:
        fail = switch.before_report(int(metrics["epoch"]), folder, resumed_failed)
        if on_epoch is not None:
            on_epoch(metrics, folder)
        if fail:
            raise switch.error()

    return report


def with_injected_failures(trainable: Callable[..., Any], switch: FailureSwitch) -> Any:
    """The Tune function ``trainable``, failing per ``switch`` after a report with checkpoint.

    Inside the trial ``ray.tune.report`` is replaced by one that marks the checkpoint folder,
    reports, then raises when the switch says so; the trial's own code is unchanged.
    """

    def failing_trial(config: dict[str, Any]) -> Any:
        from ray import tune

        checkpoint = tune.get_checkpoint()
        resumed_failed = False
        if checkpoint is not None:
            with checkpoint.as_directory() as folder:
                resumed_failed = failed_before(folder)
        report = tune.report

        def report_then_fail(metrics: dict[str, Any], **kwargs: Any) -> None:
            saved = kwargs.get("checkpoint")
            folder = Path(saved.path) if saved is not None else None
            fail = switch.before_report(int(metrics["epoch"]), folder, resumed_failed)
            report(metrics, **kwargs)
            if fail:
                raise switch.error()

        tune.report = report_then_fail
        try:
            return trainable(config)
        finally:
            tune.report = report

    failing_trial.__name__ = getattr(trainable, "__name__", "failing_trial")
    return failing_trial


def inject_into_search(monkeypatch: pytest.MonkeyPatch, switch: FailureSwitch) -> None:
    """Make ``search.run`` build trainables that fail per ``switch`` (undone by ``monkeypatch``)."""
    import search.run

    from lens_search.training.tune import make_tune_trainable

    def make(task: str, data: Any, **fixed: Any) -> Any:
        return with_injected_failures(make_tune_trainable(task, data, **fixed), switch)

    monkeypatch.setattr(search.run, "make_tune_trainable", make)


ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

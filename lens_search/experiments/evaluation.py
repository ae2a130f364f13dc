"""What every task's evaluation of a split shares: its metrics with intervals, their JSON and
their line, the figures it draws (``Task.evaluate`` builds one; ``results.evaluate`` and
``results.retrain`` print and write it without asking which task made it).

Figures are ``matplotlib.figure.Figure`` objects (no pyplot, so no GUI backend), written by
``save_figure``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from lens_search.experiments.intervals import CONFIDENCE, Interval

DPI = 120


def save_figure(figure: Any, path: Path) -> Path:
    """Write a matplotlib ``figure`` as a PNG and return its path."""
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def named(metrics: dict[str, float], split: str) -> dict[str, float]:
    """Training's ``val_*`` names with the evaluated split's prefix instead."""
    return {
        f"{split}_{k.removeprefix('val_')}" if k.startswith("val_") else k: v
        for k, v in metrics.items()
    }


@dataclass(frozen=True)
class Evaluation:
    """The metrics of one split (``{split}_auc``, ...) and their bootstrap intervals."""

    metrics: dict[str, float]
    split: str = field(default="val", kw_only=True)
    intervals: dict[str, Interval] = field(default_factory=dict, kw_only=True)
    resamples: int = field(default=0, kw_only=True)

    resampled: ClassVar[str] = "resampled over images"
    """How the bootstrap drew its resamples, for ``metrics.json``."""

    @property
    def count(self) -> int:
        """How many images were evaluated."""
        raise NotImplementedError

    def extra_json(self) -> dict[str, Any]:
        """What the task adds to ``to_json`` (a confusion matrix, ...)."""
        return {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"split": self.split, "n": self.count, "metrics": self.metrics}
        if self.intervals:
            body["intervals"] = {name: list(bounds) for name, bounds in self.intervals.items()}
            body["interval"] = (
                f"{CONFIDENCE:.0%} bootstrap percentile, {self.resamples} resamples, "
                f"{self.resampled}"
            )
        return {**body, **self.extra_json()}

    def detail_lines(self) -> list[str]:
        """Lines ``results.evaluate`` prints under the metric line (a confusion matrix, ...)."""
        return []

    def figures(self) -> dict[str, Any]:
        """The split's figures by file stem (``roc_curves``: a matplotlib Figure)."""
        return {}

    def draw(self, out: Path, prefix: str = "") -> None:
        """Write ``figures()`` as ``out/{prefix}{stem}.png``."""
        for stem, figure in self.figures().items():
            save_figure(figure, out / f"{prefix}{stem}.png")

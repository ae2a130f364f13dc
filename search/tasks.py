"""The two DeepLense tasks as the search sees them: metric, space, data, defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spaces import CLASSIFY_SPACE, SUPERRES_SPACE, SearchSpace


@dataclass(frozen=True)
class Task:
    """What differs between the classification and the super-resolution search."""

    name: str
    metric: str
    mode: str
    space: SearchSpace
    default_simulation: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments for ``lensing.cache.default_dataset`` when ``--data`` is not given."""
    has_backbone: bool = False

    def load_data(self, path: Path, image_size: int | None = None) -> Any:
        """Load the task's data set from ``path`` (raises LensSearchError on bad data)."""
        from lensing.load import load_classification, load_superres

        if self.name == "classify":
            return load_classification(path, image_size=image_size)
        return load_superres(path)

    def default_data_path(self) -> Path:
        """Simulate the default data set on first use and return its folder."""
        from lensing.cache import default_dataset

        return default_dataset(self.name, **self.default_simulation)


CLASSIFY = Task(
    name="classify",
    metric="val_auc",
    mode="max",
    space=CLASSIFY_SPACE,
    default_simulation={"preset": "model1", "per_class": 3000, "size": 150},
    has_backbone=True,
)

SUPERRES = Task(
    name="superres",
    metric="val_psnr",
    mode="max",
    space=SUPERRES_SPACE,
    default_simulation={"pairs": 1000},
)

TASKS = {task.name: task for task in (CLASSIFY, SUPERRES)}

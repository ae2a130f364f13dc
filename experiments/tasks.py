"""The task registry: the two DeepLense tasks with their metric, space, data and defaults.

Both the search (what to optimise, what to sample) and the results commands (what a stored
experiment's task means) read it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensing.cache import TASKS as TASK_NAMES
from lensing.errors import LensSearchError
from lensing.simulate import DEFAULT_PAIRS, DEFAULT_PER_CLASS, DEFAULT_PRESET, DEFAULT_SIZE
from spaces import (
    CLASSIFY_SPACE,
    SUPERRES_SPACE,
    FixedParam,
    SearchSpace,
    load_space_overrides,
)
from spaces.classify import BACKBONE_DEFAULTS
from trainables.backbones import (
    DEFAULT_BACKBONE,
    FROM_SCRATCH_FIXED,
    backbone_name,
    other_backbone_params,
)

CLASSIFY_NAME, SUPERRES_NAME = TASK_NAMES


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

    def searched_space(
        self,
        space_file: str | Path | None = None,
        *,
        weights: str | None = None,
        backbone: str | None = None,
    ) -> SearchSpace:
        """The space a search samples: the task's, with ``--space`` overrides applied.

        Parameters of another backbone than ``backbone`` are left out, and an overrides file
        that sets one is refused. A backbone without pretrained weights (``weights`` None) trains
        every layer: ``FROM_SCRATCH_FIXED`` is left out too (the model builds with those values;
        a trial's config and the leaderboard then hold only what matters for the backbone), and
        an overrides file that sets it otherwise is refused (both rules are
        ``trainables.backbones``').
        """
        overrides = load_space_overrides(Path(space_file)) if space_file else {}
        space = self.space.with_overrides(overrides) if overrides else self.space
        if not self.has_backbone:
            return space
        space = self._for_backbone(space, overrides, space_file, backbone)
        if weights is not None:
            return space
        for name, value in FROM_SCRATCH_FIXED.items():
            fixed = space[name]
            if name in overrides and fixed != FixedParam(name, value):
                raise LensSearchError(
                    f"space overrides file {space_file}: {name} must stay {value} without "
                    "pretrained weights (every backbone layer starts random); "
                    "remove it or pass --weights"
                )
        return SearchSpace(
            space.name, tuple(p for p in space.params if p.name not in FROM_SCRATCH_FIXED)
        )

    def _for_backbone(
        self,
        space: SearchSpace,
        overrides: dict[str, Any],
        space_file: str | Path | None,
        backbone: str | None,
    ) -> SearchSpace:
        """``space`` without the parameters of backbones other than ``backbone``, with that
        backbone's own defaults (``spaces.classify.BACKBONE_DEFAULTS``) where ``overrides`` leave
        the parameter alone."""
        chosen = backbone_name(backbone or DEFAULT_BACKBONE)
        others = other_backbone_params(chosen)
        refused = sorted(others & set(overrides))
        if refused:
            raise LensSearchError(
                f"space overrides file {space_file}: {', '.join(refused)} only apply to another "
                f"backbone than {chosen}; remove them or pass that --backbone"
            )
        kept = tuple(param for param in space.params if param.name not in others)
        own = {k: v for k, v in BACKBONE_DEFAULTS.get(chosen, {}).items() if k not in overrides}
        return SearchSpace(space.name, kept).with_overrides(
            {k: {"default": v} for k, v in own.items()}
        )

    def load_data(self, path: Path, image_size: int | None = None) -> Any:
        """Load the train and val splits of ``path`` (LensSearchError on bad data); never
        ``test/``."""
        from lensing.load import load_classification, load_superres

        if self.name == CLASSIFY_NAME:
            return load_classification(path, image_size=image_size)
        return load_superres(path)

    def load_test(self, path: Path, image_size: int | None = None) -> Any:
        """The ``test/`` split of ``path``, for the results commands only: no search calls this
        (``load_data`` leaves ``test/`` out), so no trial and no epoch choice sees it."""
        from lensing.load import load_classification_test, load_superres_test

        if self.name == CLASSIFY_NAME:
            return load_classification_test(path, image_size=image_size)
        return load_superres_test(path)

    def default_data_path(self, **changes: Any) -> Path:
        """Simulate the default data set on first use and return its folder.

        ``changes`` replace settings of ``default_simulation`` (``None`` values are ignored),
        e.g. ``per_class`` and ``size`` from ``--per-class`` and ``--sim-size``.
        """
        from lensing.cache import default_dataset

        settings = {k: v for k, v in changes.items() if v is not None}
        return default_dataset(self.name, **{**self.default_simulation, **settings})


CLASSIFY = Task(
    name=CLASSIFY_NAME,
    metric="val_auc",
    mode="max",
    space=CLASSIFY_SPACE,
    default_simulation={
        "preset": DEFAULT_PRESET,
        "per_class": DEFAULT_PER_CLASS,
        "size": DEFAULT_SIZE,
    },
    has_backbone=True,
)

SUPERRES = Task(
    name=SUPERRES_NAME,
    metric="val_psnr",
    mode="max",
    space=SUPERRES_SPACE,
    default_simulation={"pairs": DEFAULT_PAIRS},
)

TASKS = {task.name: task for task in (CLASSIFY, SUPERRES)}

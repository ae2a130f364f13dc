"""The Task protocol: what the search and the results commands ask of a task.

A task lives in one module of ``experiments/tasks/`` (``classify.py``, ``superres.py``): a
subclass of ``Task`` whose instance is passed to ``register``. The search, the retraining, the
evaluation and the predictions call the methods below and never ask which task they run, so a
new task is one new module (KerasTuner's ``HyperModel``: the model owns its task).

What a subclass must give: ``name``, ``metric``, ``space``, ``trainer`` (its training function
as ``module:function``), and ``simulate``, ``load_data``, ``load_test``,
``build_model``, ``arrays``, ``evaluate``, ``owns_model``, ``predict``. The rest have defaults
that suit a task with no settings of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from lens_search.errors import LensSearchError
from lens_search.spaces import SearchSpace, load_space_overrides


@dataclass(frozen=True)
class PlannedData:
    """The data a search trains on, as ``search.plan`` shows it: where, its sizes, and (for a
    data set still to simulate) how much to simulate and a small set to time that by."""

    description: str
    train: int
    val: int
    to_simulate: int = 0
    """Images (or pairs) ``simulate`` renders for it, the test split included; 0 when the data
    exist."""
    sample: dict[str, Any] = field(default_factory=dict)
    """``simulate`` settings of a small set to time (``sample_images`` images)."""
    sample_images: int = 1


class Task:
    """One task: its metric and space, its data, its model, its training and its figures."""

    name: ClassVar[str]
    metric: ClassVar[str]
    """The validation metric the search optimises and the scheduler stops on."""
    mode: ClassVar[str] = "max"
    space: ClassVar[SearchSpace]
    default_simulation: ClassVar[Mapping[str, Any]] = {}
    """Keyword arguments of ``simulate`` for the default data set (``--data`` not given)."""
    settings: ClassVar[frozenset[str]] = frozenset()
    """The search settings (``search.config.TASK_SETTINGS``) this task has: their flags are
    offered, saved and handed to ``load_data``, ``training_settings`` and the checks."""
    data_words: ClassVar[str] = "a data set"
    """What its data is, for messages ("class folders")."""
    model_words: ClassVar[str] = "a model"
    """What its model is, for messages ("a classifier")."""

    # --- the space -----------------------------------------------------------------------------

    def searched_space(
        self,
        space_file: str | Path | None = None,
        *,
        weights: str | None = None,
        backbone: str | None = None,
    ) -> SearchSpace:
        """The space a search samples: the task's, with ``--space`` overrides applied."""
        return self.overridden(space_file)[0]

    def overridden(self, space_file: str | Path | None) -> tuple[SearchSpace, dict[str, Any]]:
        """The task's space with the overrides of ``space_file`` applied, and those overrides."""
        overrides = load_space_overrides(Path(space_file)) if space_file else {}
        return (self.space.with_overrides(overrides) if overrides else self.space), overrides

    # --- settings ------------------------------------------------------------------------------

    def check_settings(self, settings: Mapping[str, Any]) -> None:
        """Raise LensSearchError for task settings that cannot work (before anything starts)."""

    def simulation_changes(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """What the search settings change in ``default_simulation`` (None values: unchanged)."""
        return {}

    def training_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments of ``trainer`` that come from the search settings."""
        return {}

    def prepare_training(self, settings: Mapping[str, Any]) -> None:
        """Check, in the driver, what a trial would find missing (e.g. weights files)."""

    def lighter_settings(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Settings that make this search's trials much cheaper (a smaller model), which the
        cost line proposes when a search is far too long here; {} when there are none."""
        return {}

    def batch_fit(self, settings: Mapping[str, Any], space: SearchSpace) -> Any:
        """What ``search.memory`` needs to check that the largest batch fits in memory
        (None: nothing to check)."""
        return None

    # --- data ----------------------------------------------------------------------------------

    def simulate(self, folder: Path, **settings: Any) -> Path:
        """Simulate a data set of this task into ``folder`` (reused when it is there)."""
        raise NotImplementedError

    count_setting: ClassVar[str] = "count"
    """The keyword of ``simulate`` that says how many samples to draw (``per_class``)."""

    def default_data_path(self, **changes: Any) -> Path:
        """Simulate the default data set on first use (kept in the cache) and return it.

        ``changes`` replace settings of ``default_simulation`` (``None`` values are ignored).
        """
        from lens_search.data.cache import default_dataset

        settings = {k: v for k, v in changes.items() if v is not None}
        return default_dataset(
            self.name, simulate=self.simulate, **{**self.default_simulation, **settings}
        )

    def data_path(self, settings: Mapping[str, Any]) -> Path:
        """``settings['data']``, or the default data set as the settings change it."""
        given = settings.get("data")
        if given is None:
            return self.default_data_path(**self.simulation_changes(settings))
        path = Path(given).expanduser()
        if not path.exists():
            raise LensSearchError(f"--data {given}: no such folder")
        return path.resolve()

    def planned_data(self, simulation: Mapping[str, Any], folder: Path, sample: int) -> PlannedData:
        """What ``simulate(folder, **simulation)`` would write, and a set of about ``sample``
        units of ``count_setting`` to time it by."""
        raise NotImplementedError

    def layout_sizes(self, folder: Path) -> tuple[int, int, str]:
        """(train, val, unit) of an existing data set; LensSearchError if it is another task's."""
        raise NotImplementedError

    def claims(self, root: Path) -> bool:
        """Whether the folder ``root`` is laid out for this task (predict refuses a model of
        another task on it)."""
        return False

    def inputs(self, root: Path) -> list[tuple[Path, str]]:
        """(file, name in the output) of every image of ``root`` to predict, ``test/``
        included; LensSearchError when ``root`` is not laid out for this task."""
        raise NotImplementedError

    def load_data(self, path: Path, settings: Mapping[str, Any]) -> Any:
        """The train and val splits of ``path`` as the trainer takes them; never ``test/``."""
        raise NotImplementedError

    def load_test(self, path: Path, settings: Mapping[str, Any]) -> Any:
        """The ``test/`` split of ``path``: for the results commands only, no search reads it."""
        raise NotImplementedError

    def arrays(self, data: Any, split: str) -> tuple[Any, Any]:
        """(inputs, targets) of ``split`` (``train``, ``val`` or ``test``) of loaded data."""
        raise NotImplementedError

    def random_data(self, train: int, val: int, settings: Mapping[str, Any], seed: int = 0) -> Any:
        """Random data of the shapes a trial of ``settings`` trains on (``experiments.cost``
        times a configuration's epochs with it)."""
        raise NotImplementedError

    def sizes(self, data: Any) -> tuple[int, int]:
        """(train, val) sizes of loaded data."""
        return len(self.arrays(data, "train")[0]), len(self.arrays(data, "val")[0])

    # --- model, training, figures --------------------------------------------------------------

    trainer: ClassVar[str]
    """The training function as ``module:function``: ``trainer(config, data, *, epochs, seed,
    checkpoint_dir, on_epoch, resume_from, verbose, patience, **training_settings)`` trains and
    reports every epoch. A path, not the function: trials import it (``trainables.tune``), the
    search's driver never does (a model library costs it seconds and hundreds of MB)."""

    def train(
        self, config: Mapping[str, Any], data: Any, settings: Mapping[str, Any], **common: Any
    ) -> list[dict[str, Any]]:
        """Train ``config`` on ``data`` (``common``: the trainer's keywords); its history."""
        from lens_search.training.tune import resolve_trainer

        train = resolve_trainer(self.trainer)
        return train(config, data, **self.training_settings(settings), **common)

    def build_model(self, config: Mapping[str, Any], settings: Mapping[str, Any], data: Any) -> Any:
        """The Keras model ``trainer`` trains for ``config`` (weights to be loaded)."""
        raise NotImplementedError

    def evaluate(
        self, model: Any, inputs: Any, targets: Any, *, split: str, resamples: int, seed: int
    ) -> Any:
        """``results.evaluate``'s evaluation of ``split``, intervals included."""
        raise NotImplementedError

    def owns_model(self, model: Any) -> bool:
        """Whether a loaded Keras model is one this task's ``build_model`` makes."""
        raise NotImplementedError

    def model_settings(self, model: Any) -> dict[str, Any]:
        """The settings ``load_data``/``load_test`` need to feed a saved ``model``."""
        return {}

    def predict(self, model: Any, inputs: list[tuple[Path, str]], out: Path) -> str:
        """Write the predictions of ``inputs`` ((file, name) pairs) into ``out``; one line
        saying what was written."""
        raise NotImplementedError


_REGISTRY: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add ``task`` to the registry (a task's module calls this once); returns it."""
    _REGISTRY[task.name] = task
    return task


def registered() -> Mapping[str, Task]:
    """The registered tasks by name (a live view: a task registered later appears)."""
    return _REGISTRY


def task_named(name: str) -> Task:
    """The registered task called ``name``; LensSearchError naming the others if none."""
    if name not in _REGISTRY:
        raise LensSearchError(f"unknown task {name!r}; choose from {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def task_of_model(model: Any, path: str | Path) -> Task:
    """The registered task whose model ``model`` is; LensSearchError if none."""
    for task in _REGISTRY.values():
        if task.owns_model(model):
            return task
    words = " or ".join(t.model_words for t in _REGISTRY.values())
    raise LensSearchError(
        f"{path}: model {model.name!r} is not {words} of lens-search (save one with "
        "results.retrain)"
    )

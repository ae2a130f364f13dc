"""A third task in one file: bright or dim 8x8 images, told apart by a one-layer network.

It exists to show that a task is one module (``experiments.tasks.base.Task``): the search, the
retraining, the evaluation and the predictions run it without a line changed elsewhere. Its data
set is a folder with ``toy.npz`` (``x`` (N, 8, 8, 1) float32, ``y`` (N,) int64) per split:
``train/``, ``val/`` and ``test/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lens_search.errors import LensSearchError
from lens_search.experiments.evaluation import Evaluation
from lens_search.experiments.tasks import PlannedData, Task, register
from lens_search.spaces import FloatParam, IntParam, SearchSpace

NAME = "toy"
FILE = "toy.npz"
SIZE = 8
MODEL_NAME = "toy_brightness"
SPLITS = {"train": 48, "val": 24, "test": 24}


def write_toy_data(folder: Path, seed: int = 0, **counts: int) -> Path:
    """A toy data set: class 1 images are brighter than class 0, with noise."""
    rng = np.random.default_rng(seed)
    for split, count in {**SPLITS, **counts}.items():
        y = np.arange(count) % 2
        x = rng.normal(0.3 + 0.3 * y[:, None, None, None], 0.15, (count, SIZE, SIZE, 1))
        (folder / split).mkdir(parents=True, exist_ok=True)
        np.savez(folder / split / FILE, x=np.clip(x, 0, 1).astype(np.float32), y=y)
    return folder


@dataclass(frozen=True)
class ToyData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class ToyTest:
    x_test: np.ndarray
    y_test: np.ndarray


def _read(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    file = path / split / FILE
    if not file.is_file():
        raise LensSearchError(f"{path}: no {split}/{FILE}")
    with np.load(file, allow_pickle=False) as arrays:
        return arrays["x"], arrays["y"]


def build_toy(config: Mapping[str, Any]) -> Any:
    import keras

    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(int(config["units"]), activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ],
        name=MODEL_NAME,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(float(config["lr"])),
        loss="sparse_categorical_crossentropy",
    )
    return model


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    from lens_search.training.loop import predict_in_batches

    probs = np.asarray(predict_in_batches(model, x, 64))
    return float((probs.argmax(axis=1) == y).mean())


def train_toy(
    config: Mapping[str, Any], data: ToyData, *, seed: int = 0, **run: Any
) -> list[dict[str, Any]]:
    """The trainer: the project's epoch loop (checkpoints, resume, patience) on the toy model."""
    from lens_search.training.loop import ShuffledBatches, run_epochs
    from lens_search.training.runtime import prepare_backend

    prepare_backend(seed)
    model = build_toy(config)

    def batches(epoch: int) -> ShuffledBatches:
        return ShuffledBatches(
            data.x_train, data.y_train, batch_size=8, seed=seed, epoch=epoch, augment=None
        )

    def evaluate() -> dict[str, float]:
        return {"val_accuracy": accuracy(model, data.x_val, data.y_val)}

    return run_epochs(model, batches=batches, evaluate=evaluate, **run)


@dataclass(frozen=True)
class ToyEvaluation(Evaluation):
    y_true: np.ndarray

    @property
    def count(self) -> int:
        return len(self.y_true)


class ToyTask(Task):
    name = NAME
    metric = "val_accuracy"
    mode = "max"
    space = SearchSpace(
        NAME,
        (
            FloatParam("lr", 1e-3, 1e-1, log=True, default=1e-2),
            IntParam("units", 2, 8, default=4),
        ),
    )
    default_simulation = {"seed": 0}
    trainer = f"{__name__}:train_toy"
    data_words = "toy.npz splits"
    model_words = "a toy brightness model"

    def simulate(self, folder: Path, **settings: Any) -> Path:
        return write_toy_data(folder, **settings)

    def planned_data(self, simulation: Mapping[str, Any], folder: Path, sample: int) -> PlannedData:
        return PlannedData(
            description=f"to be written into {folder}",
            train=SPLITS["train"],
            val=SPLITS["val"],
            to_simulate=sum(SPLITS.values()),
        )

    def layout_sizes(self, folder: Path) -> tuple[int, int, str]:
        return len(_read(folder, "train")[1]), len(_read(folder, "val")[1]), "images"

    def load_data(self, path: Path, settings: Mapping[str, Any]) -> ToyData:
        return ToyData(*_read(path, "train"), *_read(path, "val"))

    def load_test(self, path: Path, settings: Mapping[str, Any]) -> ToyTest:
        return ToyTest(*_read(path, "test"))

    def arrays(self, data: Any, split: str) -> tuple[Any, Any]:
        return getattr(data, f"x_{split}"), getattr(data, f"y_{split}")

    def build_model(self, config: Mapping[str, Any], settings: Mapping[str, Any], data: Any) -> Any:
        return build_toy(config)

    def evaluate(
        self, model: Any, inputs: Any, targets: Any, *, split: str, resamples: int, seed: int
    ) -> ToyEvaluation:
        return ToyEvaluation(
            {f"{split}_accuracy": accuracy(model, inputs, targets)}, targets, split=split
        )

    def owns_model(self, model: Any) -> bool:
        return str(model.name) == MODEL_NAME

    def claims(self, root: Path) -> bool:
        return any((root / split / FILE).is_file() for split in SPLITS)

    def inputs(self, root: Path) -> list[tuple[Path, str]]:
        return [(root / s / FILE, f"{s}/{FILE}") for s in SPLITS if (root / s / FILE).is_file()]

    def predict(self, model: Any, inputs: list[tuple[Path, str]], out: Path) -> str:
        lines = []
        for path, name in inputs:
            with np.load(path, allow_pickle=False) as arrays:
                probs = np.asarray(model.predict(arrays["x"], verbose=0))
            lines += [f"{name},{i},{int(p.argmax())}" for i, p in enumerate(probs)]
        (out / "predictions.csv").write_text("file,index,predicted\n" + "\n".join(lines) + "\n")
        return f"{len(lines)} toy images classified"


TOY = register(ToyTask())

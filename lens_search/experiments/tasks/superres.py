"""Super-resolution: a SuperResCNN upscales lens images x2, scored by validation PSNR.

The task's data are ``LR/`` + ``HR/`` pairs (``lensing.layout``), its model
``trainables.models.build_superres``; its evaluation is PSNR, SSIM and MSE with bootstrap
intervals next to bicubic upsampling on the same images; its predictions one ``.npy`` per input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lens_search.data.simulate import DEFAULT_PAIRS
from lens_search.errors import LensSearchError
from lens_search.experiments.evaluation import Evaluation
from lens_search.experiments.intervals import N_RESAMPLES, Interval, mean_intervals
from lens_search.experiments.tasks.base import PlannedData, Task, register
from lens_search.spaces import SUPERRES_SPACE

VAL_FRACTION = 0.1
"""The share of the pairs ``lensing.load.load_superres`` keeps for validation."""


@dataclass(frozen=True)
class SuperResEvaluation(Evaluation):
    """Model and bicubic PSNR/SSIM/MSE on the same images of one split, their intervals, and the
    images."""

    lr: np.ndarray
    bicubic: np.ndarray
    pred: np.ndarray
    hr: np.ndarray

    @property
    def count(self) -> int:
        return len(self.hr)

    def figures(self) -> dict[str, Any]:
        return {"samples": samples_figure(self)}


def evaluate_superres(
    model: Any,
    lr: np.ndarray,
    hr: np.ndarray,
    *,
    split: str = "val",
    resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> SuperResEvaluation:
    """PSNR, SSIM and MSE of the model and of bicubic upsampling on the same images, each with
    a bootstrap interval over ``resamples`` resamples of the images (none when 0)."""
    from lens_search.training.metrics import mse, psnr, ssim
    from lens_search.training.models import bicubic_upsample
    from lens_search.training.superres import predict_hr

    pred = predict_hr(model, lr)
    bicubic = np.clip(bicubic_upsample(lr), 0.0, 1.0)
    outputs = {split: pred, "bicubic": bicubic}
    functions = {"psnr": psnr, "ssim": ssim, "mse": mse}
    metrics = {
        f"{who}_{name}": function(images, hr)
        for who, images in outputs.items()
        for name, function in functions.items()
    }
    intervals: dict[str, Interval] = {}
    if resamples:
        per_image = {
            f"{who}_{name}": np.array(
                [function(images[i : i + 1], hr[i : i + 1]) for i in range(len(hr))]
            )
            for who, images in outputs.items()
            for name, function in functions.items()
        }
        intervals = mean_intervals(per_image, resamples, seed)
    return SuperResEvaluation(
        metrics,
        np.asarray(lr),
        bicubic,
        pred,
        np.asarray(hr),
        split=split,
        intervals=intervals,
        resamples=resamples,
    )


def samples_figure(evaluation: SuperResEvaluation, count: int = 4) -> Any:
    """LR, bicubic, model and HR side by side for the first ``count`` images of the split."""
    from matplotlib.figure import Figure

    from lens_search.training.metrics import psnr

    count = min(count, len(evaluation.lr))
    figure = Figure(figsize=(12, 3 * count))
    columns = ("LR", "bicubic", "model", "HR")
    for row in range(count):
        images = (
            evaluation.lr[row],
            evaluation.bicubic[row],
            evaluation.pred[row],
            evaluation.hr[row],
        )
        for col, (title, image) in enumerate(zip(columns, images, strict=True)):
            axes = figure.add_subplot(count, len(columns), row * len(columns) + col + 1)
            axes.imshow(np.squeeze(image), cmap="inferno", vmin=0.0, vmax=1.0)
            axes.set_xticks([])
            axes.set_yticks([])
            if title in ("bicubic", "model"):
                title = f"{title} ({psnr(image, evaluation.hr[row]):.2f} dB)"
            axes.set_title(title)
    return figure


def check_lr_size(model: Any, lr: np.ndarray, source: Path | str) -> None:
    """Refuse LR images of another size than a model with a fixed input size takes."""
    expected = tuple(model.input_shape[1:3])
    if None not in expected and tuple(lr.shape[1:3]) != expected:
        raise LensSearchError(
            f"{source}: LR size {lr.shape[1]}x{lr.shape[2]} differs from the model's input "
            f"{expected[0]}x{expected[1]}"
        )


def upscale_files(model: Any, inputs: list[tuple[Path, str]], out: Path, chunk: int = 256) -> int:
    """Write the model's x2 image of each input as ``out/<name>.npy``; return how many."""
    from lens_search.data.images import check_same_size, read_images, stack
    from lens_search.training.superres import predict_hr

    for start in range(0, len(inputs), chunk):
        part = inputs[start : start + chunk]
        files = read_images([path for path, _ in part])
        shape = check_same_size(files, "LR")
        stacked = stack(files, shape)
        check_lr_size(model, stacked, files[0].path)
        for (_, name), image in zip(part, predict_hr(model, stacked), strict=True):
            target = out / Path(name).with_suffix(".npy")
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, image[None, :, :, 0].astype(np.float32))
    return len(inputs)


class SuperResTask(Task):
    """LR/HR pairs, a SuperResCNN, PSNR."""

    name = "superres"
    metric = "val_psnr"
    mode = "max"
    space = SUPERRES_SPACE
    default_simulation: ClassVar[Mapping[str, Any]] = {"pairs": DEFAULT_PAIRS}
    data_words = "LR/ images for super-resolution"
    model_words = "a super-resolution model"
    trainer = "lens_search.training.superres:train_superres"
    count_setting = "pairs"

    def simulate(self, folder: Path, **settings: Any) -> Path:
        from lens_search.data.simulate import simulate_superres

        return simulate_superres(folder, **settings)

    def planned_data(self, simulation: Mapping[str, Any], folder: Path, sample: int) -> PlannedData:
        from lens_search.data.simulate import DEFAULT_TEST_FRACTION, size_of_test_split

        pairs = int(simulation["pairs"])
        test = size_of_test_split(pairs, DEFAULT_TEST_FRACTION)
        val = round(pairs * VAL_FRACTION)
        return PlannedData(
            description=f"to be simulated into {folder}: {pairs} LR/HR pairs ({pairs - val} "
            f"train, {val} val, {test} test)",
            train=pairs - val,
            val=val,
            to_simulate=pairs + test,
            sample={"pairs": 3 * sample},
            sample_images=3 * sample,
        )

    def layout_sizes(self, folder: Path) -> tuple[int, int, str]:
        from lens_search.data.layout import ALL, SuperResLayout, find_layout

        layout = find_layout(folder)
        if not isinstance(layout, SuperResLayout):
            raise LensSearchError(
                f"--data {folder}: a classification data set, not one for {self.name}"
            )
        counts = {split: len(pairs) for split, pairs in layout.pairs.items()}
        if ALL in counts:
            val = round(counts[ALL] * VAL_FRACTION)
            return counts[ALL] - val, val, "LR/HR pairs"
        return counts.get("train", 0), counts.get("val", 0), "LR/HR pairs"

    def load_data(self, path: Path, settings: Mapping[str, Any]) -> Any:
        from lens_search.data.load import load_superres

        return load_superres(path, val_fraction=VAL_FRACTION)

    def load_test(self, path: Path, settings: Mapping[str, Any]) -> Any:
        from lens_search.data.load import load_superres_test

        return load_superres_test(path)

    def arrays(self, data: Any, split: str) -> tuple[Any, Any]:
        return getattr(data, f"lr_{split}"), getattr(data, f"hr_{split}")

    def random_data(self, train: int, val: int, settings: Mapping[str, Any], seed: int = 0) -> Any:
        from lens_search.data.load import SuperResData
        from lens_search.data.presets import SR_HR_SIZE, SR_SCALE

        rng = np.random.default_rng(seed)
        hr, lr = SR_HR_SIZE, SR_HR_SIZE // SR_SCALE
        return SuperResData(
            lr_train=rng.random((train, lr, lr, 1), dtype=np.float32),
            hr_train=rng.random((train, hr, hr, 1), dtype=np.float32),
            lr_val=rng.random((val, lr, lr, 1), dtype=np.float32),
            hr_val=rng.random((val, hr, hr, 1), dtype=np.float32),
            names_train=(),
            names_val=(),
        )

    def build_model(self, config: Mapping[str, Any], settings: Mapping[str, Any], data: Any) -> Any:
        from lens_search.training.models import build_superres

        lr_train = self.arrays(data, "train")[0]
        return build_superres(config, lr_size=lr_train.shape[1:3])  # type: ignore[arg-type]

    def evaluate(
        self, model: Any, inputs: Any, targets: Any, *, split: str, resamples: int, seed: int
    ) -> SuperResEvaluation:
        check_lr_size(model, inputs, f"the {split} split")
        return evaluate_superres(
            model, inputs, targets, split=split, resamples=resamples, seed=seed
        )

    def owns_model(self, model: Any) -> bool:
        return str(model.name) == "super_res_cnn"

    def claims(self, root: Path) -> bool:
        from lens_search.data.layout import SPLITS

        return (root / "LR").is_dir() or any((root / s / "LR").is_dir() for s in SPLITS)

    def inputs(self, root: Path) -> list[tuple[Path, str]]:
        from lens_search.data.layout import SPLITS, TEST, image_files

        files = [(p, p.name) for p in image_files(root / "LR")] if (root / "LR").is_dir() else []
        files += [
            (p, f"{s}/{p.name}")
            for s in SPLITS
            if (root / s / "LR").is_dir()
            for p in image_files(root / s / "LR")
        ]
        test = root / TEST / "LR"
        files += [(p, f"{TEST}/{p.name}") for p in image_files(test)] if test.is_dir() else []
        if not files:
            raise LensSearchError(f"{root}: no LR/ images to upscale (nor train|val/LR)")
        return files

    def predict(self, model: Any, inputs: list[tuple[Path, str]], out: Path) -> str:
        return f"{upscale_files(model, inputs, out)} images upscaled x2"


SUPERRES = register(SuperResTask())

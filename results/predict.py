"""Apply a saved model to a folder of images. ``python -m results.predict MODEL DATA --out DIR``.

A classifier writes ``DIR/predictions.csv`` (``file, p_no, p_sphere, p_vort, predicted``); a
super-resolution model writes one ``.npy`` per input, same relative name, shape ``(1, 2h, 2w)``
float32 in [0, 1]. DATA may be class folders (``[train|val/]no|sphere|vort``), a flat folder of
images, or an SR folder (``LR/`` or ``train|val/LR/``); its ``test/`` is predicted too. Files are
read and checked by ``lensing`` (pickled, corrupt or NaN ``.npy`` files fail with the loaders'
one-line error). The model's task comes from its name (``classifier_*`` or ``super_res_cnn``, as
``trainables.models`` builds them), and data laid out for the other task is refused; DIR must lie
apart from DATA and MODEL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lensing.cache import TASKS
from lensing.cli import console_script
from lensing.errors import LensSearchError
from lensing.images import check_same_size, read_images, stack
from lensing.layout import (
    CLASSES,
    SPLITS,
    TEST,
    existing_folder,
    find_classification,
    find_test_classes,
    image_files,
)
from lensing.layout import has_test_split as has_test
from results.outputs import (
    add_output_flags,
    check_apart_from_inputs,
    check_writable,
    native_stderr_silenced,
    output_folder,
    quiet_keras_import,
    results_parser,
)

PREDICTIONS_FILE = "predictions.csv"
CHUNK = 256


CLASSIFY, SUPERRES = TASKS
TASK_WORDS = {CLASSIFY: "a classifier", SUPERRES: "a super-resolution model"}
DATA_WORDS = {CLASSIFY: "class folders", SUPERRES: "LR/ images for super-resolution"}


def find_inputs(data: str | Path) -> tuple[str | None, list[tuple[Path, str]]]:
    """The task DATA is laid out for (None: a flat folder, either) and (file, name relative to
    DATA) of every image to predict, in a stable order; ``test/`` included (predicting is not
    tuning)."""
    root = existing_folder(data)
    test = root / TEST
    if (root / "LR").is_dir():
        return SUPERRES, _named(root, image_files(root / "LR"), flat=True) + _test_lr(root)
    flat = image_files(root)
    if flat:
        return None, _named(root, flat) + _named(root, image_files(test) if test.is_dir() else [])
    split_lr = [s for s in SPLITS if (root / s / "LR").is_dir()]
    if split_lr:
        files = [(p, f"{s}/{p.name}") for s in split_lr for p in image_files(root / s / "LR")]
        return SUPERRES, files + _test_lr(root)
    layout = find_classification(root)
    groups = [*layout.files.values(), *([find_test_classes(root).files] if has_test(root) else [])]
    paths = [p for by_class in groups for group in by_class.values() for p in group]
    return CLASSIFY, _named(root, paths)


def _named(root: Path, paths: list[Path], flat: bool = False) -> list[tuple[Path, str]]:
    """Each path with its name in the output: the file name, or its path relative to ``root``."""
    return [(p, p.name if flat else p.relative_to(root).as_posix()) for p in paths]


def _test_lr(root: Path) -> list[tuple[Path, str]]:
    folder = root / TEST / "LR"
    return [(p, f"{TEST}/{p.name}") for p in image_files(folder)] if folder.is_dir() else []


def model_task(model: Any, path: str | Path) -> str:
    """The task of a model built by ``trainables.models`` (its name says which), else refused."""
    if model.name.startswith("classifier_"):
        return CLASSIFY
    if model.name == "super_res_cnn":
        return SUPERRES
    raise LensSearchError(
        f"{path}: model {model.name!r} is not a lens-search classifier or super-resolution model "
        "(save one with results.retrain)"
    )


def check_task(task: str, layout: str | None, model_path: str | Path, data: str | Path) -> None:
    """Refuse data laid out for the other task (a flat folder suits either)."""
    if layout is not None and layout != task:
        raise LensSearchError(
            f"{model_path} is {TASK_WORDS[task]}, but {data} holds {DATA_WORDS[layout]}; "
            f"give it {DATA_WORDS[task]} or a flat folder of images"
        )


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def predict_classes(model: Any, inputs: list[tuple[Path, str]]) -> pd.DataFrame:
    """Class probabilities and the predicted class of each input, resized to the model's size."""
    size = model.input_shape[1]
    if model.output_shape[-1] != len(CLASSES):
        raise LensSearchError(
            f"the model has {model.output_shape[-1]} outputs; expected {len(CLASSES)} classes"
        )
    rows = []
    for chunk in _chunks(inputs):
        files = read_images([path for path, _ in chunk], image_size=size)
        probs = model.predict(stack(files, (size, size)), verbose=0)
        for (_, name), p in zip(chunk, np.asarray(probs, dtype=np.float64), strict=True):
            row = {"file": name, **{f"p_{c}": float(v) for c, v in zip(CLASSES, p, strict=True)}}
            rows.append({**row, "predicted": CLASSES[int(np.argmax(p))]})
    return pd.DataFrame(rows, columns=["file", *(f"p_{c}" for c in CLASSES), "predicted"])


def predict_superres(model: Any, inputs: list[tuple[Path, str]], out: Path) -> int:
    """Write the model's x2 image of each input as ``out/<name>.npy``; return how many."""
    from trainables.superres import predict_hr

    expected = tuple(model.input_shape[1:3])
    for chunk in _chunks(inputs):
        files = read_images([path for path, _ in chunk])
        shape = check_same_size(files, "LR")
        if None not in expected and shape != expected:
            raise LensSearchError(
                f"{files[0].path}: LR size {shape[0]}x{shape[1]} differs from the model's input "
                f"{expected[0]}x{expected[1]}"
            )
        hr = predict_hr(model, stack(files, shape))
        for (_, name), image in zip(chunk, hr, strict=True):
            target = out / Path(name).with_suffix(".npy")
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, image[None, :, :, 0].astype(np.float32))
    return len(inputs)


def predict(model_path: str | Path, data: str | Path, out: str | Path, force: bool = False) -> Path:
    """Predict every image of ``data`` with the model at ``model_path`` into ``out``."""
    check_apart_from_inputs(out, {"data set": data, "model": model_path})
    target = check_writable(out, force)
    layout, inputs = find_inputs(data)
    if not inputs:
        raise LensSearchError(f"{data}: no images (.npy, .png, .jpg) to predict")
    from results.export import load_model

    with native_stderr_silenced():  # TensorFlow's CUDA probe on first use
        model = load_model(model_path, compile=False)  # inference only
    task = model_task(model, model_path)
    check_task(task, layout, model_path, data)
    with output_folder(target, force) as staging:
        if task == CLASSIFY:
            table = predict_classes(model, inputs)
            table.to_csv(staging / PREDICTIONS_FILE, index=False)
            counts = table["predicted"].value_counts().to_dict()
            print(
                f"{len(table)} images classified: "
                + ", ".join(f"{c} {counts.get(c, 0)}" for c in CLASSES)
            )
        else:
            count = predict_superres(model, inputs, staging)
            print(f"{count} images upscaled x2")
    print(f"written to {target}")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = results_parser(
        "predict",
        "Classify or upscale a folder of lens images with a saved .keras model.",
        experiment=None,
    )
    parser.add_argument("model", help="a .keras model saved by results.retrain")
    parser.add_argument("data", help="folder of images: class folders, flat, or LR/")
    add_output_flags(parser, "output folder (must not exist)", required=True)
    args = parser.parse_args(argv)
    quiet_keras_import()
    predict(args.model, args.data, args.out, force=args.force)
    return 0


cli = console_script(main, prog="results.predict")


if __name__ == "__main__":
    cli()

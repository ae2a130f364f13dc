"""Apply a saved model to a folder of images. ``python -m results.predict MODEL DATA --out DIR``.

A classifier writes ``DIR/predictions.csv`` (``file, p_no, p_sphere, p_vort, predicted``); a
super-resolution model writes one ``.npy`` per input, same relative name, shape ``(1, 2h, 2w)``
float32 in [0, 1]. DATA may be class folders (``[train|val/]no|sphere|vort``), a flat folder of
images, or an SR folder (``LR/`` or ``train|val/LR/``); its ``test/`` is predicted too. Files are
read and checked by ``lensing`` (pickled, corrupt or NaN ``.npy`` files fail with the loaders'
one-line error). The model's task is the registered task that owns it (``Task.owns_model``), and
data laid out for another task is refused; DIR must lie apart from DATA and MODEL.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lens_search.cli import console_script
from lens_search.data.layout import TEST, existing_folder, image_files
from lens_search.errors import LensSearchError
from lens_search.experiments.tasks import Task, registered, task_of_model
from lens_search.results.outputs import (
    add_output_flags,
    check_apart_from_inputs,
    check_writable,
    native_stderr_silenced,
    output_folder,
    quiet_keras_import,
    results_parser,
)


def find_inputs(task: Task, data: str | Path, model_path: str | Path) -> list[tuple[Path, str]]:
    """(file, name relative to DATA) of every image of DATA to predict, in a stable order,
    ``test/`` included (predicting is not tuning): DATA laid out for ``task``, or a flat folder
    of images (any task's); a folder laid out for another task is refused."""
    root = existing_folder(data)
    if task.claims(root):
        return task.inputs(root)
    flat = image_files(root)
    if flat:
        test = root / TEST
        paths = flat + (image_files(test) if test.is_dir() else [])
        return [(p, p.relative_to(root).as_posix()) for p in paths]
    check_task(task, root, model_path)
    return task.inputs(root)


def check_task(task: Task, data: str | Path, model_path: str | Path) -> None:
    """Refuse a folder laid out for another task than the model's."""
    root = existing_folder(data)
    if task.claims(root):
        return
    for other in registered().values():
        if other is not task and other.claims(root):
            raise LensSearchError(
                f"{model_path} is {task.model_words}, but {data} holds {other.data_words}; "
                f"give it {task.data_words} or a flat folder of images"
            )


def predict(model_path: str | Path, data: str | Path, out: str | Path, force: bool = False) -> Path:
    """Predict every image of ``data`` with the model at ``model_path`` into ``out``."""
    check_apart_from_inputs(out, {"data set": data, "model": model_path})
    target = check_writable(out, force)
    existing_folder(data)
    from lens_search.results.export import load_model

    with native_stderr_silenced():  # TensorFlow's CUDA probe on first use
        model = load_model(model_path, compile=False)  # inference only
    task = task_of_model(model, model_path)
    inputs = find_inputs(task, data, model_path)
    if not inputs:
        raise LensSearchError(f"{data}: no images (.npy, .png, .jpg) to predict")
    with output_folder(target, force) as staging:
        print(task.predict(model, inputs, staging))
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

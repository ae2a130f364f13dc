"""results.predict and the staged output folders, on freshly built real Keras models (no search)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens_search.cli import run_cli
from lens_search.errors import LensSearchError
from lens_search.results.outputs import output_folder

CLASSIFY_CONFIG = {
    "lr": 1e-3,
    "dropout": 0.1,
    "rotation": 0.2,
    "shear": 0.1,
    "translation": 0.05,
    "batch_size": 8,
    "fine_tune_fraction": 1.0,
}
SUPERRES_CONFIG = {
    "lr": 1e-3,
    "num_layers": 2,
    "filters_1": 8,
    "filters_2": 8,
    "kernel_size": 3,
    "dropout": 0.0,
    "batch_size": 8,
}


def one_line_error(
    main: Callable[[Sequence[str] | None], int | None],
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> str:
    """Run a CLI through run_cli; assert exit 2 and exactly one stderr line; return it."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, argv, prog="results")
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small_cnn classifier with shear > 0 (RandomShear), saved by results.export."""
    from lens_search.results.export import save_model
    from lens_search.training import build_classifier

    path = tmp_path_factory.mktemp("models") / "classifier.keras"
    save_model(build_classifier(CLASSIFY_CONFIG, image_size=32, backbone="small_cnn"), path)
    return path


@pytest.fixture(scope="module")
def superres_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SuperResCNN for 75x75 LR images (an untrained one is exactly bicubic)."""
    from lens_search.results.export import save_model
    from lens_search.training import build_superres

    path = tmp_path_factory.mktemp("models") / "superres.keras"
    save_model(build_superres(SUPERRES_CONFIG, lr_size=(75, 75)), path)
    return path


def test_output_folder_is_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), output_folder(out, force=False) as staging:
        (staging / "half.txt").write_text("x")
        raise RuntimeError("failed midway")
    assert list(tmp_path.iterdir()) == []
    with output_folder(out, force=False) as staging:
        (staging / "a.txt").write_text("first")
    with pytest.raises(LensSearchError, match="already exists; pass --force"):
        with output_folder(out, force=False):
            pass
    with output_folder(out, force=True) as staging:
        (staging / "b.txt").write_text("second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["b.txt"]


def test_saved_models_load_in_safe_mode(classifier_file: Path, superres_file: Path) -> None:
    import keras

    import lens_search.training.models  # noqa: F401  (registers DepthToSpace)

    classifier = keras.saving.load_model(classifier_file, safe_mode=True)
    assert classifier.output_shape == (None, 3)
    superres = keras.saving.load_model(superres_file, safe_mode=True)
    assert superres.output_shape == (None, 150, 150, 1)


def test_classifier_predictions_csv(
    classifier_file: Path, tiny_classify_dir: Path, tmp_path: Path
) -> None:
    from lens_search.results.predict import main

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, [str(classifier_file), str(tiny_classify_dir), "--out", str(tmp_path / "p")])
    assert exit_info.value.code == 0
    table = pd.read_csv(tmp_path / "p" / "predictions.csv")
    images = sorted(tiny_classify_dir.rglob("*.npy"))
    assert list(table.columns) == ["file", "p_no", "p_sphere", "p_vort", "predicted"]
    assert sorted(table["file"]) == sorted(
        p.relative_to(tiny_classify_dir).as_posix() for p in images
    )
    probs = table[["p_no", "p_sphere", "p_vort"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (table["predicted"] == np.array(["no", "sphere", "vort"])[probs.argmax(1)]).all()


def test_flat_folder_and_refusal_to_overwrite(
    classifier_file: Path,
    tiny_classify_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lens_search.results.predict import main, predict

    flat = tmp_path / "flat"
    flat.mkdir()
    for source in sorted((tiny_classify_dir / "val" / "vort").glob("*.npy"))[:2]:
        (flat / source.name).write_bytes(source.read_bytes())
    out = tmp_path / "p"
    predict(classifier_file, flat, out)
    assert len(pd.read_csv(out / "predictions.csv")) == 2
    line = one_line_error(main, [str(classifier_file), str(flat), "--out", str(out)], capsys)
    assert "already exists; pass --force" in line
    predict(classifier_file, flat, out, force=True)


def test_superres_writes_npy_per_lr_file(
    superres_file: Path, tiny_superres_dir: Path, tmp_path: Path
) -> None:
    from lens_search.data.files import read_npy
    from lens_search.results.predict import predict
    from lens_search.training import bicubic_upsample

    out = predict(superres_file, tiny_superres_dir, tmp_path / "hr")
    lr_files = sorted((tiny_superres_dir / "LR").glob("*.npy"))
    test_files = sorted((tiny_superres_dir / "test" / "LR").glob("*.npy"))
    assert sorted(p.name for p in out.iterdir()) == sorted([*(p.name for p in lr_files), "test"])
    assert sorted(p.name for p in (out / "test").iterdir()) == [p.name for p in test_files]
    assert len(test_files) == 5  # the tiny set's test/ is predicted too
    lr = read_npy(lr_files[0]).astype(np.float32)
    upscaled = np.load(out / lr_files[0].name)
    assert upscaled.shape == (1, 150, 150) and upscaled.dtype == np.float32
    expected = np.clip(bicubic_upsample(lr[..., None]), 0, 1)[..., 0]  # untrained = bicubic
    np.testing.assert_allclose(upscaled, expected, atol=1e-5)


def test_bad_inputs_fail_with_one_line(
    classifier_file: Path,
    superres_file: Path,
    tiny_classify_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lens_search.results.predict import main

    bad = tmp_path / "bad"
    bad.mkdir()
    good = sorted(tiny_classify_dir.rglob("*.npy"))[0]
    (bad / "a.npy").write_bytes(good.read_bytes())
    with open(bad / "evil.npy", "wb") as handle:
        np.save(handle, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    out = tmp_path / "out"
    line = one_line_error(main, [str(classifier_file), str(bad), "--out", str(out)], capsys)
    assert "evil.npy: holds pickled Python objects" in line
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "partial" in p.name]
    (bad / "evil.npy").write_bytes(good.read_bytes()[:100])  # truncated
    line = one_line_error(main, [str(classifier_file), str(bad), "--out", str(out)], capsys)
    assert "evil.npy: unreadable .npy file" in line
    line = one_line_error(main, [str(tmp_path / "none.keras"), str(bad), "--out", str(out)], capsys)
    assert "no such model file" in line
    line = one_line_error(
        main, [str(classifier_file), str(tmp_path / "nope"), "--out", str(out)], capsys
    )
    assert "no such data set folder" in line
    (bad / "evil.npy").unlink()
    line = one_line_error(main, [str(superres_file), str(bad), "--out", str(out)], capsys)
    assert "differs from the model's input 75x75" in line
    assert not out.exists()


def test_cli_error_is_one_line_in_a_fresh_process(classifier_file: Path, tmp_path: Path) -> None:
    """TensorFlow's native stderr lines must not come before the one-line error."""
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "evil.npy", np.array([None], dtype=object), allow_pickle=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "results.predict",
            str(classifier_file),
            str(tmp_path / "data"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=300,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "evil.npy: holds pickled Python objects" in done.stderr


def test_force_never_replaces_an_input(
    classifier_file: Path,
    tiny_classify_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--out DATA --force`` used to delete the data set; nor may it go into or over the model."""
    from lens_search.results.predict import main

    data = tmp_path / "data"
    for source in sorted((tiny_classify_dir / "val").rglob("*.npy")):
        target = data / source.relative_to(tiny_classify_dir / "val")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    model = tmp_path / "models" / "m.keras"
    model.parent.mkdir()
    model.write_bytes(classifier_file.read_bytes())
    before = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    for out, words in [
        (data, f"--out {data} is the data set {data}"),
        (data / "vort", "is in the data set"),
        (tmp_path, "holds the data set"),
        (model.parent, f"holds the model {model}"),
    ]:
        line = one_line_error(main, [str(model), str(data), "--out", str(out), "--force"], capsys)
        assert words in line and "even with --force" in line
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == before


def test_a_model_of_the_other_task_is_refused(
    classifier_file: Path,
    superres_file: Path,
    tiny_classify_dir: Path,
    tiny_superres_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lens_search.results.predict import main

    out = tmp_path / "out"
    line = one_line_error(
        main, [str(classifier_file), str(tiny_superres_dir), "--out", str(out)], capsys
    )
    assert f"{classifier_file} is a classifier, but {tiny_superres_dir} holds LR/ images" in line
    line = one_line_error(
        main, [str(superres_file), str(tiny_classify_dir), "--out", str(out)], capsys
    )
    assert "is a super-resolution model, but" in line and "holds class folders" in line
    assert not out.exists()


def test_keras_floor_has_the_safe_mode_fixes() -> None:
    """Keras 3.11 fixed the safe_mode bypasses CVE-2025-8747 and CVE-2025-9906."""
    import tomllib

    import keras
    from packaging.requirements import Requirement
    from packaging.version import Version

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    keras_spec = next(Requirement(d) for d in dependencies if Requirement(d).name == "keras")
    assert not keras_spec.specifier.contains("3.10.9")
    assert keras_spec.specifier.contains("3.11.0")
    assert Version(keras.__version__) >= Version("3.11")

"""Leaderboard, retrain, plots and predict on real tiny searches (real local Ray, Optuna, ASHA).

Each task's search runs once per module (fixtures below) and every test reads it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lens_search.cli import run_cli
from tests.harness.tables import read_exact_csv

# Small SR models keep the search quick; lr, dropout, augmentation and batch size are searched.
SR_SPACE = {
    "num_layers": 2,
    "filters_1": 16,
    "filters_2": 16,
    "filters_3": 16,
    "filters_4": 16,
    "kernel_size": 3,
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
def experiments(
    local_ray: None,
    tiny_superres_dir: Path,
    tiny_classify_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """One tiny search per task: SR (4 samples, ASHA may stop some), classify (all complete)."""
    from lens_search.experiments.tasks import TASKS
    from lens_search.search.config import SearchConfig
    from lens_search.search.run import run_search

    storage = tmp_path_factory.mktemp("runs")
    space = storage / "sr_space.json"
    space.write_text(json.dumps(SR_SPACE))
    run_search(
        TASKS["superres"],
        SearchConfig(
            samples=4,
            max_epochs=2,
            data=str(tiny_superres_dir),
            storage=str(storage),
            name="sr",
            seed=0,
            space=str(space),
        ),
    )
    run_search(
        TASKS["classify"],
        SearchConfig(
            samples=3,
            max_epochs=2,
            grace_period=2,
            data=str(tiny_classify_dir),
            storage=str(storage),
            name="cl",
            seed=0,
            backbone="small_cnn",
            image_size=32,
        ),
    )
    return {"superres": storage / "sr", "classify": storage / "cl"}


@pytest.fixture(scope="module")
def sr_retrained(experiments: dict[str, Path]) -> Path:
    """The best SR trial retrained for 2 epochs into the default folder."""
    from lens_search.results.retrain import retrain

    return retrain(str(experiments["superres"]), epochs=2, verbose=0)


def test_leaderboard_csv_and_table(
    experiments: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lens_search.results.leaderboard import main

    csv = tmp_path / "board.csv"
    assert main([str(experiments["superres"]), "--csv", str(csv), "--top", "2"]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(csv)
    assert len(table) == 4 and list(table["rank"]) == [1, 2, 3, 4]
    assert list(table.columns[:4]) == ["rank", "trial_id", "status", "epochs"]
    assert {"best_val_psnr", "checkpoint", "config/lr", "config/batch_size"} <= set(table.columns)
    assert table["best_val_psnr"].is_monotonic_decreasing
    assert set(table["status"]) <= {"completed", "stopped early"}
    assert (table.loc[table["status"] == "completed", "epochs"] == 2).all()
    assert all(Path(p).is_dir() for p in table["checkpoint"])
    assert printed.count(table["trial_id"][0]) == 1 and table["trial_id"][3] not in printed
    assert "best_val_psnr and last_val_psnr are validation figures: the split the search " in (
        printed
    )
    line = one_line_error(main, [str(experiments["superres"]), "--csv", str(csv)], capsys)
    assert "already exists; pass --force" in line
    assert main([str(experiments["superres"]), "--csv", str(csv), "--force"]) == 0
    uri = f"file://{experiments['classify']}"
    assert main([uri, "--csv", str(tmp_path / "cl.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "cl.csv")) == 3


def test_leaderboard_shows_only_the_parameters_of_the_backbone_used(
    experiments: dict[str, Path],
) -> None:
    """A cnn search from scratch showed fine_tune_fraction, which does nothing for it."""
    from lens_search.experiments.tasks import CLASSIFY

    table = pd.read_csv(experiments["classify"] / "leaderboard.csv")
    shown = {c.removeprefix("config/") for c in table.columns if c.startswith("config/")}
    assert shown == set(CLASSIFY.searched_space(backbone="cnn").defaults())
    assert {"cnn_width", "cnn_stages", "cnn_blocks"} <= shown
    assert "fine_tune_fraction" not in shown


def test_wrong_or_empty_experiment(
    experiments: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lens_search.results.leaderboard import main as leaderboard
    from lens_search.results.plots import main as plots
    from lens_search.results.retrain import main as retrain

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "lens_search.json").write_text(
        (experiments["superres"] / "lens_search.json").read_text()
    )
    for main in (leaderboard, retrain, plots):
        assert "not a lens-search experiment" in one_line_error(
            main, [str(tmp_path / "missing")], capsys
        )
        assert "no Ray Tune experiment state" in one_line_error(main, [str(empty)], capsys)
    line = one_line_error(retrain, [str(experiments["superres"]), "--rank", "9"], capsys)
    assert "rank 9 does not exist" in line and "4 trials" in line
    line = one_line_error(
        retrain,
        [
            str(experiments["superres"]),
            "--data",
            str(tmp_path / "nodata"),
            "--out",
            str(tmp_path / "r"),
        ],
        capsys,
    )
    assert "no such data set folder" in line and not (tmp_path / "r").exists()


def test_retrained_model_reloads_and_reproduces_metrics(
    experiments: dict[str, Path], sr_retrained: Path
) -> None:
    from lens_search.data.load import load_superres
    from lens_search.experiments.tasks.superres import evaluate_superres
    from lens_search.results.export import load_model

    assert sr_retrained == experiments["superres"] / "retrain-rank1"
    assert sorted(p.name for p in sr_retrained.iterdir()) == [
        "history.csv",
        "metrics.json",
        "model.keras",
        "samples.png",
        "test_samples.png",
    ]
    saved = json.loads((sr_retrained / "metrics.json").read_text())
    history = pd.read_csv(sr_retrained / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    best = read_exact_csv(experiments["superres"] / "leaderboard.csv").iloc[0]
    assert saved["trial_id"] == best["trial_id"] and saved["rank"] == 1
    assert saved["config"]["num_layers"] == 2  # the CSV's floats read back to within an ulp:
    assert saved["config"]["lr"] == pytest.approx(best["config/lr"], rel=1e-14)

    model = load_model(sr_retrained / "model.keras")
    # The saved model holds the trained Adam state: one iteration per batch of the 2 epochs.
    steps = saved["n_train"] // min(int(saved["config"]["batch_size"]), saved["n_train"])
    assert int(model.optimizer.iterations) == 2 * steps
    data = load_superres(saved["data"])
    again = evaluate_superres(model, data.lr_val, data.hr_val).metrics
    for name in ("val_psnr", "val_ssim", "val_mse", "bicubic_psnr", "bicubic_ssim"):
        assert again[name] == pytest.approx(saved["metrics"][name], rel=1e-5)
        if name in history:
            assert history[name].iloc[-1] == pytest.approx(saved["metrics"][name], rel=1e-5)
    assert saved["metrics"]["val_mse"] == pytest.approx(
        10 ** (-saved["metrics"]["val_psnr"] / 10), rel=0.5
    )  # 2 validation images
    if best["status"] == "completed":  # same config, seed and data: the search's score again
        assert saved["metrics"]["val_psnr"] == pytest.approx(best["best_val_psnr"], abs=0.05)

    # The test split (5 pairs in test/ of the tiny set), with intervals, next to bicubic.
    from lens_search.data.load import load_superres_test

    test = saved["test"]
    assert test["split"] == "test" and test["n"] == 5
    assert set(test["metrics"]) == set(test["intervals"]) == {
        "test_psnr", "test_ssim", "test_mse", "bicubic_psnr", "bicubic_ssim", "bicubic_mse",
    }  # fmt: skip
    assert test["interval"] == "95% bootstrap percentile, 1000 resamples, resampled over images"
    for name, (low, high) in test["intervals"].items():
        assert low <= test["metrics"][name] <= high, name
    held_out = load_superres_test(saved["data"])
    again = evaluate_superres(model, held_out.lr_test, held_out.hr_test, split="test")
    assert again.metrics == pytest.approx(test["metrics"], rel=1e-5)
    assert again.intervals["test_psnr"] == pytest.approx(test["intervals"]["test_psnr"], rel=1e-5)


def test_retrain_refuses_to_overwrite(
    experiments: dict[str, Path], sr_retrained: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lens_search.results.retrain import main

    before = (sr_retrained / "metrics.json").read_text()
    line = one_line_error(main, [str(experiments["superres"]), "--epochs", "1"], capsys)
    assert "retrain-rank1: already exists; pass --force" in line
    assert (sr_retrained / "metrics.json").read_text() == before


def test_retrain_classifier_second_rank(
    experiments: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lens_search.results.export import load_model
    from lens_search.results.retrain import main

    out = tmp_path / "cl2"
    assert (
        main([str(experiments["classify"]), "--rank", "2", "--epochs", "2", "--out", str(out)]) == 0
    )
    saved = json.loads((out / "metrics.json").read_text())
    board = pd.read_csv(experiments["classify"] / "leaderboard.csv")
    assert saved["trial_id"] == board.loc[board["rank"] == 2, "trial_id"].item()
    assert {p.name for p in out.iterdir()} == {
        "model.keras",
        "history.csv",
        "metrics.json",
        "roc_curves.png",
        "confusion_matrix.png",
        "test_roc_curves.png",
        "test_confusion_matrix.png",
    }
    metrics = saved["metrics"]
    assert set(metrics) == {
        "val_auc",
        "val_auc_no",
        "val_auc_sphere",
        "val_auc_vort",
        "val_loss",
        "val_accuracy",
    }
    matrix = np.array(saved["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == saved["n_val"] == 9
    assert np.trace(matrix) / matrix.sum() == pytest.approx(metrics["val_accuracy"])
    per_class = [metrics[f"val_auc_{c}"] for c in ("no", "sphere", "vort")]
    assert metrics["val_auc"] == pytest.approx(np.mean(per_class))

    from lens_search.data.load import load_classification
    from lens_search.experiments.tasks.classify import evaluate_classifier

    data = load_classification(saved["data"], image_size=32)
    again = evaluate_classifier(
        load_model(out / "model.keras"), data.x_val, data.y_val, data.classes
    )
    assert again.metrics["val_auc"] == pytest.approx(metrics["val_auc"], rel=1e-6)
    assert (again.confusion == matrix).all()
    for name in ("val_auc", "val_auc_no", "val_auc_sphere", "val_auc_vort", "val_accuracy"):
        low, high = saved["intervals"][name]
        assert 0.0 <= low <= metrics[name] <= high <= 1.0, name

    test = saved["test"]  # 4 images per class in test/ of the tiny set
    assert test["n"] == 12 and np.array(test["confusion_matrix"]).sum() == 12
    assert set(test["metrics"]) == {
        "test_auc", "test_auc_no", "test_auc_sphere", "test_auc_vort", "test_loss",
        "test_accuracy",
    }  # fmt: skip
    assert set(test["intervals"]) == set(test["metrics"]) - {"test_loss"}
    assert "resampled within each class" in test["interval"]

    from lens_search.results.evaluate import main as evaluate

    retrain_lines = capsys.readouterr().out.splitlines()
    assert retrain_lines[-4].startswith(
        "validation (9 images; the search selected on it, so optimistic): val_auc "
        f"{metrics['val_auc']:.4g} ["
    )
    assert retrain_lines[-3].startswith(
        "test (12 images; read by no search and no epoch choice): test_auc "
    )
    assert retrain_lines[-2:] == [
        "[low, high]: 95% bootstrap interval over 1000 resamples",
        f"written to {out}",
    ]
    assert evaluate([str(out), "--resamples", "100"]) == 0  # the retrain folder: its data's test/
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(
        "test (12 images; read by no search and no epoch choice): test_auc "
        f"{test['metrics']['test_auc']:.4g} ["
    )
    assert printed[1] == "confusion matrix (test; rows: true, columns: predicted)"
    assert printed[2].split() == ["no", "sphere", "vort"] and len(printed) == 7
    rows = [[int(v) for v in line.split()[1:]] for line in printed[3:6]]
    assert rows == test["confusion_matrix"]
    assert printed[6] == "[low, high]: 95% bootstrap interval over 100 resamples"


def test_plots_hold_what_they_claim(
    experiments: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lens_search.results.plots import learning_curves_figure, main, trial_histories
    from lens_search.results.select import load_leaderboard

    for task, path in experiments.items():
        out = tmp_path / task
        assert main([str(path), "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        files = {p.name for p in out.iterdir()}
        assert {
            "learning_curves.png",
            "best_so_far.png",
            "importance.png",
            "top_trials.png",
        } <= files
        table, grid, settings = load_leaderboard(str(path))
        completed = (table["status"] == "completed").sum()
        if completed >= 2:
            importance = pd.read_csv(out / "importance.csv")
            assert set(importance["param"]) <= set(
                table.filter(like="config/").columns.str.removeprefix("config/")
            )
            assert importance["importance"].sum() == pytest.approx(1.0)
        else:
            assert "importance.csv" not in files
            assert "needs at least 2 completed trials" in printed
        histories = trial_histories(grid, settings.metric)
        figure = learning_curves_figure(histories, table, settings.metric, settings.max_epochs)
        solid = [line for line in figure.axes[0].lines if line.get_label() in histories]
        assert len(solid) == len(table)
        epochs = dict(zip(table["trial_id"], table["epochs"], strict=True))
        assert all(len(line.get_xdata()) == epochs[line.get_label()] for line in solid)
    assert (pd.read_csv(experiments["classify"] / "leaderboard.csv")["status"] == "completed").all()
    assert (tmp_path / "classify" / "importance.csv").is_file()


def test_best_so_far_counts_every_epoch(experiments: dict[str, Path]) -> None:
    from lens_search.results.plots import best_so_far, trial_histories
    from lens_search.results.select import load_leaderboard

    table, grid, settings = load_leaderboard(str(experiments["superres"]))
    progress = best_so_far(trial_histories(grid, "val_psnr"), "val_psnr", "max")
    assert len(progress) == table["epochs"].sum()
    assert progress["best"].is_monotonic_increasing
    assert progress["best"].iloc[-1] == pytest.approx(table["best_val_psnr"].max())
    assert not math.isnan(progress["best"].iloc[0])


def test_predict_with_retrained_model(
    sr_retrained: Path, tiny_superres_dir: Path, tmp_path: Path
) -> None:
    from lens_search.data.load import load_superres
    from lens_search.results.export import load_model
    from lens_search.results.predict import predict
    from lens_search.training.superres import predict_hr

    out = predict(sr_retrained / "model.keras", tiny_superres_dir, tmp_path / "hr")
    data = load_superres(tiny_superres_dir)
    name = data.names_val[0]
    expected = predict_hr(load_model(sr_retrained / "model.keras"), data.lr_val[:1])
    np.testing.assert_allclose(np.load(out / name)[0], expected[0, :, :, 0], atol=1e-5)


def test_evaluate_cli_reports_the_test_split(
    experiments: dict[str, Path],
    sr_retrained: Path,
    tiny_classify_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "evaluated"
    result = subprocess.run(
        [sys.executable, "-m", "results.evaluate", str(experiments["superres"]),
         "--resamples", "200", "--out", str(out)],
        cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert (
        lines[0].startswith("test (5 images; read by no search and no epoch choice): test_psnr ")
        and ", bicubic_psnr " in lines[0]
    )
    assert lines[1:] == [
        "[low, high]: 95% bootstrap interval over 200 resamples",
        f"written to {out}",
    ]
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["model"] == str(sr_retrained / "model.keras") and saved["n"] == 5
    assert (out / "samples.png").is_file()
    retrained = json.loads((sr_retrained / "metrics.json").read_text())["test"]["metrics"]
    assert saved["metrics"] == pytest.approx(retrained, rel=1e-5)

    from lens_search.data.simulate import simulate_superres
    from lens_search.results.evaluate import main as evaluate

    assert evaluate([str(sr_retrained), "--split", "val", "--resamples", "0"]) == 0
    line = capsys.readouterr().out.strip()
    assert (
        line.startswith(
            "validation (2 images; the search selected on it, so optimistic): val_psnr "
        )
        and "[" not in line
    )  # no resamples, no intervals

    no_test = simulate_superres(tmp_path / "no-test", pairs=3, test_fraction=0.0, progress=False)
    capsys.readouterr()  # what the simulator logged
    refused = tmp_path / "refused"
    for argv, message in (
        ([str(sr_retrained), "--data", str(no_test)], f"{no_test}: no test/ folder to evaluate"),
        ([str(experiments["classify"])], "no model.keras in it nor in its retrain-rank1/"),
        ([str(tmp_path / "missing.keras")], "no such model file, retrain folder or experiment"),
        ([str(sr_retrained), "--resamples", "-1"], "--resamples must be at least 0, got -1"),
        (
            [str(sr_retrained), "--data", str(tiny_classify_dir)],
            "is a super-resolution model, but",
        ),
    ):
        assert message in one_line_error(evaluate, [*argv, "--out", str(refused)], capsys)
        assert not refused.exists()


def test_retrain_on_data_without_a_test_split_says_so(
    experiments: dict[str, Path],
    sr_retrained: Path,
    tiny_superres_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    from lens_search.results.retrain import main

    data = tmp_path / "no-test"
    shutil.copytree(tiny_superres_dir, data)
    shutil.rmtree(data / "test")
    out = tmp_path / "r"
    capsys.readouterr()
    argv = [str(experiments["superres"]), "--epochs", "1", "--data", str(data), "--out", str(out)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3] == (
        f"test: none ({data} has no test/ folder; simulate with --test-fraction above 0 or add "
        "one, then run python -m results.evaluate on this folder)"
    )
    assert lines[-4].startswith("validation (2 images; the search selected on it, so optimistic)")
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test"] is None and "test_samples.png" not in {p.name for p in out.iterdir()}
    # Training did not depend on test/: its first epoch is the one trained beside test/.
    alone = pd.read_csv(out / "history.csv").iloc[0]
    beside = pd.read_csv(sr_retrained / "history.csv").iloc[0]
    for name in ("loss", "val_psnr", "val_ssim"):
        assert alone[name] == pytest.approx(beside[name], rel=1e-3), name


def test_retrain_with_patience_evaluates_the_best_epoch(
    experiments: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--patience``/``--lr-patience`` choose on validation; the model evaluated and saved is
    the best epoch's, and metrics.json says which epoch that was."""
    from lens_search.results.export import load_model
    from lens_search.results.retrain import main

    experiment = str(experiments["superres"])
    for flag in ("--patience", "--lr-patience"):
        line = one_line_error(main, [experiment, flag, "0", "--out", str(tmp_path / "x")], capsys)
        assert line == f"results: error: {flag} must be at least 1 epoch, got 0"
    assert not (tmp_path / "x").exists()

    out = tmp_path / "patient"
    argv = [experiment, "--epochs", "4", "--patience", "1", "--lr-patience", "1", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "for at most 4 epochs" in printed
    saved = json.loads((out / "metrics.json").read_text())
    history = pd.read_csv(out / "history.csv")
    best = int(history["val_psnr"].to_numpy().argmax()) + 1  # the first best epoch
    assert saved["best_epoch"] == best == history["best_epoch"].iloc[-1]
    assert saved["epochs_trained"] == len(history) and saved["epochs"] == 4
    assert saved["patience"] == {"stop_after": 1, "halve_lr_after": 1}
    assert saved["metrics"]["val_psnr"] == pytest.approx(
        history["val_psnr"].iloc[best - 1], rel=1e-5
    )
    if len(history) < 4:  # stopped at the first epoch that brought nothing better
        assert len(history) == best + 1
        assert (
            f"stopped after epoch {len(history)}: no better val_psnr for 1 epoch; "
            f"evaluating the weights of epoch {best}"
        ) in printed
    steps = saved["n_train"] // min(int(saved["config"]["batch_size"]), saved["n_train"])
    assert int(load_model(out / "model.keras").optimizer.iterations) == best * steps

"""User mistakes end a search before any trial starts: one line on stderr, exit status 2."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from lens_search.experiments.tasks import CLASSIFY, SUPERRES
from lens_search.search.cli import build_parser, main_for, parse_config
from lens_search.search.config import SearchConfig

REPO = Path(__file__).resolve().parents[2]


def run_inprocess(task: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the search CLI in this process; return its stderr after asserting exit status 2."""
    with pytest.raises(SystemExit) as exit_info:
        main_for(task, argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_parser_defaults_come_from_search_config() -> None:
    config = parse_config(CLASSIFY, [])
    assert config == SearchConfig()
    assert config.samples == 50 and config.max_epochs == 10 and config.reduction_factor == 3


def test_superres_has_no_backbone_flags(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--backbone" not in build_parser(SUPERRES).format_help()
    assert "--per-class" not in build_parser(SUPERRES).format_help()
    line = run_inprocess("superres", ["--backbone", "small_cnn"], capsys)
    assert "unrecognized arguments: --backbone" in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--samples", "0"], "--samples must be at least 1"),
        (["--samples", "-4"], "--samples must be at least 1"),
        (["--samples", "many"], "invalid int value"),
        (["--max-epochs", "3", "--grace-period", "5"], "--grace-period must be between 1"),
        (["--reduction-factor", "1"], "--reduction-factor must be at least 2"),
        (["--backbone", "resnet9000"], "--backbone must be one of"),
        (["--image-size", "64"], "--image-size must be at least 75 for inception_resnet_v2"),
        (["--backbone", "cnn", "--image-size", "8"], "--image-size must be at least 16 for cnn"),
        (["--per-class", "5"], "--per-class must be at least 10"),
        (["--sim-size", "8"], "--sim-size must be at least 16"),
        (["--data", "somewhere", "--per-class", "100"], "cannot be used with --data"),
        (["--gpus-per-trial", "-1"], "--gpus-per-trial must be >= 0"),
        (["--stopped-trials", "maybe"], "invalid choice"),
        (["--resume"], "--resume needs the --name"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = run_inprocess("classify", [*argv, "--storage", str(tmp_path / "runs")], capsys)
    assert expected in line
    assert not (tmp_path / "runs").exists()


def test_missing_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data", str(tmp_path / "nope"), "--storage", str(tmp_path / "runs"), "--name", "x"]
    line = run_inprocess("superres", argv, capsys)
    assert "nope" in line
    assert not (tmp_path / "runs" / "x").exists()


def test_unwritable_storage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = run_inprocess("superres", ["--storage", str(blocker / "runs")], capsys)
    assert "cannot be created" in line and "a-file" in line
    assert blocker.read_text() == "not a folder"


def test_existing_name_is_refused_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    earlier = tmp_path / "runs" / "mine"
    earlier.mkdir(parents=True)
    (earlier / "leaderboard.csv").write_text("rank,trial_id\n1,abc\n")
    before = (earlier / "leaderboard.csv").stat().st_mtime_ns
    argv = ["--storage", str(tmp_path / "runs"), "--name", "mine"]
    line = run_inprocess("superres", argv, capsys)
    assert "already exists" in line and "--resume" in line
    assert (earlier / "leaderboard.csv").read_text() == "rank,trial_id\n1,abc\n"
    assert (earlier / "leaderboard.csv").stat().st_mtime_ns == before
    assert sorted(p.name for p in earlier.iterdir()) == ["leaderboard.csv"]


def test_resume_of_unknown_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "runs" / "other").mkdir(parents=True)
    argv = ["--storage", str(tmp_path / "runs"), "--name", "ghost", "--resume"]
    line = run_inprocess("superres", argv, capsys)
    assert "no experiment 'ghost'" in line and "other" in line


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ({"learning_rate_typo": {"low": 1e-4, "high": 1e-3}}, "learning_rate_typo"),
        ({"lr": {"low": 1e-2, "high": 1e-4}}, "lr"),
    ],
)
def test_bad_space_file(
    space: dict, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space_file = tmp_path / "space.json"
    space_file.write_text(json.dumps(space))
    argv = ["--space", str(space_file), "--storage", str(tmp_path / "runs"), "--name", "s"]
    line = run_inprocess("superres", argv, capsys)
    assert expected in line
    assert not (tmp_path / "runs" / "s").exists()


def test_unreachable_address_fails_fast(
    tiny_superres_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data", str(tiny_superres_dir), "--address", "127.0.0.1:1"]
    line = run_inprocess("superres", [*argv, "--storage", str(tmp_path / "runs")], capsys)
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in line


def test_gpus_on_a_cpu_only_cluster_do_not_hang(
    tiny_superres_dir: Path, tmp_path: Path, local_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data", str(tiny_superres_dir), "--gpus-per-trial", "1", "--name", "g"]
    line = run_inprocess("superres", [*argv, "--storage", str(tmp_path / "runs")], capsys)
    assert "--gpus-per-trial 1 cannot be scheduled: the cluster has no GPU" in line


def test_cli_as_a_user_runs_it(tmp_path: Path) -> None:
    """The real entry point, in a fresh interpreter: one line, status 2, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "search.classify", "--samples", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "search.classify: error: --samples must be at least 1, got 0"
    ]
    assert not (tmp_path / "runs").exists()


def test_from_scratch_backbone_trains_every_layer(tmp_path: Path) -> None:
    # Left out (the model builds with 1.0), so trial configs and leaderboards do not show it.
    assert "fine_tune_fraction" not in CLASSIFY.searched_space(weights=None).defaults()
    assert "fine_tune_fraction" in CLASSIFY.searched_space(weights="imagenet").searched()
    narrowed = tmp_path / "narrow.json"
    narrowed.write_text(json.dumps({"lr": {"low": 1e-4, "high": 1e-3}, "fine_tune_fraction": 1.0}))
    space = CLASSIFY.searched_space(narrowed, weights=None)
    assert space["lr"].high == 1e-3 and "fine_tune_fraction" not in space.defaults()
    assert SUPERRES.searched_space(weights=None) is SUPERRES.space


def test_freezing_layers_without_pretrained_weights_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space_file = tmp_path / "space.json"
    space_file.write_text(json.dumps({"fine_tune_fraction": [0.5, 1.0]}))
    argv = ["--space", str(space_file), "--storage", str(tmp_path / "runs"), "--name", "s"]
    line = run_inprocess("classify", argv, capsys)
    assert "fine_tune_fraction" in line and "--weights" in line
    assert not (tmp_path / "runs" / "s").exists()


def test_cnn_parameters_are_searched_only_with_the_cnn_backbone() -> None:
    cnn = ("cnn_width", "cnn_stages", "cnn_blocks")
    assert set(cnn) <= set(CLASSIFY.searched_space(backbone="cnn").searched())
    assert set(cnn) <= set(CLASSIFY.searched_space(backbone="small_cnn").searched())
    for backbone in (None, "inception_resnet_v2"):
        names = CLASSIFY.searched_space(backbone=backbone).names()
        assert not set(cnn) & set(names) and "lr" in names


def test_each_backbone_starts_from_its_own_defaults(tmp_path: Path) -> None:
    """The cnn's defaults are 8-64 filters at lr 1e-3 (AUC 0.95 within 10 epochs on the Quick
    start's data); InceptionResNetV2 keeps lr 3e-4; an overrides file's lr wins over both."""
    cnn = CLASSIFY.searched_space(backbone="cnn").defaults()
    assert (cnn["lr"], cnn["cnn_width"], cnn["cnn_stages"], cnn["cnn_blocks"]) == (1e-3, 8, 4, 2)
    assert CLASSIFY.searched_space(backbone="inception_resnet_v2").defaults()["lr"] == 3e-4
    assert CLASSIFY.searched_space().defaults()["lr"] == 3e-4  # the default backbone's
    ranged = tmp_path / "lr.json"
    ranged.write_text(json.dumps({"lr": {"low": 1e-5, "high": 1e-4}}))
    assert CLASSIFY.searched_space(ranged, backbone="cnn").defaults()["lr"] == pytest.approx(
        math.sqrt(1e-5 * 1e-4)
    )
    ranged.write_text(json.dumps({"lr": {"low": 1e-4, "high": 1e-2, "default": 5e-3}}))
    assert CLASSIFY.searched_space(ranged, backbone="cnn").defaults()["lr"] == 5e-3


def test_cnn_overrides_with_another_backbone_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space_file = tmp_path / "space.json"
    space_file.write_text(json.dumps({"cnn_width": 16}))
    argv = ["--space", str(space_file), "--storage", str(tmp_path / "runs"), "--name", "s"]
    line = run_inprocess("classify", argv, capsys)
    assert "cnn_width" in line and "--backbone" in line
    assert not (tmp_path / "runs" / "s").exists()

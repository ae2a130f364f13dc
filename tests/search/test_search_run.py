"""Real local Ray searches on tiny data: ASHA stops trials, the leaderboard matches Ray."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lens_search.experiments.settings import read_settings
from lens_search.experiments.tasks import CLASSIFY, SUPERRES
from lens_search.experiments.trials import STATUS_COMPLETED, STATUS_STOPPED, load_results
from lens_search.search.config import SearchConfig
from lens_search.search.run import run_search


def check_against_result_grid(table: pd.DataFrame, experiment: Path, metric: str) -> None:
    """Every trial of Ray's ResultGrid is in the leaderboard once, with Ray's numbers."""
    grid, settings = load_results(str(experiment))
    assert settings.metric == metric
    assert len(grid) == len(table) == table["trial_id"].nunique()
    rows = table.set_index("trial_id")
    for result in grid:
        trial_id = result.metrics["trial_id"]
        row = rows.loc[trial_id]
        history = result.metrics_dataframe
        assert row["epochs"] == result.metrics["epoch"] == len(history)
        assert row[f"best_{metric}"] == pytest.approx(history[metric].max())
        assert row[f"last_{metric}"] == pytest.approx(result.metrics[metric])
        for key, value in result.config.items():
            assert row[f"config/{key}"] == value
        assert row["node"] == result.metrics["node_id"] != ""
        assert Path(row["checkpoint"]).is_dir()
    assert list(table[f"best_{metric}"]) == sorted(table[f"best_{metric}"], reverse=True)
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    on_disk = pd.read_csv(experiment / "leaderboard.csv")
    assert list(on_disk["trial_id"]) == list(table["trial_id"])


def test_classify_search(
    tiny_classify_dir: Path, tmp_path: Path, local_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = SearchConfig(
        samples=6,
        max_epochs=3,
        reduction_factor=2,
        data=str(tiny_classify_dir),
        image_size=32,
        backbone="small_cnn",
        storage=str(tmp_path / "runs"),
        name="cls",
        max_concurrent=2,
    )
    table = run_search(CLASSIFY, config)
    out = capsys.readouterr().out
    assert len(table) == 6
    assert set(table["status"]) <= {STATUS_COMPLETED, STATUS_STOPPED}
    assert (table["status"] == STATUS_STOPPED).any(), table[["status", "epochs"]]
    assert (table["status"] == STATUS_COMPLETED).any()
    assert table["epochs"].sum() < 6 * 3
    assert table["best_val_auc"].between(0, 1).all()
    check_against_result_grid(table, tmp_path / "runs" / "cls", "val_auc")
    assert "Best val_auc" in out and f"of the {6 * 3} that training every trial" in out
    # The live table's status line: epochs done of the budget, then (the last table) finishing.
    assert "Epochs: 0 done of 18 at most" in out and "ETA" in out
    assert f"Epochs: {int(table['epochs'].sum())} done of 18 at most" in out
    assert read_settings(str(tmp_path / "runs" / "cls")).config["backbone"] == "small_cnn"


def test_superres_search(
    tiny_superres_dir: Path,
    tiny_superres_space: Path,
    tmp_path: Path,
    local_ray: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = SearchConfig(
        samples=6,
        max_epochs=3,
        reduction_factor=2,
        data=str(tiny_superres_dir),
        space=str(tiny_superres_space),
        storage=str(tmp_path / "runs"),
        name="sr",
        seed=3,
    )
    table = run_search(SUPERRES, config)
    assert len(table) == 6
    assert (table["status"] == STATUS_STOPPED).any(), table[["status", "epochs"]]
    assert (table["status"] == STATUS_COMPLETED).any()
    assert (table["best_val_psnr"] > 5).all()
    check_against_result_grid(table, tmp_path / "runs" / "sr", "val_psnr")
    assert "Leaderboard:" in capsys.readouterr().out

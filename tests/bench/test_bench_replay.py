"""bench.replay drives the real searchers against a recorded table and scores them sensibly."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.record import draw_configs, space_of
from bench.replay import COLUMNS, METHODS, Oracle, Trace, make_policy, read_table, replay

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 4


@pytest.fixture(scope="module")
def table_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small table in bench.record's format: 17 Sobol configurations of the SR space whose
    curves rise towards a level set by the learning rate and the depth (an optimum to find)."""
    space = space_of("superres")
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("table") / "superres.csv"
    columns = ["config_id", *space.searched(), "epoch", "val_psnr", "val_ssim", "epoch_seconds"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for config_id, config in enumerate(draw_configs(space, 16)):
            level = 36 - 2 * abs(math.log10(config["lr"]) + 3) + config["num_layers"]
            for epoch in range(1, EPOCHS + 1):
                value = 30 + (level - 30) * (1 - math.exp(-epoch / 2)) + rng.normal(0, 0.05)
                writer.writerow(
                    {
                        "config_id": config_id,
                        **config,
                        "epoch": epoch,
                        "val_psnr": value,
                        "val_ssim": 0.5,
                        "epoch_seconds": 2.0 + config["num_layers"],
                    }
                )
    return path


def test_every_method_replays_at_quick_size_and_writes_the_csv(
    table_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "replay.csv"
    result = subprocess.run(
        [sys.executable, "-m", "bench.replay", "--task", "superres", "--quick"]
        + ["--table", str(table_path), "--out", str(out)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert {(r["method"], r["seed"]) for r in rows} == {(m, s) for m in METHODS for s in "01"}
    table = read_table(table_path, "superres")
    budget = 3 * EPOCHS
    for row in rows:
        assert int(row["budget"]) == budget
        assert table.values.min() <= float(row["best_at_budget"]) <= table.best, row
        if row["epochs_to_mark"]:
            assert 1 <= int(row["epochs_to_mark"]) <= budget
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "Spearman" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("median epochs_to_mark ratios: a/c")


def test_asha_spends_the_budget_of_full_random_search_on_more_configurations(
    table_path: Path,
) -> None:
    table = read_table(table_path, "superres")
    oracle = Oracle(table, "nearest", trees=10)
    budget = 4 * EPOCHS
    traces = {}
    for method in ("c", "a"):
        oracle.reseed(0)
        policy = make_policy(method, "superres", table, seed=0, workers=2, folder="unused")
        traces[method] = replay(policy, oracle, budget, Trace(method, 0))
    recorded = set(table.values.ravel().tolist())
    for trace in traces.values():
        assert len(trace.values) == budget  # every method spends exactly the budget
        assert set(trace.values) <= recorded  # the nearest surrogate answers recorded curves
    assert traces["c"].configs == 4 + 1  # 4 full trials; the 5th started as the budget ran out
    assert traces["a"].configs > traces["c"].configs  # ASHA stopped some after a rung
    assert traces["a"].best_so_far(budget)[-1] == max(traces["a"].values)

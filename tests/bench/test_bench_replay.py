"""bench.replay drives the real searchers against a recorded table and scores them sensibly."""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.engine import Oracle, Trace, read_table, replay
from bench.policies import config_space
from bench.record import draw_configs, space_of
from bench.replay import COLUMNS, METHODS, make_policy
from lens_search.spaces import ChoiceParam, FixedParam, FloatParam, IntParam, SearchSpace

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


class _Recording:
    """A policy passed through, noting every start (id, first epoch) and report (id, epoch)."""

    def __init__(self, policy: Any) -> None:
        self.policy, self.workers = policy, policy.workers
        self.starts: list[tuple[str, int]] = []
        self.reports: list[tuple[str, int]] = []

    def start(self) -> tuple[str, dict[str, Any], int, int] | None:
        started = self.policy.start()
        if started is not None:
            self.starts.append((started[0], started[2]))
        return started

    def report(self, trial_id: str, epoch: int, value: float) -> bool:
        self.reports.append((trial_id, epoch))
        return bool(self.policy.report(trial_id, epoch, value))


def test_bohb_resumes_paused_trials_and_spends_each_epoch_once(table_path: Path) -> None:
    table = read_table(table_path, "superres")
    oracle = Oracle(table, "nearest", trees=10)
    budget = 6 * EPOCHS
    resumed = 0
    for seed in range(5):
        oracle.reseed(seed)
        policy = _Recording(make_policy("e", "superres", table, seed, workers=2, folder="unused"))
        trace = replay(policy, oracle, budget, Trace("e", seed))
        assert len(trace.values) == budget
        assert len(policy.reports) == budget - 1  # the budget's last epoch ends it unreported
        assert trace.configs == len({trial_id for trial_id, _ in policy.starts})
        for trial_id in {t for t, _ in policy.reports}:  # epochs 1, 2, ... once each, in order
            epochs = [epoch for t, epoch in policy.reports if t == trial_id]
            assert epochs == list(range(1, len(epochs) + 1)), (seed, trial_id, epochs)
        for trial_id, first in [(t, first) for t, first in policy.starts if first > 1]:
            before = policy.reports[: policy.reports.index((trial_id, first))]
            assert [e for t, e in before if t == trial_id][-1] == first - 1  # where it paused
            assert before[-1][0] != trial_id  # after other trials had run
            resumed += 1
    assert resumed >= 2, "HyperBandForBOHB resumed no paused trial"


def test_bohb_config_space_keeps_each_parameter_s_range_scale_and_choices() -> None:
    space = SearchSpace(
        "mapped",
        (
            FloatParam("lr", 1e-5, 1e-2, log=True),
            FloatParam("dropout", 0.0, 0.3),
            IntParam("layers", 2, 4),
            IntParam("width", 8, 64, log=True),
            IntParam("size", 2, 8, step=2),
            IntParam("one", 3, 3),
            ChoiceParam("flip", (True, False)),
            ChoiceParam("filters", (16, 32)),
            FixedParam("scale", 2),
        ),
    )
    searched, fixed = config_space(space)
    assert fixed == {"one": 3, "scale": 2}
    assert (searched["lr"].lower, searched["lr"].upper, searched["lr"].log) == (1e-5, 1e-2, True)
    assert (searched["dropout"].lower, searched["dropout"].log) == (0.0, False)
    assert (searched["layers"].lower, searched["layers"].upper, searched["layers"].log) == (
        2,
        4,
        False,
    )
    assert searched["width"].log
    assert list(searched["size"].sequence) == [2, 4, 6, 8]
    assert list(searched["flip"].choices) == [True, False]
    assert list(searched["filters"].choices) == [16, 32]
    searched.seed(0)
    for config in searched.sample_configuration(50):
        assert set(config) == {"lr", "dropout", "layers", "width", "size", "flip", "filters"}
        assert config["size"] in (2, 4, 6, 8) and 2 <= config["layers"] <= 4


def test_live_runs_are_checked_against_the_replay_spread(
    table_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live best inside the replayed seeds' range counts as inside, one above the table's best
    as outside; the ratio line stays last; a malformed live file is one line and exit 2."""
    from bench.replay import main

    table = read_table(table_path, "superres")
    live = tmp_path / "live.csv"
    live.write_text(f"method,seed,best\nc,0,{table.best}\nc,1,{table.best + 5}\n")
    argv = ["--task", "superres", "--table", str(table_path), "--seeds", "4", "--samples", "4"]
    argv += ["--methods", "a,c", "--out", str(tmp_path / "r.csv"), "--live", str(live)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    check = [line for line in lines if line.startswith("live check c: ")]
    assert len(check) == 1 and check[0].endswith("1/2 inside"), check
    assert lines[-1].startswith("median epochs_to_mark ratios")
    live.write_text("method,seed,best\nc,0,not-a-number\n")
    result = subprocess.run(
        [sys.executable, "-m", "bench.replay", *argv],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--live" in result.stderr and "line 2" in result.stderr


def test_a_benchmark_replays_every_preset_at_quick_size_and_writes_regrets(
    tmp_path: Path,
) -> None:
    from bench.benchmarks import COLUMNS as REGRET_COLUMNS
    from bench.benchmarks import METHODS as PRESETS
    from bench.policies import dehb_available

    out = tmp_path / "replay-mfh3_good.csv"
    result = subprocess.run(
        [sys.executable, "-m", "bench.replay", "--benchmark", "mfh3_good", "--quick"]
        + ["--out", str(out)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == REGRET_COLUMNS
        rows = list(reader)
    methods = {m for m in PRESETS if m != "dehb" or dehb_available()}
    budgets = {"9", "14", "18", "27"}  # 1/3, 1/2, 2/3 and all of 3 x 9 epochs
    assert {(r["method"], r["seed"], r["budget"]) for r in rows} == {
        (m, s, b) for m in methods for s in "01" for b in budgets
    }
    for row in rows:  # the 3-d Hartmann's values lie in [-3.86, 0] at full fidelity
        assert 0 <= float(row["regret"]) <= 3.87, row
    assert {r["regret"] for r in rows if r["method"] == "random"} != {  # methods differ
        r["regret"] for r in rows if r["method"] == "default"
    }
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "default: lowest median regret at every budget" in result.stdout


def test_the_incumbent_is_the_best_at_the_highest_epoch_reached() -> None:
    trace = Trace("x", 0)
    # (value, epoch, truth): a lucky epoch-1 score, then a trial reaching epoch 2 with less
    for value, epoch, truth in [(0.5, 1, 0.1), (0.9, 1, 0.2), (0.3, 2, 0.6), (0.4, 2, 0.7)]:
        trace.values.append(value)
        trace.epochs.append(epoch)
        trace.truths.append(truth)
    assert trace.incumbent_truth(6).tolist() == [0.1, 0.2, 0.6, 0.7, 0.7, 0.7]

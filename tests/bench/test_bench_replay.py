"""bench.replay drives the real searchers (bench.presets, bench.policies) against a recorded
table through bench.engine and scores them sensibly; methods are named presets."""

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

from bench.engine import Oracle, Policy, Table, Trace, read_table, replay
from bench.policies import config_space
from bench.presets import TASK_METHODS, Setting, make_policy
from bench.record import draw_configs, space_of
from bench.replay import COLUMNS
from lens_search.spaces import ChoiceParam, FixedParam, FloatParam, IntParam, SearchSpace

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 4


def policy_of(method: str, table: Table, seed: int, workers: int = 2) -> Policy:
    """Preset ``method`` for one replay of ``table`` (9 samples, no scratch files needed)."""
    setting = Setting(table.space, table.metric, table.max_epochs, seed, 9, workers, "unused")
    return make_policy(method, setting)


def run_replay_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """``python -m bench.replay ARGV`` from the repository, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "bench.replay", *argv],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=600,
    )


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
    result = run_replay_cli(
        "--task", "superres", "--quick", "--table", str(table_path), "--out", str(out)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        rows = list(reader)
    assert {(r["method"], r["seed"]) for r in rows} == {(m, s) for m in TASK_METHODS for s in "01"}
    table = read_table(table_path, "superres")
    budget = 3 * EPOCHS
    for row in rows:
        assert int(row["budget"]) == budget
        assert table.values.min() <= float(row["best_at_budget"]) <= table.best, row
        if row["epochs_to_mark"]:
            assert 1 <= int(row["epochs_to_mark"]) <= budget
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "Spearman" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("median epochs_to_mark ratios: default/random"), last
    assert "default/hyperband" in last


def test_asha_spends_the_budget_of_full_random_search_on_more_configurations(
    table_path: Path,
) -> None:
    table = read_table(table_path, "superres")
    oracle = Oracle(table, "nearest", trees=10)
    budget = 4 * EPOCHS
    traces = {}
    for method in ("random", "default"):
        oracle.reseed(0)
        traces[method] = replay(policy_of(method, table, 0), oracle, budget, Trace(method, 0))
    recorded = set(table.values.ravel().tolist())
    for trace in traces.values():
        assert len(trace.values) == budget  # every method spends exactly the budget
        assert set(trace.values) <= recorded  # the nearest surrogate answers recorded curves
    assert traces["random"].configs == 4 + 1  # 4 full trials; a 5th started as the budget ran out
    assert traces["default"].configs > traces["random"].configs  # ASHA stopped some after a rung
    assert traces["default"].best_so_far(budget)[-1] == max(traces["default"].values)


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
        policy = _Recording(policy_of("bohb", table, seed))
        trace = replay(policy, oracle, budget, Trace("bohb", seed))
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
    live.write_text(f"method,seed,best\nrandom,0,{table.best}\nrandom,1,{table.best + 5}\n")
    argv = ["--task", "superres", "--table", str(table_path), "--seeds", "4", "--samples", "4"]
    argv += ["--methods", "default,random", "--out", str(tmp_path / "r.csv"), "--live", str(live)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    check = [line for line in lines if line.startswith("live check random: ")]
    assert len(check) == 1 and check[0].endswith("1/2 inside"), check
    assert lines[-1].startswith("median epochs_to_mark ratios")
    for bad, says in [("random,0,not-a-number", "line 2"), ("c,0,30.0", "'c' is not a preset")]:
        live.write_text(f"method,seed,best\n{bad}\n")
        result = run_replay_cli(*argv)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
        assert "--live" in result.stderr and says in result.stderr, result.stderr


def test_a_benchmark_replays_every_preset_at_quick_size_and_writes_regrets(
    tmp_path: Path,
) -> None:
    from bench.benchmarks import COLUMNS as REGRET_COLUMNS
    from bench.presets import BENCHMARK_METHODS, installed

    out = tmp_path / "replay-mfh3_good.csv"
    result = run_replay_cli("--benchmark", "mfh3_good", "--quick", "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == REGRET_COLUMNS
        rows = list(reader)
    methods = set(installed(BENCHMARK_METHODS))
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


def test_methods_are_named_presets_and_a_letter_or_unknown_name_is_one_line_and_exit_2(
    table_path: Path,
) -> None:
    """Both modes take the presets' names; the letters are refused with the preset that runs
    the same code, an unknown name with the names to choose from, before anything runs."""
    from bench.presets import BENCHMARK_METHODS, LETTERS, PRESETS, TASK_METHODS

    assert set(TASK_METHODS) <= set(PRESETS) and set(BENCHMARK_METHODS) <= set(PRESETS)
    assert not set(PRESETS) & set(LETTERS) and set(LETTERS.values()) <= set(PRESETS)
    assert all(len(name) > 2 and name[0].isalpha() for name in PRESETS)  # words, not letters
    task = ["--task", "superres", "--table", str(table_path), "--quick"]
    for argv, says in [
        ([*task, "--methods", "default,a"], "method 'a' is now 'default'"),
        ([*task, "--methods", "a-def"], "method 'a-def' is now 'tpe-asha+defaults'"),
        ([*task, "--methods", "tpe-ashaa"], "unknown method 'tpe-ashaa'; presets: default,"),
        (["--benchmark", "mfh3_good", "--methods", "f'"], "method \"f'\" is now 'optuna-sha'"),
    ]:
        result = run_replay_cli(*argv)
        assert result.returncode == 2, (argv, result.stderr[-2000:])
        assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
        assert says in result.stderr, result.stderr


def test_a_paused_and_resumed_trial_keeps_its_curve_and_counts_once() -> None:
    """The engine's loop with a scripted policy: a trial paused after epoch 1 and started again
    at epoch 2 spends each epoch once, in clock order, and counts as one configuration."""

    class Scripted:
        workers = 2

        def __init__(self) -> None:
            self.plan = [("p", 1, 3), ("q", 1, 2), ("p", 2, 3)]

        def start(self) -> tuple[str, dict[str, Any], int, int] | None:
            if not self.plan:
                return None
            trial_id, first, last = self.plan.pop(0)
            return trial_id, {"x": trial_id}, first, last

        def report(self, trial_id: str, epoch: int, value: float) -> bool:
            return not (trial_id == "p" and epoch == 1)  # p pauses after its first epoch

    class Curves:
        def __init__(self) -> None:
            self.asked: list[str] = []

        def curve(self, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
            self.asked.append(config["x"])
            offset = 10.0 if config["x"] == "p" else 20.0
            return offset + np.arange(1.0, 4.0), np.array([1.0, 5.0, 1.0])

        def truth(self, config: dict[str, Any]) -> float:
            return 100.0 if config["x"] == "p" else 200.0

        def reseed(self, seed: int) -> None:
            pass

    curves = Curves()
    trace = replay(Scripted(), curves, budget=10, trace=Trace("scripted", 0))
    # clock: p1 at 1, q1 at 1 (started second), p2 at 1 + 5 = 6 (resumed at 1), q2 at 1 + 5 = 6
    assert list(zip(trace.values, trace.epochs, strict=True)) == [
        (11.0, 1),
        (21.0, 1),
        (12.0, 2),
        (22.0, 2),
        (13.0, 3),
    ]
    assert trace.truths == [100.0, 200.0, 100.0, 200.0, 100.0]
    assert trace.configs == 2 and curves.asked == ["p", "q"]


def test_the_engine_is_under_mypy_and_imports_no_search_library() -> None:
    """CI's plain ``python3 -m mypy`` checks bench.engine (strictly) with the policies and
    presets; the engine itself never imports Ray, Optuna, keras-tuner or the policies."""
    import ast
    import tomllib

    mypy = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    assert {"bench.engine", "bench.policies", "bench.presets"} <= set(mypy["modules"])
    strict = [o for o in mypy["overrides"] if "bench.engine" in o["module"]]
    assert strict and strict[0]["disallow_untyped_defs"] and strict[0]["disallow_any_generics"]
    tree = ast.parse((REPO / "bench" / "engine.py").read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"ray", "optuna", "keras_tuner", "hpbandster", "dehb"}, roots
    assert not {n for n in imported if n.startswith("bench.")} - {"bench.record"}, imported

"""bench.record draws its configurations space-filling and records real training resumably."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

from bench.record import draw_configs, space_of
from lens_search.spaces.params import ChoiceParam, FloatParam, IntParam

REPO = Path(__file__).resolve().parents[2]


def test_configurations_are_the_defaults_then_sobol_points_inside_the_space() -> None:
    space = space_of("superres")
    configs = draw_configs(space, 64)
    assert configs[0] == space.defaults()
    assert draw_configs(space, 64) == configs  # reproducible: a resumed recording finds its ids
    for config in configs[1:]:
        for name in space.searched():
            param, value = space[name], config[name]
            if isinstance(param, ChoiceParam):
                assert value in param.choices
            elif isinstance(param, IntParam | FloatParam):
                assert param.low <= value <= param.high
    rates = [math.log10(c["lr"]) for c in configs[1:]]
    # log-uniform and space-filling: each decade of 1e-5..1e-2 holds about a third of them
    for decade in (-5, -4, -3):
        assert 16 <= sum(decade <= r < decade + 1 for r in rates) <= 27
    assert {c["num_layers"] for c in configs[1:]} == {2, 3, 4}


def test_record_trains_the_defaults_and_skips_them_when_resumed(tmp_path: Path) -> None:
    out = tmp_path / "superres.csv"
    command = [sys.executable, "-m", "bench.record", "--task", "superres", "--quick"]
    command += ["--configs", "0", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    for _ in range(2):
        result = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["config_id"], r["epoch"]) for r in rows] == [("0", "1"), ("0", "2")]
    assert all(20 < float(r["val_psnr"]) < 60 and float(r["epoch_seconds"]) > 0 for r in rows)
    assert "trained 0 configurations" in result.stdout  # the second run found it recorded
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["metric"] == "val_psnr" and info["max_epochs"] == 2
    assert len(info["sessions"]) == 2 and info["sessions"][0]["machine"]


def test_a_shard_records_only_its_own_configurations(tmp_path: Path) -> None:
    """``--shard 2/2`` of the defaults and one Sobol point trains config 1 only."""
    out = tmp_path / "superres.csv"
    command = [sys.executable, "-m", "bench.record", "--task", "superres", "--quick"]
    command += ["--configs", "1", "--shard", "2/2", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as handle:
        assert {r["config_id"] for r in csv.DictReader(handle)} == {"1"}


def test_a_bad_shard_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for shard in ("3/2", "0/2", "a/b", "2"):
        command = [sys.executable, "-m", "bench.record", "--task", "superres", "--shard", shard]
        command += ["--out", str(tmp_path / "t.csv")]
        result = subprocess.run(
            command,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, shard
        assert "--shard" in result.stderr
    assert not list(tmp_path.iterdir())

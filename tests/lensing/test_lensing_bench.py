"""The simulator benchmark runs end to end at its smallest size and writes its CSVs."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_benchmark_writes_a_table_and_csv(tmp_path: Path) -> None:
    out = tmp_path / "simulate.csv"
    result = subprocess.run(
        [sys.executable, "-m", "bench.simulate", "--quick", "--out", str(out)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "images_per_s" in result.stdout
    rows = list(csv.DictReader(open(out)))
    assert {r["task"] for r in rows} == {"classify", "superres"}
    assert {int(r["workers"]) for r in rows} == {1, os.cpu_count() or 1}
    assert all(float(r["images_per_s"]) > 0 and r["same_bytes"] == "True" for r in rows)
    classes = list(csv.DictReader(open(tmp_path / "simulate_classes.csv")))
    assert [r["class"] for r in classes] == ["no", "sphere", "vort"]
    assert all(r["same_bytes"] == "True" and float(r["fast_per_s"]) > 0 for r in classes)

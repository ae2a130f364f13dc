"""bench.grow replays grown and warm-started searches with the project's own searcher."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from bench.grow import METHODS

REPO = Path(__file__).resolve().parents[2]


def test_quick_grow_replay_runs_every_method_and_a_grown_search_matches_one_search(
    tmp_path: Path,
) -> None:
    out = tmp_path / "grow.csv"
    done = subprocess.run(
        [sys.executable, "-m", "bench.grow", "--task", "superres", "--quick", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["method"] for r in rows} == set(METHODS)
    configs = {r["method"]: int(r["configs"]) for r in rows}
    assert configs["one"] == configs["grown"] == 2 * configs["cold"] == 12
    assert configs["warm-best"] == configs["warm-told"] == 6  # the earlier search not counted
    # Saved and restored as Tune does, the grown searcher samples what one search would.
    best = {(r["method"], r["seed"]): r["best"] for r in rows}
    assert all(best["grown", seed] == best["one", seed] for seed in ("0", "1"))

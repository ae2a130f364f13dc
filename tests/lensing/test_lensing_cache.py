"""The default-data cache simulates once, reuses afterwards, and survives two processes at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lens_search.data.cache import default_dataset
from lens_search.errors import LensSearchError

REPO = Path(__file__).resolve().parents[2]


def test_first_use_simulates_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENS_SEARCH_CACHE", str(tmp_path))
    first = default_dataset("classify", per_class=2, size=16, progress=False)
    assert first.parent == tmp_path and first.name.startswith("classify-")
    stamp = (first / "manifest.json").stat().st_mtime_ns
    again = default_dataset("classify", per_class=2, size=16, workers=1, progress=False)
    assert again == first and (first / "manifest.json").stat().st_mtime_ns == stamp
    other = default_dataset("classify", per_class=2, size=24, progress=False)
    assert other != first
    assert json.loads((other / "manifest.json").read_text())["request"]["size"] == 24
    with pytest.raises(LensSearchError, match="unknown task"):
        default_dataset("segment")


def test_two_processes_share_one_data_set(tmp_path: Path) -> None:
    code = (
        "from lensing.cli import configure_logging; configure_logging(); "  # as a CLI does
        "from lensing.cache import default_dataset; "
        "print(default_dataset('superres', pairs=3, progress=False))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "LENS_SEARCH_CACHE": str(tmp_path)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]
    assert sum("reusing" in err for _, err in outputs) == 1  # the other waited, then reused
    folders = [p for p in tmp_path.iterdir() if not p.name.endswith(".lock")]
    assert len(folders) == 1 and len(list((folders[0] / "HR").glob("*.npy"))) == 3

"""No test image reaches a trial: a search on data whose test/ fails loudly when read succeeds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lens_search.cli import run_cli
from lens_search.data.load import load_classification_test
from lens_search.errors import LensSearchError
from lens_search.experiments.tasks import CLASSIFY
from lens_search.search.config import SearchConfig
from lens_search.search.run import run_search


def test_search_never_reads_the_test_split(
    tiny_classify_dir: Path, tmp_path: Path, local_ray: None, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "poisoned"
    shutil.copytree(tiny_classify_dir, data)
    poisoned = sorted(data.glob("test/*/*.npy"))
    assert len(poisoned) == 12  # 4 per class in the tiny set's test/
    for path in poisoned:  # a valid .npy that every reader of lens images refuses
        np.save(path, np.full((1, 32, 32), np.nan, np.float32))
    with pytest.raises(LensSearchError, match="test/no/no_000012.npy"):
        load_classification_test(data)  # reading test/ would have failed the search

    config = SearchConfig(
        samples=1, max_epochs=1, data=str(data), image_size=16, backbone="small_cnn",
        storage=str(tmp_path / "runs"), name="clean",
    )  # fmt: skip
    table = run_search(CLASSIFY, config)
    assert len(table) == 1 and table["status"][0] == "completed"
    assert 0.0 <= table["best_val_auc"][0] <= 1.0
    capsys.readouterr()

    # The retrain is what reads test/: it refuses it in one line, before it trains or writes.
    from lens_search.results.retrain import main as retrain

    out = tmp_path / "retrained"
    with pytest.raises(SystemExit) as exit_info:
        run_cli(retrain, [str(tmp_path / "runs" / "clean"), "--out", str(out)], prog="retrain")
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1, err
    assert "test/no/no_000012.npy" in err and not out.exists()

"""The study journal across a driver's death: Tune restores the searcher, the study continues.

Drives the searcher the way Tune does (suggest, results, save, a new driver's restore) without
the minutes a real search takes; ``test_search_resume`` checks the same on a killed search.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lens_search.experiments.study import JOURNAL_FILE, load_study
from lens_search.experiments.tasks import TASKS
from lens_search.search.searcher import PruneAwareOptunaSearch

SPACE = TASKS["superres"].space


def searcher(journal: Path, mirror: str | None = None) -> PruneAwareOptunaSearch:
    return PruneAwareOptunaSearch(
        space=SPACE.define_by_run, metric="val_psnr", mode="max", seed=0, max_epochs=2,
        journal=str(journal), study_name="exp", mirror=mirror,
    )  # fmt: skip


def result(value: float, epoch: int) -> dict[str, float]:
    return {"val_psnr": value, "training_iteration": epoch, "epoch": epoch}


@pytest.mark.parametrize("remote", [False, True], ids=["local", "remote"])
def test_restored_searcher_continues_the_same_study(tmp_path: Path, remote: bool) -> None:
    experiment = tmp_path / "exp"  # where Tune keeps (local) or uploads (remote) its state
    experiment.mkdir()
    journal = (tmp_path / "driver" if remote else experiment) / JOURNAL_FILE
    mirror = experiment.as_uri() if remote else None
    first = searcher(journal, mirror)
    first.suggest("t1")
    first.on_trial_result("t1", result(20.0, 1))
    first.save(str(experiment / "searcher-state.pkl"))
    first.suggest("t2")  # sampled after Tune's last save: Tune will not know it

    if remote:  # a resume on another machine: only the bucket's copy is left
        journal.unlink()
    second = searcher(journal, mirror)
    second.restore(str(experiment / "searcher-state.pkl"))
    second.on_trial_complete("t1", result(21.0, 2))
    second.suggest("t3")
    second.on_trial_complete("t3", result(19.0, 1))

    study = load_study(journal if remote else experiment)
    assert study.study_name == "exp"
    # Locally the trial Tune lost stays in the study, marked FAIL; the bucket's copy was saved
    # before it was sampled, so a resume elsewhere never sees it.
    expected = ["COMPLETE", "PRUNED"] if remote else ["COMPLETE", "FAIL", "PRUNED"]
    assert [t.state.name for t in study.trials] == expected
    assert study.trials[0].intermediate_values == {1: 20.0, 2: 21.0}
    assert study.trials[0].value == 21.0
    assert study.trials[-1].intermediate_values == {1: 19.0}
    assert len({t.number for t in study.trials}) == len(study.trials)

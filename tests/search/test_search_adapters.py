"""What the search relies on in Ray's and Optuna's internals, pinned on real objects.

``search.optuna_adapter`` and ``search.ray_adapter`` are the only modules that touch private
attributes of Ray or Optuna; these tests fail first when an upgrade changes what they mean. Also
``PruneAwareOptunaSearch``, the project's one change to the search algorithm, driven as Tune
drives it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import ray
from optuna.trial import TrialState
from ray.tune import Experiment
from ray.tune.search import Searcher, SearchGenerator

from lens_search.experiments.study import journal_storage
from lens_search.search.optuna_adapter import (
    asked_trial,
    reattach_study,
    searcher_study,
    tell_pruned,
    unknown_running_trials,
    was_told,
)
from lens_search.search.ray_adapter import local_cluster_address, worker_output_to
from lens_search.search.rayauth import ACCEPTED, REFUSED, ask_gcs
from lens_search.search.searcher import JournalOptunaSearch, PruneAwareOptunaSearch
from lens_search.search.tune_state_adapter import grow_samples, saved_samples
from lens_search.spaces import SUPERRES_SPACE
from tests.harness.localcluster import ray_auth_env

MAX_EPOCHS = 3


def make_searcher(kind: type[JournalOptunaSearch], journal: Path, **kwargs: Any) -> Any:
    return kind(
        space=SUPERRES_SPACE.define_by_run, metric="val_psnr", mode="max", seed=0,
        journal=str(journal), study_name="exp", **kwargs,
    )  # fmt: skip


def result(value: float, epoch: int) -> dict[str, float]:
    """A trial's result as Tune hands it to the searcher."""
    return {"val_psnr": value, "epoch": epoch, "training_iteration": epoch}


def test_prune_aware_search_tells_stopped_trials_as_pruned(tmp_path: Path) -> None:
    searcher = make_searcher(PruneAwareOptunaSearch, tmp_path / "j.log", max_epochs=MAX_EPOCHS)
    for trial_id in ("stopped", "finished", "errored", "stopped_no_score"):
        searcher.suggest(trial_id)
    searcher.on_trial_result("stopped", result(30.0, 1))
    searcher.on_trial_complete("stopped", result(31.0, 2))  # ASHA stopped it at epoch 2 of 3
    searcher.on_trial_complete("stopped", result(99.0, 3))  # a late completion is ignored
    for epoch in range(1, MAX_EPOCHS):
        searcher.on_trial_result("finished", result(10.0 + epoch, epoch))
    searcher.on_trial_complete("finished", result(20.0, MAX_EPOCHS))
    searcher.on_trial_result("errored", result(25.0, 1))
    searcher.on_trial_complete("errored", error=True)  # as Tune tells an errored trial
    searcher.on_trial_complete("stopped_no_score")  # ended with no result (Tune's stop)

    study = optuna.load_study(study_name="exp", storage=journal_storage(tmp_path / "j.log"))
    stopped, finished, errored, no_score = study.trials
    # Optuna keeps a pruned trial's last score as its value; TPE orders stopped trials by it
    # after how far they got. The last epoch (Tune hands it to on_trial_complete only) counts.
    assert stopped.state == TrialState.PRUNED and stopped.value == 31.0
    assert stopped.intermediate_values == {1: 30.0, 2: 31.0}
    assert finished.state == TrialState.COMPLETE and finished.value == 20.0
    assert finished.intermediate_values == {1: 11.0, 2: 12.0, 3: 20.0}
    assert errored.state == TrialState.FAIL
    assert no_score.state == TrialState.PRUNED
    # A truncated score never counts as final: the best trial is the one that finished.
    assert study.best_trial.number == finished.number
    assert all(was_told(searcher, t) for t in ("stopped", "finished", "errored"))


def test_without_pruning_a_stopped_trial_counts_its_truncated_score(tmp_path: Path) -> None:
    """``--stopped-trials complete``: Ray's own rule, which ``PruneAwareOptunaSearch`` changes."""
    searcher = make_searcher(JournalOptunaSearch, tmp_path / "j.log")
    searcher.suggest("stopped")
    searcher.on_trial_complete("stopped", result(31.0, 1))
    (trial,) = searcher_study(searcher).trials
    assert trial.state == TrialState.COMPLETE and trial.value == 31.0
    assert trial.intermediate_values == {1: 31.0}


def test_optuna_search_internals_the_searcher_extends(tmp_path: Path) -> None:
    searcher = make_searcher(JournalOptunaSearch, tmp_path / "a.log")
    study = searcher_study(searcher)
    assert isinstance(study, optuna.Study) and study.study_name == "exp"
    config = searcher.suggest("t1")
    searcher.suggest("t2")
    trial = asked_trial(searcher, "t1")
    assert isinstance(trial, optuna.Trial) and trial.params.items() <= config.items()
    assert asked_trial(searcher, "nobody") is None
    assert not was_told(searcher, "t1") and unknown_running_trials(searcher) == []

    tell_pruned(searcher, "t1")
    assert was_told(searcher, "t1")
    assert [t.state for t in study.trials] == [TrialState.PRUNED, TrialState.RUNNING]

    # Reattached to another storage holding the same study, the asked trials write there.
    other = tmp_path / "b.log"
    other.write_bytes((tmp_path / "a.log").read_bytes())
    reattach_study(searcher, journal_storage(other))
    searcher_study(searcher).ask()  # a trial no Tune trial was asked for
    searcher.on_trial_complete("t2", result(12.0, MAX_EPOCHS))
    moved = optuna.load_study(study_name="exp", storage=journal_storage(other))
    assert [t.state for t in moved.trials] == [
        TrialState.PRUNED, TrialState.COMPLETE, TrialState.RUNNING,
    ]  # fmt: skip
    assert [t.number for t in unknown_running_trials(searcher)] == [2]
    untouched = optuna.load_study(study_name="exp", storage=journal_storage(tmp_path / "a.log"))
    assert [t.state for t in untouched.trials] == [TrialState.PRUNED, TrialState.RUNNING]


def test_refresh_makes_an_imported_ray_read_its_auth_variables_again(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("0123456789abcdef0123456789abcdef")
    code = (
        "import os, ray\n"
        "from ray._raylet import AuthenticationTokenLoader as Loader\n"
        "from search.ray_adapter import refresh_ray_auth\n"
        f"os.environ.update(RAY_AUTH_MODE='token', RAY_AUTH_TOKEN_PATH={str(token)!r})\n"
        "print(Loader.instance().has_token())\n"
        "refresh_ray_auth()\n"
        "print(Loader.instance().has_token(), Loader.instance().get_raw_token())\n"
        "os.environ['RAY_AUTH_MODE'] = 'disabled'\n"
        "refresh_ray_auth()\n"
        "print(Loader.instance().has_token())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH_")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token to find
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True", token.read_text(), "False"]


@pytest.fixture(scope="module")
def token_ray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real local Ray that wants a token, forwarding worker output; yields the driver's auth."""
    token = tmp_path_factory.mktemp("auth") / "token"
    token.write_text("fedcba9876543210fedcba9876543210")
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    with ray_auth_env(auth):
        ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=True)
        try:
            yield auth
        finally:
            ray.shutdown()


def test_gcs_probe_tells_which_drivers_a_cluster_accepts(
    token_ray: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gcs = ray.get_runtime_context().gcs_address
    wrong = tmp_path / "wrong"
    wrong.write_text("00000000000000000000000000000000")
    assert ask_gcs(gcs, token_ray) == ACCEPTED
    assert ask_gcs(gcs, {"RAY_AUTH_MODE": "disabled"}) == REFUSED
    assert ask_gcs(gcs, {**token_ray, "RAY_AUTH_TOKEN_PATH": str(wrong)}) == REFUSED
    monkeypatch.setenv("RAY_ADDRESS", gcs)
    assert local_cluster_address() == gcs


def test_worker_output_reaches_the_handler_and_ray_printer_is_put_back(
    token_ray: dict[str, str],
) -> None:
    from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher

    @ray.remote
    def shout() -> None:
        print("adapter-pinned-line", flush=True)

    before = [name for name, _ in dispatcher.handlers]
    received: list[dict[str, Any]] = []
    with worker_output_to("pin", received.append, replacing="ray_print_logs"):
        assert [name for name, _ in dispatcher.handlers] == ["pin"]
        ray.get(shout.remote())
        deadline = time.monotonic() + 30
        while not any("adapter-pinned-line" in r.get("lines", []) for r in received):
            assert time.monotonic() < deadline, received
            time.sleep(0.1)
    assert [name for name, _ in dispatcher.handlers] == before
    record = next(r for r in received if "adapter-pinned-line" in r.get("lines", []))
    assert {"pid", "ip", "task_name"} <= set(record)


class _CountingSearcher(Searcher):
    """The least a Tune searcher is: a config per trial, a state to save."""

    def __init__(self) -> None:
        super().__init__(metric="loss", mode="min")
        self.asked = 0

    def suggest(self, trial_id: str) -> dict[str, Any]:
        self.asked += 1
        return {"x": self.asked}

    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text(str(self.asked))

    def restore(self, checkpoint_path: str) -> None:
        self.asked = int(Path(checkpoint_path).read_text())


def test_grown_sample_count_is_what_a_restored_search_generator_reads(tmp_path: Path) -> None:
    """``tune_state_adapter`` edits the newest ``search_gen_state-*.json``; Tune reads that one."""
    generator = SearchGenerator(_CountingSearcher())
    generator.add_configurations(Experiment("grow", run=lambda config: None, num_samples=2))
    while generator.next_trial() is not None:
        pass
    assert generator.is_finished()
    generator.save_to_dir(str(tmp_path), "2026-01-01_00-00-00")
    generator.save_to_dir(str(tmp_path), "2026-01-02_00-00-00")  # a resumed session's, newer
    assert saved_samples(str(tmp_path)) == 2

    grow_samples(str(tmp_path), 5)
    restored = SearchGenerator(_CountingSearcher())
    restored.restore_from_dir(str(tmp_path))
    assert restored.total_samples == 5 and not restored.is_finished()
    made = [restored.next_trial() for _ in range(4)]
    assert [t is not None for t in made] == [True, True, True, False]  # three more, then done
    assert restored.searcher.asked == 5  # the searcher's own state came back and went on


class _Bomb:
    """Creates ``marker`` when unpickled: growing a search must never unpickle Tune's state."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (str(self.marker),)


def test_a_crafted_search_state_is_read_and_grown_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "it-ran"
    state = {
        "counter": 2,
        "total_samples": 2,
        "finished": True,
        "experiment": {"spec": {"num_samples": 2}, "payload": _Bomb(marker)},
    }
    path = tmp_path / "search_gen_state-2026-01-01_00-00-00.json"
    path.write_bytes(pickle.dumps(state, protocol=5))
    assert saved_samples(str(tmp_path)) == 2
    grow_samples(str(tmp_path), 300)
    assert not marker.exists()
    assert saved_samples(str(tmp_path)) == 300
    grown = pickle.loads(path.read_bytes())  # the test unpickles, to check every field
    assert marker.exists()  # (which is what the adapter never does)
    assert grown["total_samples"] == 300 and grown["finished"] is False
    assert grown["experiment"]["spec"]["num_samples"] == 300

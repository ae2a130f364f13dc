"""Watching a search: the study on disk, optuna-dashboard in a real browser, TensorBoard, and a
console that shows Tune's table and the summary only (everything else in the log file).

One real tiny search (a subprocess, as a user runs it) is shared by every test of the module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from lens_search.experiments.study import JOURNAL_FILE
from lens_search.search.console import LOG_FILE
from tests.harness.noisy import CUINIT_LINE, TALKING_LINE, fake_cuda_driver, talking_workers
from tests.harness.tables import read_exact_csv

REPO = Path(__file__).resolve().parents[2]
SAMPLES = 3
EPOCHS = 2
# Tiny SR models (lr and dropout searched) keep the search to seconds per trial.
TINY_SPACE = {
    "num_layers": 2, "filters_1": 8, "filters_2": 8, "kernel_size": 3, "batch_size": 8,
    "flip": False, "rot90": False,
}  # fmt: skip
TF_LOG_LINE = re.compile(
    r"[IWEF]\d{4} \d\d:\d\d|oneDNN|cuda|This TensorFlow binary is optimized|"
    r"graph generating binary is newer",
    re.IGNORECASE,
)
RAY_NOISE = re.compile(
    r"snapshot|Experiment state|Checkpoint successfully created|WARNING|\(raylet\)|pid=\d+"
)


@dataclass
class LiveSearch:
    """A search subprocess and where it writes."""

    proc: subprocess.Popen
    experiment: Path
    log: Path
    output: str = field(default="")

    def wait(self) -> str:
        """Wait for the search to end; its stdout and stderr together."""
        if self.proc.poll() is None or not self.output:
            self.proc.wait(timeout=600)
            self.output = self.log.read_text()
        assert self.proc.returncode == 0, self.output[-3000:]
        return self.output


def env(**extra: str) -> dict[str, str]:
    """The user's environment: nothing set to quieten TensorFlow or Ray beforehand."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TF_CPP", "RAY_AIR", "RAY_AUTH", "PYTHONWARNINGS"))
    }
    return {**base, "PYTHONPATH": str(REPO), **extra}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A machine whose libraries talk (``tests.harness.noisy``): a CUDA driver without a GPU
    (where a C compiler can build it) and Ray workers printing for as long as they live."""
    folder = tmp_path_factory.mktemp("noisy")
    extra = {"PYTHONPATH": f"{talking_workers(folder / 'site')}{os.pathsep}{REPO}"}
    driver = fake_cuda_driver(folder / "cuda")
    if driver is not None:
        extra["LD_LIBRARY_PATH"] = f"{driver}{os.pathsep}{os.environ.get('LD_LIBRARY_PATH', '')}"
    return extra


@pytest.fixture(scope="module")
def search(
    tiny_superres_dir: Path, noisy: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSearch]:
    """``python -m search.superres`` on tiny data, running in the background, on a noisy
    machine."""
    from tests.harness.localcluster import kill_sessions

    folder = tmp_path_factory.mktemp("live")
    space = folder / "space.json"
    space.write_text(json.dumps(TINY_SPACE))
    command = [
        sys.executable, "-m", "search.superres", "--data", str(tiny_superres_dir),
        "--samples", str(SAMPLES), "--max-epochs", str(EPOCHS), "--reduction-factor", "2",
        "--space", str(space), "--storage", str(folder / "runs"), "--name", "live", "--seed", "3",
    ]  # fmt: skip
    log = folder / "console.txt"
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, cwd=folder, env=env(**noisy), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    live = LiveSearch(proc, folder / "runs" / "live", log)
    try:
        yield live
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kill_sessions({proc.pid})


def wait_for(condition: object, what: str, every: float = 0.5, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def start_dashboard(experiment: Path) -> tuple[subprocess.Popen, str]:
    """``python -m results.dashboard EXPERIMENT``; returns it and the URL it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "results.dashboard", str(experiment)],
        cwd=REPO, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+/\S+", first)
    assert url, first + proc.stderr.read() if proc.poll() is not None else first
    return proc, url.group(0)


def browser() -> object:
    """Debian's Chromium, headless, through its chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1000")
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def page_text(driver: object, url: str, wanted: list[str], timeout: float = 180) -> str:
    """Load ``url`` and wait until the page shows every string of ``wanted``."""
    from selenium.webdriver.common.by import By

    driver.get(url)  # type: ignore[attr-defined]
    text = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = driver.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
        if all(w in text for w in wanted):
            return text
        time.sleep(1)
    raise AssertionError(f"the page never showed {wanted}; it shows:\n{text[:2000]}")


def test_dashboard_shows_the_study_during_and_after_the_search(
    search: LiveSearch, tmp_path: Path
) -> None:
    if not (shutil.which("chromedriver") and shutil.which("chromium")):
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    wait_for(lambda: (search.experiment / JOURNAL_FILE).is_file(), "the study journal", 0.05)
    # The search waits, stopped, until the dashboard has shown it: on a fast machine or a loaded
    # one it could otherwise end before the dashboard and the browser have started.
    os.kill(search.proc.pid, signal.SIGSTOP)
    dashboard, driver = None, None
    try:
        try:
            assert search.proc.poll() is None, "the search ended before the dashboard started"
            dashboard, url = start_dashboard(search.experiment)
            driver = browser()
            during = page_text(driver, url, ["live"])
        finally:
            os.kill(search.proc.pid, signal.SIGCONT)
        assert "Trials" in during
        output = search.wait()
        table = pd.read_csv(search.experiment / "leaderboard.csv")
        trials = [f"Trial {n}" for n in range(SAMPLES)]
        after = page_text(driver, f"{url}/trials", trials)
        assert f"{SAMPLES} Trials" in after
        assert ("Pruned" in after) == (table["status"] == "stopped early").any(), output[-2000:]
        driver.save_screenshot(str(tmp_path / "dashboard.png"))  # type: ignore[attr-defined]
        assert (tmp_path / "dashboard.png").stat().st_size > 10_000
        port = int(url.split(":")[2].split("/")[0])
        assert not _answers(_outside_address(), port), "the dashboard listens beyond loopback"
    finally:
        if driver is not None:
            driver.quit()  # type: ignore[attr-defined]
        err = ""
        if dashboard is not None:
            dashboard.send_signal(signal.SIGINT)  # Ctrl-C
            _, err = dashboard.communicate(timeout=60)
    assert dashboard is not None
    assert dashboard.returncode == 0, err
    assert "Traceback" not in err and "dashboard stopped" in err
    assert not [line for line in err.splitlines() if TF_LOG_LINE.search(line)], err


def _outside_address() -> str:
    """This machine's address on its network (not loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the interface
        return probe.getsockname()[0]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def test_console_shows_table_and_summary_only(search: LiveSearch) -> None:
    output = search.wait()
    noisy = [line for line in output.splitlines() if TF_LOG_LINE.search(line)]
    assert not noisy, noisy[:5]
    noisy = [line for line in output.splitlines() if RAY_NOISE.search(line)]
    assert not noisy, noisy[:5]
    assert "== Status ==" in output  # Ray Tune's live table
    log = search.experiment / LOG_FILE
    assert f"Log (Ray, Optuna, TensorFlow and trial output): {log}" in output
    hidden = log.read_text()
    assert "Checkpoint successfully created" in hidden  # what the trials printed is kept
    assert TF_LOG_LINE.search(hidden)
    # Workers print until Ray stops them, after the last trial: none of it reaches the console.
    assert TALKING_LINE in hidden and TALKING_LINE not in output


def test_every_command_on_the_experiment_shows_its_output_only(
    search: LiveSearch, noisy: dict[str, str], tiny_superres_dir: Path, tmp_path: Path
) -> None:
    """The Quick start's ``results.retrain`` printed TensorFlow's ``failed call to cuInit`` line
    on a machine with NVIDIA's driver libraries and no GPU (``noisy``); every command runs here in
    a fresh interpreter, as a user runs it: a results command writes nothing on stderr, the
    simulator its progress and summary there, and none a line of a library's log."""
    search.wait()
    experiment, data = str(search.experiment), str(tiny_superres_dir)
    commands = [
        ["results.leaderboard", experiment],
        ["results.retrain", experiment, "--out", str(tmp_path / "retrain")],
        ["results.predict", str(tmp_path / "retrain" / "model.keras"), f"{data}/LR",
         "--out", str(tmp_path / "predicted")],
        ["results.plots", experiment, "--out", str(tmp_path / "plots")],
        ["lensing.inspect", data],
        ["lensing.simulate", "superres", "--out", str(tmp_path / "simulated"), "--pairs", "2"],
    ]  # fmt: skip
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", *command], cwd=tmp_path, env=env(**noisy),
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, (command, result.stderr[-3000:])
        noise = [line for line in result.stderr.splitlines() if TF_LOG_LINE.search(line)]
        noise += [line for line in result.stderr.splitlines() if RAY_NOISE.search(line)]
        assert not noise, (command, noise[:5])
        assert result.stderr == "" or command[0].startswith("lensing"), (command, result.stderr)
    if "LD_LIBRARY_PATH" in noisy:  # the fake driver was built: TensorFlow did try it
        assert CUINIT_LINE in (search.experiment / LOG_FILE).read_text()


def test_live_table_shows_every_searched_parameter(search: LiveSearch) -> None:
    from lens_search.search.run import short_columns

    output = search.wait()
    header = next(line for line in output.splitlines() if line.startswith("| Trial name"))
    assert set(short_columns(["lr", "dropout", "translation"]).values()) == {
        "lr",
        "dropout",
        "translat",
    }
    for title in ("lr", "dropout", "translat"):
        assert f" {title} " in header, header


def test_study_on_disk_matches_the_search(search: LiveSearch) -> None:
    import optuna

    from lens_search.experiments.study import load_study

    search.wait()
    study = optuna.load_study(
        study_name="live",
        storage=optuna.storages.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(search.experiment / JOURNAL_FILE))
        ),
    )
    assert len(study.trials) == SAMPLES == len(load_study(search.experiment).trials)
    table = read_exact_csv(search.experiment / "leaderboard.csv").set_index("trial_id")
    by_lr = {row["config/lr"]: (trial_id, row) for trial_id, row in table.iterrows()}
    for trial in study.trials:
        trial_id, row = by_lr[trial.params["lr"]]
        assert trial.params["dropout"] == row["config/dropout"]
        expected = "PRUNED" if row["status"] == "stopped early" else "COMPLETE"
        assert trial.state.name == expected
        history = _history(search.experiment, trial_id)
        assert trial.intermediate_values == dict(
            zip(history["training_iteration"], history["val_psnr"], strict=True)
        )


def _history(experiment: Path, trial_id: str) -> pd.DataFrame:
    folder = next(p for p in experiment.iterdir() if p.is_dir() and trial_id in p.name)
    return pd.read_json(folder / "result.json", lines=True)


def test_tensorboard_reads_every_trial_per_epoch(search: LiveSearch) -> None:
    search.wait()
    table = pd.read_csv(search.experiment / "leaderboard.csv")
    for trial_id in table["trial_id"]:
        folder = next(p for p in search.experiment.iterdir() if p.is_dir() and trial_id in p.name)
        scalars, plugins = read_events(folder)
        history = _history(search.experiment, trial_id)
        for metric in ("val_psnr", "loss"):  # validation and training, every epoch
            steps = [step for step, _ in scalars[f"ray/tune/{metric}"]]
            values = [value for _, value in scalars[f"ray/tune/{metric}"]]
            assert steps == list(history["training_iteration"])
            assert values == pytest.approx(list(history[metric]), rel=1e-5)
        assert "hparams" in plugins  # the HParams tab's hyperparameters and final metrics


def read_events(folder: Path) -> tuple[dict[str, list[tuple[int, float]]], set[str]]:
    """Scalars by tag and the plugins named in a trial's TensorBoard event files.

    Reads the TFRecord framing (length, CRC, event, CRC) with tensorboardX's protobufs, as
    TensorBoard does, without importing TensorFlow.
    """
    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, list[tuple[int, float]]] = {}
    plugins: set[str] = set()
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            length = int.from_bytes(data[offset : offset + 8], "little")
            event = Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name:
                    plugins.add(value.metadata.plugin_data.plugin_name)
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars, plugins


def test_plots_use_optuna_figures_on_the_stored_study(search: LiveSearch, tmp_path: Path) -> None:
    from lens_search.results.plots import main

    search.wait()
    table = pd.read_csv(search.experiment / "leaderboard.csv")
    assert main([str(search.experiment), "--out", str(tmp_path / "plots")]) == 0
    files = {p.name for p in (tmp_path / "plots").iterdir()}
    assert {"importance.png", "top_trials.png", "learning_curves.png", "best_so_far.png"} <= files
    # Optuna's figures need two completed trials; with fewer the project's own are drawn.
    assert ("slice.png" in files) == ((table["status"] == "completed").sum() >= 2)

"""What trial workers print goes to the search log, however late it reaches the driver.

Ray forwards the workers' lines to the driver from a thread, up to seconds after they were
printed; a trial's last line ("Checkpoint successfully created") often arrives after
``Tuner.fit`` has returned. Checked in a fresh interpreter, with a real local Ray and a worker
that never stops printing, as a search's console sees it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

TALKING_WORKER = """
import sys, threading, time
from pathlib import Path
import ray
from ray._private.ray_logging import global_worker_stdstream_dispatcher as dispatcher
from lens_search.cli import NORMAL
from lens_search.search.cluster import connect
from lens_search.search.console import (
    library_logs_to_file, prints_worker_output, trial_output_to_file,
)

log = Path(sys.argv[1])
started = connect(None, print_worker_output=prints_worker_output(NORMAL))
with library_logs_to_file(log, NORMAL), trial_output_to_file(NORMAL, shutdown_ray=started):

    @ray.remote(num_cpus=0)
    class Talker:
        def start(self):
            def talk():
                for n in range(10**9):
                    print(f"talking worker {n}", file=sys.stderr, flush=True)
                    time.sleep(0.02)

            threading.Thread(target=talk, daemon=True).start()

    ray.get(Talker.remote().start.remote())
    deadline = time.monotonic() + 120
    while "talking worker" not in log.read_text():  # forwarding works: lines reach the log
        assert time.monotonic() < deadline, "no worker line reached the log"
        time.sleep(0.05)
print("after:", ray.is_initialized(), [name for name, _ in dispatcher.handlers], flush=True)
"""


def test_worker_lines_go_to_the_log_until_ray_stops_and_never_to_the_console(
    tmp_path: Path,
) -> None:
    log = tmp_path / "search.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_AUTH", "TF_CPP"))}
    result = subprocess.run(
        [sys.executable, "-c", TALKING_WORKER, str(log)],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert "talking worker" not in console, console[-3000:]
    assert "talking worker" in log.read_text()
    # Ray is down when the block ends, and its printer is not put back on a disconnected Ray.
    assert result.stdout.splitlines()[-1] == "after: False []", console[-3000:]

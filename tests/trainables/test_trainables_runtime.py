"""Backend set-up: threads per trial and opt-in op determinism, each checked in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lens_search.experiments.tasks import CLASSIFY, SUPERRES
from lens_search.search.config import SearchConfig
from lens_search.search.run import _fixed_training_args

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import json
from tensorflow.python.framework import config as tf_config
import tensorflow as tf
from lens_search.training.runtime import prepare_backend, set_threads
first = set_threads(1)
prepare_backend(0)
tf.constant(1.0) + 1.0
print(json.dumps({
    "set": first,
    "intra": tf.config.threading.get_intra_op_parallelism_threads(),
    "inter": tf.config.threading.get_inter_op_parallelism_threads(),
    "again_same": set_threads(1),
    "too_late": set_threads(2),
    "deterministic": tf_config.is_op_determinism_enabled(),
}))
"""


def probe(**env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_threads_are_set_before_the_runtime_starts_and_determinism_is_opt_in() -> None:
    plain = probe(LENS_SEARCH_DETERMINISTIC="0")
    assert plain == {
        "set": True,
        "intra": 1,
        "inter": 1,
        "again_same": True,
        "too_late": False,
        "deterministic": False,
    }
    assert probe(LENS_SEARCH_DETERMINISTIC="1")["deterministic"] is True


def test_each_trial_gets_as_many_threads_as_its_cpus() -> None:
    for cpus, threads in ((1.0, 1), (1.5, 2), (0.5, 1), (4.0, 4)):
        for task in (CLASSIFY, SUPERRES):
            fixed = _fixed_training_args(task, SearchConfig(cpus_per_trial=cpus))
            assert fixed["threads"] == threads

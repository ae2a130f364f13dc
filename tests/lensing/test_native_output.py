"""A command's console shows no log line of a C++ library below --verbose, however late it comes.

Each case runs a fresh interpreter on its own command line, as a user runs a command:
``lensing.cli.run_cli`` with no ``argv``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.noisy import CUINIT_LINE, fake_cuda_driver

REPO = Path(__file__).resolve().parents[2]

NATIVE_WRITES = r"""
import os, sys
from lens_search.cli import OneLineParser, run_cli

def main(argv):
    OneLineParser(prog="native").parse_args(argv)
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written "
                b"to STDERR\nI0000 00:00:1796457083.139754    5899 cudart_stub.cc:31] Could not "
                b"find cuda drivers on your machine, GPU will not be used.\n")
    os.write(2, b"I0000 00:00:1796457084.258187    5899 cpu_feature_guard.cc:227] This "
                b"TensorFlow binary is optimized to use available CPU instructions in "
                b"performance-critical operations.\nTo enable the following instructions: AVX2 "
                b"FMA, in other operations, rebuild TensorFlow with the appropriate compiler "
                b"flags.\n")
    os.write(2, b"E0000 00:00:1796457095.917521    5899 cuda_platform.cc:52] failed call to "
                b"cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
    os.write(2, b"[2026-12-05 08:10:00,123 W 1234 5678] core_worker.cc:42: a Ray core line\n")
    os.write(2, b"F0000 00:00:1796457095.917521    5899 check.cc:1] a fatal native line\n")
    os.write(2, b"native text of another kind\n")
    os.write(2, b"\r 50%|#####     | 1/2")  # a progress bar's line, never ended
    print("python's own stderr", file=sys.stderr)
    print("stdout line")
    return 0

run_cli(main, prog="native")
"""
KEPT = ["F0000", "a fatal native line", "native text of another kind", "50%|#####", "python's own"]
DROPPED = ["absl::InitializeLog", "cudart_stub", "cpu_feature_guard", "To enable the following",
           CUINIT_LINE, "a Ray core line"]  # fmt: skip

TENSORFLOW_FIRST_USE = """
from lens_search.cli import OneLineParser, run_cli

def main(argv):
    OneLineParser(prog="tf").parse_args(argv)
    import tensorflow as tf

    print(float(tf.constant(1.0) + 1.0))  # TensorFlow lists its devices: cuInit
    return 0

run_cli(main, prog="tf")
"""


def run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -c script args`` as a user's shell runs it: nothing set to quieten TensorFlow."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO, env={**base, "PYTHONPATH": str(REPO), **env},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("flag", [[], ["--quiet"]])
def test_native_log_lines_stay_off_the_console_and_the_rest_is_shown(flag: list[str]) -> None:
    result = run(NATIVE_WRITES, *flag)
    assert result.returncode == 0, result.stderr
    for kept in KEPT:
        assert kept in result.stderr, result.stderr
    for dropped in DROPPED:
        assert dropped not in result.stderr, result.stderr
    assert result.stdout == "stdout line\n"


def test_verbose_shows_every_native_line() -> None:
    result = run(NATIVE_WRITES, "--verbose")
    assert result.returncode == 0, result.stderr
    for line in KEPT + DROPPED:
        assert line in result.stderr, result.stderr


def test_tensorflow_cuda_probe_after_import_stays_off_the_console(tmp_path: Path) -> None:
    """The Quick start's ``results.retrain`` printed TensorFlow's ``failed call to cuInit`` line
    (a machine with NVIDIA's driver libraries and no GPU): TensorFlow writes it when it first
    lists its devices, after import, from C++."""
    driver = fake_cuda_driver(tmp_path / "cuda")
    if driver is None:
        pytest.skip("needs a C compiler (cc) to build the failing libcuda.so.1")
    cuda = {"LD_LIBRARY_PATH": f"{driver}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
    verbose = run(TENSORFLOW_FIRST_USE, "--verbose", **cuda)
    assert verbose.returncode == 0, verbose.stderr
    assert CUINIT_LINE in verbose.stderr  # the fake driver does make TensorFlow say it
    quiet = run(TENSORFLOW_FIRST_USE, **cuda)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout == "2.0\n", quiet.stderr

"""A machine whose libraries talk on stderr, for the tests of a quiet console.

- ``fake_cuda_driver``: a ``libcuda.so.1`` whose ``cuInit`` fails with error 303, as on a machine
  with NVIDIA's driver libraries and no GPU. With it on ``LD_LIBRARY_PATH``, TensorFlow writes
  ``E0000 ... cuda_platform.cc:52] failed call to cuInit: ... UNKNOWN ERROR (303)`` on file
  descriptor 2 when it first lists its devices, after import.
- ``talking_workers``: a ``sitecustomize`` that makes every Ray worker process print a line every
  half second for as long as it lives, so lines reach the driver after any trial has ended.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FAILING_CUINIT = """
int cuInit(unsigned int flags) { return 303; }
int cuDriverGetVersion(int *version) { *version = 12040; return 0; }
"""
CUINIT_LINE = "failed call to cuInit"
TALKING_LINE = "a Ray worker still talking"
TALKING_WORKERS = f"""
import sys, threading, time

if sys.argv and sys.argv[0].endswith("default_worker.py"):
    def _talk():
        while True:
            print("{TALKING_LINE}", file=sys.stderr, flush=True)
            time.sleep(0.5)

    threading.Thread(target=_talk, daemon=True).start()
"""


def fake_cuda_driver(folder: Path) -> Path | None:
    """A folder holding the failing ``libcuda.so.1``; None where no C compiler is installed."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "fakecuda.c"
    source.write_text(FAILING_CUINIT)
    library = folder / "libcuda.so.1"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(library), str(source)], check=True, timeout=120
    )
    (folder / "libcuda.so").unlink(missing_ok=True)
    (folder / "libcuda.so").symlink_to(library.name)
    return folder


def talking_workers(folder: Path) -> Path:
    """A folder to put first on ``PYTHONPATH`` (its ``sitecustomize`` runs in every process and
    acts in Ray's workers only)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(TALKING_WORKERS)
    return folder

"""No room for Ray's files (a file-size limit, a full disk): one line naming the cause, exit 2.

Ray's own processes die while starting when they cannot write their files, and ``ray.init``
used to end the search about 30 s later with a traceback ("The current node timed out during
startup"). The search must instead say which limit or which disk is the likely cause, and leave
no experiment behind.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.localcluster import kill_sessions

REPO = Path(__file__).resolve().parents[2]
LIMIT_KIB = 200


def search(data: Path, storage: Path, **popen: object) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "search.superres", "--data", str(data), "--samples", "1",
        "--max-epochs", "1", "--storage", str(storage), "--name", "n",
    ]  # fmt: skip
    driver = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, **popen,  # type: ignore[call-overload]
    )  # fmt: skip
    try:
        out, err = driver.communicate(timeout=300)
    finally:
        kill_sessions({driver.pid})  # whatever of Ray survived its failed start
    return subprocess.CompletedProcess(command, driver.returncode, out, err)


def assert_one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("search.superres: error: "), result.stderr
    assert expected in lines[0], lines[0]
    assert result.stdout == ""


def test_file_size_limit_stops_ray_and_is_named_in_one_line(
    tiny_superres_dir: Path, tmp_path: Path
) -> None:
    def limit_file_size() -> None:  # what `ulimit -f 200` does in a shell
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_KIB * 1024, LIMIT_KIB * 1024))

    storage = tmp_path / "runs"
    result = search(tiny_superres_dir, storage, preexec_fn=limit_file_size)
    assert_one_line(
        result,
        f"search.superres: error: Ray could not start: a file-size limit of {LIMIT_KIB} KiB is "
        f"in force (ulimit -f {LIMIT_KIB}), and Ray's own files (its object store, its session "
        "files in ",
    )
    assert "raise it (ulimit -f unlimited) and run again" in result.stderr
    assert list(storage.iterdir()) == []  # the claimed folder of the experiment is gone again


@pytest.fixture
def full_disk() -> Iterator[Path]:
    """A 1 MiB tmpfs filled to the last byte (short path: Ray's socket paths must stay short)."""
    mount = Path(tempfile.mkdtemp(prefix="lsfull-", dir="/tmp"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        (mount / "room").mkdir()
        with open(mount / "fill", "wb") as fill:
            try:
                while True:
                    fill.write(b"\0" * 65536)
                    fill.flush()
            except OSError:
                pass
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)
        mount.rmdir()


def test_full_ray_temp_folder_is_refused_before_ray_starts(
    tiny_superres_dir: Path, tmp_path: Path, full_disk: Path
) -> None:
    storage = tmp_path / "runs"
    result = search(tiny_superres_dir, storage, env={**os.environ, "RAY_TMPDIR": str(full_disk)})
    assert_one_line(
        result,
        f"search.superres: error: too little space at Ray's temp folder {full_disk}/ray (0 B free "
        "on its disk, at least 100 MiB needed); free some space or point RAY_TMPDIR at another "
        "disk",
    )
    assert list(storage.iterdir()) == []
    assert not (full_disk / "ray").exists()  # Ray was not started


def test_full_storage_is_one_line(tiny_superres_dir: Path, full_disk: Path) -> None:
    result = search(tiny_superres_dir, full_disk / "room" / "runs")
    assert_one_line(result, f"storage {full_disk}/room/runs cannot be ")
    assert "No space left on device" in result.stderr

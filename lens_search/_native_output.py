"""Native log lines kept off a command's console: what C++ libraries write on stderr themselves.

TensorFlow, XLA, absl, gRPC and Ray's core write their log lines from C++ straight to file
descriptor 2, at import and at any later first use (``failed call to cuInit`` when the first
tensor is made on a machine with a CUDA driver and no GPU), whatever Python's logging says; only
TF_CPP_MIN_LOG_LEVEL, read once when TensorFlow loads, changes what TensorFlow writes. Below
``--verbose`` a command (``lensing.cli.run_cli`` on the process's own command line) sends
descriptor 2 through a pipe read by a thread, which drops those lines (logging them at DEBUG to
``lensing.native_output``, so a search's log file keeps them) and copies every other byte to the
real stderr at once: a progress bar, a child's output, a C++ crash's message. Python's own
``sys.stderr`` writes to the real stderr directly.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from typing import TextIO

NATIVE_LOG_LINE = re.compile(
    r"[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\] "  # absl and glog (TensorFlow, XLA, gRPC)
    r"|\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [IWE] \d+ \d+\] "  # Ray's core
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow"  # the line after
    # TensorFlow's "This TensorFlow binary is optimized to use available CPU instructions"
)
"""A line a C++ library logged (INFO, WARNING or ERROR). Fatal lines (``F...``) are not matched:
they reach the console, with whatever else is written on descriptor 2."""
JOIN_TIMEOUT_S = 2.0
"""How long ``restore`` waits for the lines still in the pipe (a child process that inherited
descriptor 2 can keep it open; its later lines are still filtered, by a daemon thread)."""

logger = logging.getLogger(__name__)


class _Filter:
    """Descriptor 2 through a pipe, native log lines taken out by a thread."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self.python_stderr = sys.stderr
        self.real = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self.read = read
        self.stderr: TextIO = open(  # noqa: SIM115 - open for the rest of the process
            self.real, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
        )
        sys.stderr = self.stderr
        self.thread = threading.Thread(target=self._copy, name="native-stderr", daemon=True)
        self.thread.start()

    def _copy(self) -> None:
        partial = b""
        while chunk := os.read(self.read, 65536):
            *lines, partial = (partial + chunk).split(b"\n")
            kept = [line for line in lines if not self._dropped(line)]
            out = b"".join(line + b"\n" for line in kept)
            if partial and not _may_be_a_log_line(partial):
                out, partial = out + partial, b""  # a progress bar's \r line, shown at once
            self._write(out)
        if partial and not self._dropped(partial):
            self._write(partial)
        os.close(self.read)

    def _write(self, data: bytes) -> None:
        while data:
            data = data[os.write(self.real, data) :]

    @staticmethod
    def _dropped(line: bytes) -> bool:
        text = line.decode("utf-8", "backslashreplace")
        if NATIVE_LOG_LINE.match(text):
            logger.debug("%s", text)
            return True
        return False

    def restore(self) -> None:
        """Descriptor 2 and ``sys.stderr`` back as they were; lines in the pipe copied first."""
        sys.stderr.flush()
        os.dup2(self.real, 2)  # the pipe's last writer in this process is gone
        self.thread.join(JOIN_TIMEOUT_S)
        if sys.stderr is self.stderr:
            sys.stderr = self.python_stderr


def _may_be_a_log_line(start: bytes) -> bool:
    """Whether an unfinished line could still become a native log line (absl writes a whole
    line at once, so it is kept back only while it is short)."""
    return len(start) < 200 and start[:1] in (b"I", b"W", b"E", b"[", b"T")


_active: _Filter | None = None


def keep_native_logs_off_console() -> None:
    """From now on, native log lines on descriptor 2 go to the DEBUG log, not the console."""
    global _active
    if _active is None:
        _active = _Filter()


def restore_native_stderr() -> None:
    """Undo ``keep_native_logs_off_console`` (a command's end); nothing if it is not on."""
    global _active
    if _active is not None:
        _active.restore()
        _active = None

"""Shared command-line plumbing: one clear line and exit status 2 for user errors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from lensing.errors import LensSearchError

EXIT_USER_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (no usage dump) and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(EXIT_USER_ERROR)


def run_cli(
    main: Callable[[Sequence[str] | None], int | None],
    argv: Sequence[str] | None = None,
    prog: str = "lens-search",
) -> None:
    """Run ``main(argv)``; a LensSearchError becomes one line on stderr and exit status 2."""
    try:
        code = main(argv)
    except LensSearchError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        sys.exit(130)
    sys.exit(code or 0)


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what C++ libraries write to file descriptor 2 to /dev/null for a while.

    Importing TensorFlow 2.21 prints CUDA-probe lines ("Could not find cuda drivers ...") on
    stderr before absl logging starts, whatever TF_CPP_MIN_LOG_LEVEL says; a user error must
    still be one line. Python exceptions are unaffected: they are printed after this ends.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)

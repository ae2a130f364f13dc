"""Shared command-line plumbing: one clear line and exit status 2 for user errors."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lens_search._native_output import keep_native_logs_off_console, restore_native_stderr
from lens_search.errors import LensSearchError

EXIT_USER_ERROR = 2
PACKAGES = ("lens_search",)  # the root of every logger of the project
QUIET, NORMAL, VERBOSE = -1, 0, 1
CONSOLE_LEVELS = {QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}
_verbosity = NORMAL
_own_command_line = False  # run_cli is running a command on this process's own arguments


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (no usage dump) and exit 2.

    It also has ``--quiet`` / ``--verbose`` and configures the project's loggers from them when
    it parses. Its sub-commands (``sub_command=True``, set by ``add_subparsers``) accept the
    same two flags after their name (``simulate superres --out X -q``) and leave the
    configuring to the parent; ``verbosity_flags=False`` gives a parser neither flag.
    """

    def __init__(
        self, *args: Any, verbosity_flags: bool = True, sub_command: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._verbosity_flags = verbosity_flags and not sub_command
        if verbosity_flags:
            # In a sub-command an absent flag sets nothing, so one before its name still counts.
            default = argparse.SUPPRESS if sub_command else NORMAL
            group = self.add_mutually_exclusive_group()
            group.add_argument(
                "-q", "--quiet", dest="verbosity", action="store_const", const=QUIET,
                default=default, help="print only warnings, errors and the final summary",
            )  # fmt: skip
            group.add_argument(
                "-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE,
                default=default,
                help="print debugging messages, and what Ray, Optuna and TensorFlow log",
            )  # fmt: skip

    def add_subparsers(self, **kwargs: Any) -> Any:
        """Sub-commands that accept the parent's ``--quiet``/``--verbose`` after their name too."""
        kwargs["parser_class"] = functools.partial(
            kwargs.get("parser_class", OneLineParser), sub_command=True
        )
        return super().add_subparsers(**kwargs)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, rest = super().parse_known_args(args, namespace)
        if self._verbosity_flags:
            configure_logging(parsed.verbosity)
        return parsed, rest

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(EXIT_USER_ERROR)


def configure_logging(verbosity: int = NORMAL) -> None:
    """Send the project's log messages to stderr, at the level ``--quiet``/``--verbose`` ask.

    Library code logs through ``logging.getLogger(__name__)``; only a command line adds handlers.
    Loggers stay at DEBUG so a log file added later (a search's) receives everything. A command
    run on the process's own arguments (``run_cli``) also keeps the log lines of C++ libraries
    (TensorFlow, absl, gRPC, Ray's core) off the console below ``--verbose``
    (``lensing.native_output``).
    """
    global _verbosity
    _verbosity = verbosity
    if _own_command_line and verbosity < VERBOSE:
        keep_native_logs_off_console()  # first: the console handlers write to the real stderr
    for name in (*PACKAGES, "__main__"):  # a module run with `python -m` logs as __main__
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if not getattr(h, "lens_search_console", 0)]
        console = logging.StreamHandler(sys.stderr)
        console.lens_search_console = True  # type: ignore[attr-defined]
        console.setLevel(CONSOLE_LEVELS[verbosity])
        console.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(console)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False


def verbosity() -> int:
    """What the command line asked for: QUIET, NORMAL (also outside a CLI) or VERBOSE."""
    return _verbosity


def command_options(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed options as keywords for the function a command runs: every option but the
    verbosity flags (``OneLineParser`` applied those when it parsed)."""
    return {name: value for name, value in vars(args).items() if name != "verbosity"}


def run_cli(
    main: Callable[[Sequence[str] | None], int | None],
    argv: Sequence[str] | None = None,
    prog: str = "lens-search",
) -> None:
    """Run ``main(argv)``; a LensSearchError becomes one line on stderr and exit status 2.

    With ``argv`` None (a console script, ``python -m``: the process's own arguments) the
    command's console is also kept free of C++ libraries' log lines below ``--verbose``, from
    when its arguments are parsed to its end (``configure_logging``).
    """
    global _own_command_line
    _own_command_line = argv is None
    try:
        code = main(argv)
    except LensSearchError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        sys.exit(130)
    finally:
        _own_command_line = False
        restore_native_stderr()
    sys.exit(code or 0)


def console_script(
    main: Callable[[Sequence[str] | None], int | None], prog: str
) -> Callable[[], None]:
    """The console script of a command (``lens-search-*``, ``python -m PROG``): ``main`` on the
    command line's arguments, through ``run_cli``."""

    def script() -> None:
        run_cli(main, prog=prog)

    script.__doc__ = f"Console script (same as ``python -m {prog}``)."
    return script


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

"""The one exception type for mistakes a user can make (bad paths, layouts, flags, files)."""

from __future__ import annotations

from typing import Literal


class LensSearchError(Exception):
    """A problem the user can fix; the CLIs print it as one line and exit with status 2."""


def one_line(
    error: BaseException, part: Literal["first", "last", "all"] = "first", *, typed: bool = False
) -> str:
    """The message of ``error`` as one line, for a LensSearchError or a table cell.

    ``part``: its first non-blank line, its last (Ray wraps a trial's exception in lines of its
    own; the last is the exception's message), or all its lines joined by single spaces (a parser's
    message that points at a line and column over several). An empty message gives the type's
    name; ``typed`` puts ``Type: `` in front of a message, which names a library's failure.
    """
    name = type(error).__name__
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return name
    text = {"first": lines[0], "last": lines[-1], "all": " ".join(str(error).split())}[part]
    return f"{name}: {text}" if typed else text

"""The one exception type for mistakes a user can make (bad paths, layouts, flags, files)."""

from __future__ import annotations


class LensSearchError(Exception):
    """A problem the user can fix; the CLIs print it as one line and exit with status 2."""


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message``: how a file's own failure is named in one line."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

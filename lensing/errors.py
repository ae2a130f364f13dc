"""The one exception type for mistakes a user can make (bad paths, layouts, flags, files)."""

from __future__ import annotations


class LensSearchError(Exception):
    """A problem the user can fix; the CLIs print it as one line and exit with status 2."""

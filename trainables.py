"""Old name of ``lens_search.training``: ``python -m trainables.NAME`` and old imports keep working.

See ``lens_search._aliases``; new code imports ``lens_search``.
"""

from lens_search._aliases import alias

alias(__name__)

"""Old name of ``lens_search.experiments``: ``python -m experiments.NAME``, old imports work.

See ``lens_search._aliases``; new code imports ``lens_search``.
"""

from lens_search._aliases import alias

alias(__name__)

"""The tasks, one module each (``classify``, ``superres``), and their registry.

``TASKS`` maps a registered task's name to it (a live view: a task registered later, such as a
user's own module calling ``register``, appears in it); ``task_named`` looks one up with a clear
error, ``task_of_model`` finds the task a saved Keras model belongs to.
"""

from __future__ import annotations

from lens_search.experiments.tasks.base import (
    PlannedData,
    Task,
    register,
    registered,
    task_named,
    task_of_model,
)
from lens_search.experiments.tasks.classify import CLASSIFY
from lens_search.experiments.tasks.superres import SUPERRES

TASKS = registered()

__all__ = [
    "CLASSIFY",
    "SUPERRES",
    "TASKS",
    "PlannedData",
    "Task",
    "register",
    "registered",
    "task_named",
    "task_of_model",
]

from .evaluation import Evaluation
from .intervals import classification_intervals, mean_intervals
from .settings import ExperimentSettings, read_settings, write_settings
from .storage import default_out, experiment_path, is_uri
from .study import load_study
from .tasks import CLASSIFY, SUPERRES, TASKS, Task, register, task_named
from .trials import load_results, trial_status

__all__ = [
    "CLASSIFY",
    "SUPERRES",
    "TASKS",
    "Evaluation",
    "ExperimentSettings",
    "Task",
    "classification_intervals",
    "default_out",
    "experiment_path",
    "is_uri",
    "load_results",
    "load_study",
    "mean_intervals",
    "read_settings",
    "register",
    "task_named",
    "trial_status",
    "write_settings",
]

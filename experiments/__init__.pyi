from .settings import ExperimentSettings, read_settings, write_settings
from .storage import default_out, experiment_path, is_uri
from .study import load_study
from .tasks import CLASSIFY, SUPERRES, TASKS, Task
from .trials import load_results, trial_status

__all__ = [
    "CLASSIFY",
    "SUPERRES",
    "TASKS",
    "ExperimentSettings",
    "Task",
    "default_out",
    "experiment_path",
    "is_uri",
    "load_results",
    "load_study",
    "read_settings",
    "trial_status",
    "write_settings",
]

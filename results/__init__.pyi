from .evaluate import evaluate_classifier, evaluate_superres
from .export import load_model, save_model
from .importance import param_importances
from .intervals import classification_intervals, mean_intervals
from .leaderboard import build_leaderboard, write_leaderboard
from .plots import make_plots
from .predict import predict_classes, predict_superres
from .select import pick_rank

__all__ = [
    "build_leaderboard",
    "classification_intervals",
    "evaluate_classifier",
    "evaluate_superres",
    "load_model",
    "make_plots",
    "mean_intervals",
    "param_importances",
    "pick_rank",
    "predict_classes",
    "predict_superres",
    "save_model",
    "write_leaderboard",
]

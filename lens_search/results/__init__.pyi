from .evaluate import evaluate
from .export import load_model, save_model
from .importance import param_importances
from .leaderboard import build_leaderboard, write_leaderboard
from .plots import make_plots
from .predict import predict
from .retrain import retrain
from .select import pick_rank

__all__ = [
    "build_leaderboard",
    "evaluate",
    "load_model",
    "make_plots",
    "param_importances",
    "pick_rank",
    "predict",
    "retrain",
    "save_model",
    "write_leaderboard",
]

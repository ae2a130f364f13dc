from .cluster import connect
from .config import SearchConfig
from .run import run_search
from .summary import summarize

__all__ = ["SearchConfig", "connect", "run_search", "summarize"]

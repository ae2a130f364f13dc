"""Reading the CSV files a search writes, as exactly as they were written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_exact_csv(path: str | Path) -> pd.DataFrame:
    """``pd.read_csv`` with the round-trip float parser.

    The leaderboard holds each float as Python writes it (the shortest text that reads back to
    the same number); pandas 3's default parser reads some of those texts a few units in the
    last place off (``0.16164502020100707`` as ``0.161645020201007``), so which sampled
    configuration compares equal would depend on the values a search happened to sample.
    """
    return pd.read_csv(path, float_precision="round_trip")

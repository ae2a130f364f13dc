"""Figures of a retrained model: ROC curves, confusion matrix, LR/bicubic/model/HR samples.

Built as ``matplotlib.figure.Figure`` objects (no pyplot, so no GUI backend; saved with Agg).
``save`` is shared with ``results.plots``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

if TYPE_CHECKING:  # importing trainables imports Keras: too slow for results.plots
    from results.evaluate import ClassifierEvaluation, SuperResEvaluation

DPI = 120


def save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG and return its path."""
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def roc_figure(evaluation: ClassifierEvaluation) -> Figure:
    """One-vs-rest ROC curve of each class, with its AUC, and the chance diagonal."""
    figure = Figure(figsize=(5, 5))
    axes = figure.add_subplot()
    for index, name in enumerate(evaluation.classes):
        positive = evaluation.y_true == index
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, evaluation.probs[:, index])
        auc = evaluation.metrics[f"{evaluation.split}_auc_{name}"]
        axes.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    macro = evaluation.metrics[f"{evaluation.split}_auc"]
    axes.set_title(f"ROC on {evaluation.split}, one vs rest (macro AUC {macro:.3f})")
    axes.legend(loc="lower right")
    return figure


def confusion_figure(evaluation: ClassifierEvaluation) -> Figure:
    """The confusion matrix as counts (rows: true class, columns: predicted class)."""
    figure = Figure(figsize=(4.5, 4))
    axes = figure.add_subplot()
    matrix = evaluation.confusion
    axes.imshow(matrix, cmap="Blues")
    ticks = range(len(evaluation.classes))
    axes.set_xticks(ticks, evaluation.classes)
    axes.set_yticks(ticks, evaluation.classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for (row, col), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=color)
    accuracy = evaluation.metrics[f"{evaluation.split}_accuracy"]
    axes.set_title(f"{evaluation.split}: accuracy {accuracy:.3f}")
    return figure


def superres_samples_figure(evaluation: SuperResEvaluation, count: int = 4) -> Figure:
    """LR, bicubic, model and HR side by side for the first ``count`` images of the split."""
    from trainables.metrics import psnr

    count = min(count, len(evaluation.lr))
    figure = Figure(figsize=(12, 3 * count))
    columns = ("LR", "bicubic", "model", "HR")
    for row in range(count):
        images = (
            evaluation.lr[row],
            evaluation.bicubic[row],
            evaluation.pred[row],
            evaluation.hr[row],
        )
        for col, (title, image) in enumerate(zip(columns, images, strict=True)):
            axes = figure.add_subplot(count, len(columns), row * len(columns) + col + 1)
            axes.imshow(np.squeeze(image), cmap="inferno", vmin=0.0, vmax=1.0)
            axes.set_xticks([])
            axes.set_yticks([])
            if title in ("bicubic", "model"):
                title = f"{title} ({psnr(image, evaluation.hr[row]):.2f} dB)"
            axes.set_title(title)
    return figure

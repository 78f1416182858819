"""Result tables (ours beside the paper's), results files and plots shared by the experiments.

Every experiment writes ``<out>/results.json``, ``results.md``, ``config.json`` and its PNG plots
through :func:`write_results`, so all of them look and load alike.

Example:
    >>> print(markdown_table(["model", "error"], [["cnn", "0.81"]]))
    | model | error |
    |---|---|
    | cnn | 0.81 |
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.diskio import write_json  # noqa: F401 - the one JSON writer, re-exported


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value), NaNs ignored."""
    arr = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    if arr.size == 0:
        return float("nan"), float("nan")
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def fmt_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """``"0.812 ± 0.057"``; ``"n/a"`` for NaN."""
    if mean is None or math.isnan(mean):
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(str(h) for h in headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """Versions and machine facts recorded with every result."""
    import keras
    import tensorflow as tf

    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_results(out_dir: str | Path, results: dict[str, Any], config: dict[str, Any],
                  markdown: str) -> dict[str, Path]:
    """Write ``results.json``, ``config.json`` (with the environment) and ``results.md``.

    Returns:
        The paths written, by kind.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "results": write_json(out / "results.json", results),
        "config": write_json(out / "config.json", {**config, "environment": environment()}),
    }
    md = out / "results.md"
    md.write_text(markdown.rstrip() + "\n")
    paths["markdown"] = md
    return paths


def grouped_bar_plot(path: str | Path, categories: Sequence[Any],
                     series: dict[str, Sequence[float]], *, title: str, xlabel: str,
                     ylabel: str) -> Path:
    """Save a grouped bar chart (one group per category, one bar per series) as PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    n = max(len(series), 1)
    width = 0.8 / n
    x = np.arange(len(categories))
    for i, (label, vals) in enumerate(series.items()):
        ax.bar(x + (i - (n - 1) / 2) * width, vals, width, label=label)
    ax.set_xticks(x, [str(c) for c in categories])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def save_figure(fig, path: str | Path, *, dpi: int = 110) -> Path:
    """Lay out ``fig``, write it to ``path`` (PNG; folders created), close it, return the path."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    _pyplot().close(fig)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts, rows actual and columns predicted, for classes ``0 .. num_classes - 1``
    (scikit-learn's ``confusion_matrix``; the one every command, plot and log uses).

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], 4).tolist()
        [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    """
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    return sk_confusion_matrix(np.asarray(y_true, int).reshape(-1),
                               np.asarray(y_pred, int).reshape(-1), labels=range(num_classes))


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], path: str | Path, *,
                          title: str = "Confusion matrix", normalize: bool = False) -> Path:
    """Save a confusion matrix (rows: actual, columns: predicted) with counts in the cells."""
    plt = _pyplot()
    cm = np.asarray(cm)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    n = len(class_names)
    size = max(4.0, 0.45 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(shown, cmap="Blues")
    ax.set_xticks(range(n), [str(c) for c in class_names], rotation=90 if n > 6 else 0)
    ax.set_yticks(range(n), [str(c) for c in class_names])
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    ax.set_title(title)
    thresh = shown.max() / 2 if shown.size else 0
    for i in range(n):
        for j in range(n):
            txt = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                    color="white" if shown[i, j] > thresh else "black")
    return save_figure(fig, path)


def plot_history(history: dict[str, Sequence[float]], path: str | Path, *,
                 title: str = "Training curves") -> Path:
    """Save training curves from a Keras ``History.history`` dict: loss on the left, every other
    metric (with its ``val_`` twin) on the right."""
    plt = _pyplot()
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, vals in history.items():
        ax = ax_loss if key.endswith("loss") else ax_metric
        ax.plot(range(1, len(vals) + 1), vals, label=key, linestyle="--" if key.startswith(
            "val_") else "-")
    for ax, label in ((ax_loss, "loss"), (ax_metric, "metric")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_error_histograms(path: str | Path, counts: dict[str, dict[str, Sequence[float]]], *,
                          rates: bool = False, title: str = "") -> Path:
    """Figures 5 / 6 of seeds/002: per model, bars of each numerical error 1..9 among the
    misidentified images, one bar per method; ``rates=True`` divides by the method's total.

    Args:
        path: the PNG to write.
        counts: ``{model: {method: counts of errors 1..k}}``.
        rates: plot shares of the misidentified images instead of counts.
        title: figure title.
    """
    plt = _pyplot()
    models = list(counts)
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models):
        methods = counts[model]
        n = len(methods)
        width = 0.8 / max(n, 1)
        for i, (method, vals) in enumerate(methods.items()):
            vals = np.asarray(vals, dtype=float)
            if rates:
                vals = vals / max(vals.sum(), 1e-12)
            xs = np.arange(1, len(vals) + 1)
            ax.bar(xs + (i - (n - 1) / 2) * width, vals, width, label=method)
        ax.set_title(model)
        ax.set_xlabel("numerical error")
        ax.set_ylabel("rate of appearance" if rates else "number of appearances")
        ax.set_xticks(np.arange(1, len(vals) + 1))
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)

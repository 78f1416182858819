"""The plots of the experiments and commands: PNG files written with matplotlib (Agg).

Each function saves one figure and returns its path; :func:`save_figure` is the one writer.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = grouped_bar_plot(Path(tempfile.mkdtemp()) / "bars.png", ["a", "b"],
    ...                         {"ours": [1.0, 2.0], "paper": [1.5, 2.5]}, title="demo",
    ...                         xlabel="model", ylabel="accuracy")
    >>> path.name, path.stat().st_size > 0
    ('bars.png', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


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


def plot_class_balance(path: str | Path, counts: dict[str, Sequence[int]], *,
                       title: str = "images per class", ylabel: str = "images") -> Path:
    """Save a class-balance chart: one group per class index, one bar per split.

    Args:
        path: the PNG to write.
        counts: ``{split: images per class}``, every list as long as the class list.
        title: figure title.
        ylabel: what is counted.
    """
    n = max((len(v) for v in counts.values()), default=0)
    return grouped_bar_plot(path, list(range(n)), dict(counts), title=title, xlabel="class",
                            ylabel=ylabel)


def plot_page_prediction(path: str | Path, page: str, probs: np.ndarray,
                         members: Sequence[str], stack: np.ndarray,
                         class_names: Sequence[str], specs: Sequence[Any]) -> Path:
    """The per-image plot of a stacked pipeline: the page as each member sees it (its
    :class:`kerasdoc.generators.spec.ImageSpec`'s crop and resize), and each model's five most
    probable classes, the stack's last.

    Args:
        path: the PNG to write.
        page: the image file.
        probs: ``(members, classes)`` member probabilities for the page.
        members: the member names, in the order of ``probs`` and ``specs``.
        stack: ``(classes,)`` the meta-classifier's probabilities.
        class_names: the class names.
        specs: each member's image spec.
    """
    import tensorflow as tf

    plt = _pyplot()
    n = len(members) + 1
    fig, axes = plt.subplots(2, n, figsize=(3.0 * n, 6.2),
                             gridspec_kw={"height_ratios": [1.0, 1.3]})
    raw = tf.io.read_file(page)
    for j, (m, spec) in enumerate(zip(members, specs)):
        img = spec.geometry(spec.decode(raw)).numpy()
        axes[0, j].imshow(img.astype(np.uint8).squeeze(), cmap="gray")
        axes[0, j].set_title(m, fontsize=9)
        axes[0, j].axis("off")
    axes[0, -1].axis("off")
    for j, (title, p) in enumerate([*zip(members, probs), ("stack", stack)]):
        ax = axes[1, j]
        order = np.argsort(p)[::-1][:5]  # each model's own five most probable classes
        ax.barh(range(5), p[order][::-1], color=plt.get_cmap("tab20")(j))
        ax.set_yticks(range(5), [class_names[i] for i in order][::-1], fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_title(f"{title}: {class_names[int(np.argmax(p))]}", fontsize=8)
    fig.suptitle(Path(page).name)
    return save_figure(fig, path)

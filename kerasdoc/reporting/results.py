"""Result tables (ours beside the paper's) and the results files every experiment writes.

Every experiment writes ``<out>/results.json``, ``results.md`` and ``config.json`` through
:func:`write_results`, so all of them look and load alike.

Example:
    >>> mean, std = mean_std([0.80, 0.84, float("nan")])
    >>> fmt_mean_std(mean, std)
    '0.820 ± 0.028'
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

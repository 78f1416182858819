"""Small helpers the notebooks in ``notebooks/`` call, so that no notebook holds model, data or
plotting code of its own (the notebooks are written by ``notebooks/build.py``).

* :func:`quick_mode` / :func:`in_colab`: the flags at the top of every notebook
  (``KERASDOC_NOTEBOOK_QUICK=1``, set by CI, selects the tiny settings);
* :func:`show_images`: a grid of images with their labels (arrays, or one batch of a flow);
* :func:`show_results` / :func:`show_plots`: an experiment's ``results.md`` (our table
  beside the paper's) and its plots, shown in the notebook;
* :func:`image_bytes` and :func:`predict_files`: one prediction from an exported SavedModel
  (or a ``.keras`` file with its model card) through :class:`kerasdoc.export.Predictor`.

Example:
    >>> import numpy as np
    >>> fig = show_images(np.zeros((3, 8, 8, 1)), [0, 1, 2], ["a", "b", "c"], show=False)
    >>> len(fig.axes)
    3
    >>> image_bytes(np.zeros((8, 8), np.uint8))[:4] == b"\\x89PNG"
    True
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: The environment variable that selects quick mode (CI sets it to 1).
QUICK_ENV = "KERASDOC_NOTEBOOK_QUICK"


def quick_mode() -> bool:
    """True when ``KERASDOC_NOTEBOOK_QUICK`` is ``1`` (or ``true`` / ``yes``)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes")


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def _load_files(paths: Sequence[str | Path], size: int = 160) -> list[np.ndarray]:
    from PIL import Image

    images = []
    for path in paths:
        with Image.open(path) as im:
            im = im.convert("L") if im.mode not in ("L", "RGB") else im
            im.thumbnail((size, size))
            images.append(np.asarray(im))
    return images


def folder_files(root: str | Path, n: int = 16) -> tuple[list[Path], list[int], list[str]]:
    """Up to ``n`` image files of a ``root/<class>/<image>`` folder, taken class by class in
    turn: ``(paths, class indices, class names)``."""
    root = Path(root)
    names = sorted(d.name for d in root.iterdir() if d.is_dir())
    per_class = [sorted(f for f in (root / c).rglob("*") if f.is_file()) for c in names]
    paths: list[Path] = []
    labels: list[int] = []
    for i in range(max((len(f) for f in per_class), default=0)):
        for k, files in enumerate(per_class):
            if i < len(files) and len(paths) < n:
                paths.append(files[i])
                labels.append(k)
    return paths, labels, names


def _batch_of(data: Any, n: int) -> tuple[Any, np.ndarray | None]:
    """Up to ``n`` images (and labels) from arrays, a ``(x, y)`` pair, a dataset, a flow, image
    files or a ``root/<class>/<image>`` folder."""
    if isinstance(data, str | Path):
        paths, labels, _ = folder_files(data, n)
        return _load_files(paths), np.asarray(labels)
    if isinstance(data, list):  # image files, or images of any sizes
        if data and isinstance(data[0], str | Path):
            return _load_files(data[:n]), None
        return [np.asarray(d) for d in data[:n]], None
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        return np.asarray(x)[:n], (np.asarray(y)[:n] if y is not None else None)
    if isinstance(data, np.ndarray):
        return data[:n], None
    dataset = getattr(data, "dataset", data)
    xs, ys = [], []
    got = 0
    for batch in dataset:
        x, y = (batch[0], batch[1]) if isinstance(batch, tuple | list) else (batch, None)
        xs.append(np.asarray(x))
        if y is not None:
            ys.append(np.asarray(y))
        got += len(xs[-1])
        if got >= n:
            break
    x = np.concatenate(xs)[:n]
    return x, (np.concatenate(ys)[:n] if ys else None)


def show_images(data: Any, labels: Sequence[Any] | None = None,
                class_names: Sequence[str] | None = None, *, n: int = 16, cols: int = 8,
                title: str | None = None, show: bool = True):
    """A grid of up to ``n`` images with their class names.

    Args:
        data: images ``(N, H, W[, C])`` (uint8, or floats in 0..1; others are each scaled
            to their own min..max),
            an ``(x, y)`` tuple, a ``tf.data.Dataset`` of ``(x, y)``, a ``generators`` flow
            (one pass through ``flow.dataset``), a list of image files or of images, or a
            ``root/<class>/<image>`` folder (its class names are used).
        labels: class indices or one-hot rows (default: from ``data`` when it has them).
        class_names: names for the indices (default: the flow's ``class_indices``).
        n, cols: how many images, and per row.
        title: the figure's title.
        show: show the figure (in a notebook as a PNG; False: just return it).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    x, y = _batch_of(data, n)
    if labels is not None:
        y = np.asarray(labels)[:len(x)]
    if class_names is None and getattr(data, "class_indices", None):
        idx = data.class_indices
        class_names = sorted(idx, key=idx.get)
    if class_names is None and isinstance(data, str | Path):
        class_names = folder_files(data, 0)[2]
    if y is not None and y.ndim > 1:
        y = y.argmax(axis=-1)
    cols = max(1, min(cols, len(x)))
    rows = int(np.ceil(len(x) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.8 * rows), squeeze=False)
    for ax in axes.ravel()[len(x):]:
        fig.delaxes(ax)
    for i, ax in enumerate(axes.ravel()[:len(x)]):
        raw = np.asarray(x[i])
        img = raw.astype(np.float32)
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if raw.dtype == np.uint8:
            img = img / 255.0
        elif img.min() < 0 or img.max() > 1:  # standardised: its own range
            lo, hi = float(img.min()), float(img.max())
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
        ax.axis("off")
        if y is not None:
            k = int(y[i])
            name = class_names[k] if class_names is not None and k < len(class_names) else k
            ax.set_title(str(name), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if show:
        shown = _display()
        if shown is None:
            plt.show()
        else:  # as a PNG: the library's plots switch matplotlib to Agg, where show() is silent
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            shown[0](shown[2](data=buf.getvalue()))
            plt.close(fig)
    return fig


def result_images(out: str | Path) -> list[Path]:
    """The PNG plots of a results folder, its own first (as ``kerasdoc report`` orders them)."""
    from kerasdoc.reporting import find_images

    return find_images(Path(out))


def _display():
    """IPython's ``display``, ``Markdown`` and ``Image`` inside a notebook, else None."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, Markdown, display
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return None
    return (display, Markdown, Image) if get_ipython() is not None else None


def show_results(out: str | Path) -> str:
    """Show ``out/results.md`` (our table beside the paper's), rendered as Markdown in a
    notebook and printed elsewhere; return it."""
    path = Path(out) / "results.md"
    md = path.read_text() if path.is_file() else f"(no {path})"
    shown = _display()
    if shown is not None:
        shown[0](shown[1](md))
    else:
        print(md)
    return md


def show_plots(out: str | Path, *, limit: int = 12) -> list[Path]:
    """Show the PNG plots of a results folder (the first ``limit``); return their paths."""
    out = Path(out)
    pngs = result_images(out)[:limit]
    shown = _display()
    for png in pngs:
        if shown is not None:
            shown[0](shown[1](f"**{png.relative_to(out)}**"))
            shown[0](shown[2](filename=str(png)))
        else:
            print(png)
    return pngs


def image_bytes(image: np.ndarray) -> bytes:
    """A PNG of an ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` array (floats in 0..1 are scaled
    to 0..255): the bytes a serving request carries."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype.kind == "f":
        arr = np.clip(arr * 255.0 if arr.max() <= 1.0 else arr, 0, 255)
    arr = arr.astype(np.uint8)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def predict_files(target: str | Path, images: Sequence[str | Path | bytes | np.ndarray]
                  ) -> list[dict[str, Any]]:
    """Classify image files, encoded bytes or arrays with an export (a SavedModel version
    folder or ``base_dir/name``) or a ``.keras`` file, as ``kerasdoc predict`` does.

    Returns:
        One dict per image: ``class_names``, ``probability``, ``class_ids``,
        ``probabilities``.
    """
    from kerasdoc.export import Predictor, read_image_file

    data = []
    for img in images:
        if isinstance(img, bytes):
            data.append(img)
        elif isinstance(img, np.ndarray):
            data.append(image_bytes(img))
        else:
            data.append(read_image_file(img))
    return Predictor(target).predict(data)

"""Real digit folders: MNIST-style normalisation, loading, and the pipeline over a folder
(``kerasdoc robust classify``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.robustness.pipeline import run_pipeline
from kerasdoc.robustness.training import _spec


# --------------------------------------------------------------------------- real digit sets
def mnist_style(image: np.ndarray, size: int = 28) -> np.ndarray:
    """One grey digit (white ink on black, any size) the MNIST way: fit its ink box into
    ``20/28`` of the side keeping the aspect ratio, centre it on a black ``size`` x ``size``
    canvas. Returns uint8.

    Example:
        >>> mnist_style(np.full((30, 10), 255, np.uint8)).shape
        (28, 28)
    """
    import cv2

    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., 0]
    ys, xs = np.nonzero(img > 0)
    if len(ys):
        img = img[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    box = int(round(size * 20 / 28))
    h, w = img.shape
    scale = box / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    small = cv2.resize(img.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((size, size), np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out


def load_digit_folder(root: str | Path, *, size: int = 28, limit: int | None = None,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read an ImageNet-style folder of grey digits (``root/<class>/*.png``) MNIST-style.

    Used for the Hoda Persian digits (``hoda-digits/{train,valid}``), white ink on black.

    Args:
        root: the folder with one sub-folder per class.
        size: int. Output side. Defaults to 28.
        limit: int or None. A seeded random subset of this many files.
        seed: int.

    Returns:
        ``(x uint8 [n, size, size, 1], y int64, class_names)``.

    Raises:
        FileNotFoundError: ``root`` is not a folder or holds no class folders with images.
    """
    import cv2

    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir())
             if f.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp")]
    if not files:
        raise FileNotFoundError(f"{root}: expected class folders of digit images.")
    if limit is not None and limit < len(files):
        pick = np.sort(np.random.default_rng(seed).choice(len(files), limit, replace=False))
        files = [files[i] for i in pick]
    from kerasdoc.generators.files import sniff_image

    x = np.zeros((len(files), size, size, 1), np.uint8)
    for k, (f, _) in enumerate(files):
        sniff_image(f)  # the size guard of every path (BadImageFile names the file)
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError(f"{f}: not a readable image.")
        x[k, ..., 0] = mnist_style(img, size)
    return x, np.array([i for _, i in files], np.int64), classes


# --------------------------------------------------------------------------- deployment
def _load(model_or_path):
    if isinstance(model_or_path, str | Path):
        from kerasdoc.models.weights import load_keras_model

        return load_keras_model(model_or_path, compile=False)
    return model_or_path


def classify_folder(folder: str | Path, classifier, detector, denoiser, *,
                    class_names: Sequence[str] | None = None, spec: Any = None,
                    threshold: float = 0.5, batch_size: int = 256) -> list[dict[str, Any]]:
    """Run the detector-gated pipeline on every image file under ``folder``.

    Paper: Gutierrez & Sze's Figure 1 as a tool: a user's folder of (possibly distorted) digit
    images in, per image the class, whether it was flagged and denoised, and the class the
    classifier gave before denoising.

    Args:
        folder: str or Path. Searched recursively for PNG / JPEG / BMP / GIF files.
        classifier, detector, denoiser: Keras models or ``.keras`` paths (trained runs).
        class_names: names per class id (default: from the classifier's model card when a path
            is given, else the ids).
        spec: the :class:`kerasdoc.generators.spec.ImageSpec` (default: grayscale at the
        classifier's
            input size, rescale 1/255).
        threshold: float. The detector's flag threshold.
        batch_size: int.

    Returns:
        One dict per file: ``file, class_id, class_name, flagged, p_distorted, class_id_before``.

    Raises:
        FileNotFoundError: ``folder`` is missing or holds no images.
    """
    import tensorflow as tf

    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in
                   (".png", ".jpg", ".jpeg", ".bmp", ".gif")) if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(f"{folder}: no image files (PNG, JPEG, BMP, GIF) found.")
    if class_names is None and isinstance(classifier, str | Path):
        from kerasdoc.card import read_card

        try:
            class_names = read_card(classifier).class_names
        except (FileNotFoundError, ValueError):
            class_names = None
    clf, det, den = _load(classifier), _load(detector), _load(denoiser)
    spec = spec or _spec(clf.input_shape[1:3])
    x = np.concatenate([spec.decode_batch(tf.constant([p.read_bytes() for p in
                                                       files[i:i + batch_size]])).numpy()
                        for i in range(0, len(files), batch_size)])
    out = run_pipeline(clf, det, den, x, threshold=threshold, batch_size=batch_size)
    names = list(class_names) if class_names else None
    return [{"file": str(f), "class_id": int(a),
             "class_name": names[int(a)] if names else str(int(a)),
             "flagged": bool(fl), "p_distorted": float(p), "class_id_before": int(b)}
            for f, a, b, fl, p in zip(files, out["after"], out["before"], out["flagged"],
                                      out["p_distorted"])]

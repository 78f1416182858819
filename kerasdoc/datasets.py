"""In-memory digit datasets for the numeric-loss experiment (seeds/002): arrays, not pipelines.

* ``load_sklearn_digits``: scikit-learn's 1,797 real handwritten digits (8x8, UCI "optdigits"),
  shipped with scikit-learn, resized to 28x28: the embedded default, no download.
* ``load_idx_pair``: an MNIST-format image/label idx pair (MNIST, Kannada-MNIST, Dig-MNIST).
* ``load_tfds_mnist``: MNIST through TensorFlow Datasets (needs a network or a prepared data dir).

All return ``(x, y)`` with ``x`` float32 in [0, 1] of shape ``(n, 28, 28, 1)`` and ``y`` int64.

Example:
    >>> x, y = load_sklearn_digits()
    >>> x.shape, x.dtype.name, int(y.max())
    ((1797, 28, 28, 1), 'float32', 9)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerasdoc.generators.sources import load_idx, load_tfds


def load_sklearn_digits(size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits (values 0-16), scaled to [0, 1] and resized to ``size``.

    Args:
        size: int. Output side length (bilinear resize from 8x8). Defaults to 28, MNIST's size.

    Returns:
        ``(x, y)``: float32 images ``(1797, size, size, 1)`` and int64 labels 0-9.
    """
    import tensorflow as tf
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype("float32") / 16.0)[..., None]
    x = tf.image.resize(x, (size, size), method="bilinear").numpy().clip(0.0, 1.0)
    return x.astype("float32"), d.target.astype("int64")


def load_idx_pair(images: str | Path, labels: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST-format pair of idx files (gzip or not) into ``(x, y)``.

    Raises:
        ValueError: the files do not hold images ``(n, h, w)`` and labels ``(n,)`` of the same
            ``n`` (the message names both files).
    """
    x, y = load_idx(images), load_idx(labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"Expected images (n, h, w) and labels (n,) with the same n; got {x.shape} from "
            f"{images} and {y.shape} from {labels}."
        )
    return (x.astype("float32") / 255.0)[..., None], y.astype("int64")


def parse_idx_spec(spec: str) -> tuple[Path, Path]:
    """``"IMAGES.gz,LABELS.gz"`` -> the two paths (a clear error for any other form)."""
    parts = [p.strip() for p in str(spec).split(",")]
    if len(parts) != 2 or not all(parts):
        raise ValueError(f"Expected 'IMAGES,LABELS' (two idx files separated by a comma). "
                         f"Received: {spec!r}")
    return Path(parts[0]), Path(parts[1])


def load_tfds_mnist(split: str = "train", data_dir: str | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from TensorFlow Datasets as arrays (``kerasdoc.generators.load_tfds``; downloads where
    a
    network allows it)."""
    import tensorflow_datasets as tfds

    ds, _, _ = load_tfds("mnist", split, data_dir=data_dir, download=True, count=False)
    # Batches of 4,096 rather than batch_size=-1, which aborts the process on TFDS mock data.
    xs, ys = zip(*tfds.as_numpy(ds.batch(4096)))
    return np.concatenate(xs).astype("float32") / 255.0, np.concatenate(ys).astype("int64")

"""Data sources: MNIST idx files (gzip or plain), TensorFlow Datasets sets (datasets or arrays).

Example:
    >>> import gzip, os, tempfile
    >>> import numpy as np
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "labels-idx1-ubyte.gz")
    >>> with gzip.open(p, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 9]))
    >>> load_idx(p).tolist()
    [7, 1, 9]
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def load_idx(path: str | Path) -> np.ndarray:
    """Read an MNIST idx file (``*-idx3-ubyte`` images or ``*-idx1-ubyte`` labels), gzip or not.

    Args:
        path: str or Path. The idx file; a ``.gz`` file (or gzip magic) is decompressed.

    Returns:
        A NumPy array with the file's shape, e.g. ``(n, 28, 28)`` uint8 images or ``(n,)`` labels.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not an idx file or is truncated (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"idx file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: corrupt gzip data ({e}).") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an MNIST idx file (expected magic 0x0000TTNN, "
                         f"got {raw[:4].hex() or 'an empty file'}).")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated idx header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape)) if shape else 0
    if len(raw) - header < count * dtype.itemsize:
        raise ValueError(f"{path}: truncated idx data: header announces shape {shape} "
                         f"({count * dtype.itemsize} bytes), file holds {len(raw) - header}.")
    return np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape).copy()


#: TensorFlow Datasets names the papers use (seed 002: MNIST; seed 003: MNIST-C and SVHN).
TFDS_DATASETS = ("mnist", "mnist_corrupted", "svhn_cropped")

#: MNIST-C corruption names (``mnist_corrupted/<name>``), Mu & Gilmer 2019.
MNIST_C_CORRUPTIONS = (
    "identity", "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "scale",
    "rotate", "brightness", "translate", "stripe", "fog", "spatter", "dotted_line", "zigzag",
    "canny_edges",
)


def load_tfds(name: str, split: str = "train", *, data_dir: str | Path | None = None,
              download: bool = False, count: bool = True):
    """Load a TensorFlow Datasets image classification set as ``(image uint8, label int64)``.

    Paper: seed 002 trains on MNIST, seed 003 on MNIST-C (``mnist_corrupted/<corruption>``)
    and SVHN (``svhn_cropped``). Any tfds set with ``image`` and ``label`` features works.

    Args:
        name: str. ``"mnist"``, ``"mnist_corrupted/<corruption>"``, ``"svhn_cropped"``, ...
        split: str. A tfds split expression, e.g. ``"train"``, ``"test[:10%]"``.
        data_dir: str, Path or None. tfds data folder (default ``~/tensorflow_datasets``).
        download: bool. Allow tfds to download (needs a network; off by default).
        count: bool. Read the labels once (without decoding images) to return them.

    Returns:
        ``(dataset, labels, class_names)``: a dataset of ``(image, label)`` pairs in file order,
        the labels as an int64 array (None without ``count``) and the class names.

    Raises:
        ValueError: an unknown MNIST-C corruption, or a set without image / label features.

    Example:
        >>> import tensorflow_datasets as tfds
        >>> with tfds.testing.mock_data(num_examples=5):
        ...     ds, labels, names = load_tfds("mnist", "test")
        >>> len(labels), names[:2]
        (5, ['0', '1'])
    """
    import tensorflow_datasets as tfds

    base, _, config = name.partition("/")
    if base == "mnist_corrupted" and config and config not in MNIST_C_CORRUPTIONS:
        raise ValueError(f"unknown MNIST-C corruption {config!r}; expected one of "
                         f"{MNIST_C_CORRUPTIONS}")
    kw = {"data_dir": None if data_dir is None else str(data_dir), "download": download}
    builder = tfds.builder(name, data_dir=kw["data_dir"])
    feats = builder.info.features
    if "image" not in feats or "label" not in feats:
        raise ValueError(f"tfds set {name!r} has no 'image' / 'label' features "
                         f"(has {sorted(feats)})")
    names = list(feats["label"].names)
    ds = tfds.load(name, split=split, as_supervised=True, shuffle_files=False, **kw)
    labels = None
    if count:
        raw = tfds.load(name, split=split, shuffle_files=False,
                        decoders={"image": tfds.decode.SkipDecoding()}, **kw)
        labels = np.fromiter((int(v) for v in raw.map(lambda e: e["label"]).as_numpy_iterator()),
                             dtype=np.int64)
    return ds, labels, names


def load_tfds_arrays(name: str, split: str = "test", *, data_dir: str | Path | None = None,
                     download: bool = True, limit: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A TensorFlow Datasets image set as NumPy arrays ``(images uint8, labels int64, names)``.

    Paper: Gutierrez & Sze query ``mnist`` / ``mnist_corrupted/<corruption>`` test images and
    ``svhn_cropped`` from TensorFlow Datasets; this is their loader, for machines with a network
    (or a prepared ``data_dir``).

    Args:
        name: str. ``"mnist"``, ``"mnist_corrupted/<corruption>"`` (:data:`MNIST_C_CORRUPTIONS`),
            ``"svhn_cropped"``, ...
        split: str. A tfds split expression. Defaults to ``"test"``.
        data_dir: str, Path or None. tfds data folder.
        download: bool. Allow tfds to download. Defaults to True.
        limit: int or None. Keep only the first ``limit`` images.

    Returns:
        ``(x, y, class_names)``: uint8 images ``(n, h, w, c)`` in file order and int64 labels.

    Example:
        >>> import tensorflow_datasets as tfds
        >>> with tfds.testing.mock_data(num_examples=6):
        ...     x, y, names = load_tfds_arrays("mnist_corrupted/fog", "test")
        >>> x.shape, x.dtype.name, len(y)
        ((6, 28, 28, 1), 'uint8', 6)
    """
    import tensorflow_datasets as tfds

    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive integer or None. Received: limit={limit}")
    ds, _, names = load_tfds(name, split, data_dir=data_dir, download=download, count=False)
    if limit is not None:
        ds = ds.take(limit)
    xs, ys = [], []
    # batches of 4,096 rather than batch_size=-1, which aborts the process on TFDS mock data
    for xb, yb in tfds.as_numpy(ds.batch(4096)):
        xs.append(xb)
        ys.append(yb)
    if not xs:
        raise ValueError(f"tfds set {name!r} split {split!r} holds no images.")
    return (np.concatenate(xs).astype(np.uint8), np.concatenate(ys).astype(np.int64),
            list(names))

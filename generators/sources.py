"""Data sources: MNIST idx files (gzip or plain) and TensorFlow Datasets sets.

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

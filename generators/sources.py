"""Data sources: MNIST idx files (gzip or plain).

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

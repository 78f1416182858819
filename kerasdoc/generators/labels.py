"""Checks of in-memory labels (``ImageDataGenerator.flow(x, y)``), as label files are checked.

``y`` is read the way the flow reads it: a 1-D array of integers (or of whole floats) holds
class ids (sparse labels), a 2-D array with several columns holds one-hot or probability rows
(categorical labels); any other ``y`` (fractional 1-D floats: regression targets) is passed
through. Every value must be finite; class ids and one-hot values must be >= 0. The error
names the first bad value and its index.

Example:
    >>> import numpy as np
    >>> check_array_labels(np.array([0, 2, 1]))
    >>> try:
    ...     check_array_labels(np.array([0, -1, 2]))
    ... except ValueError as e:
    ...     print(e)
    y[1] = -1 is negative: class ids (sparse labels) are integers >= 0
"""

from __future__ import annotations

import numpy as np


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _where(index: tuple[int, ...]) -> str:
    return "y[" + ", ".join(map(str, index)) + "]"


def check_array_labels(y: np.ndarray) -> None:
    """Raise ``ValueError`` naming the first label of ``y`` that is not finite, or a negative
    class id / one-hot value; return None when every label is fine.

    Args:
        y: array. The targets given to ``flow(x, y)``.
    """
    y = np.asarray(y)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        return  # strings, objects: passed through as Keras 2 did
    if np.issubdtype(y.dtype, np.floating) or np.issubdtype(y.dtype, np.complexfloating):
        bad = ~np.isfinite(y)
        if bad.any():
            i = _first(bad)
            raise ValueError(f"{_where(i)} = {y[i]} is not a finite number: labels must be "
                             "finite (class ids 0, 1, ..., one-hot rows, or finite targets)")
    if np.issubdtype(y.dtype, np.complexfloating) or y.dtype == bool:
        return
    sparse = y.ndim == 1 and (np.issubdtype(y.dtype, np.integer) or np.all(y == np.round(y)))
    categorical = y.ndim == 2 and y.shape[1] > 1
    if (sparse or categorical) and y.size and (y < 0).any():
        i = _first(y < 0)
        value = y[i].item()
        value = int(value) if float(value).is_integer() else value
        what = ("class ids (sparse labels) are integers >= 0" if sparse else
                "one-hot or probability rows (categorical labels) hold values >= 0")
        raise ValueError(f"{_where(i)} = {value} is negative: {what}")

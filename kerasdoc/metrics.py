"""The three indicators of seeds/002 (Suzuki et al. 2021), as NumPy functions and a Keras metric.

* identification error rate: share of images whose argmax class is wrong;
* numerical error per image: mean ``|value(argmax) - value(true)|`` over all images;
* numerical error per misidentified image: the same mean over the wrongly classified images only.

The paper's Table 2 equals Table 1 x Table 3 (e.g. CNN / Dig-MNIST: 0.215 x 3.06 = 0.66 ~ 0.65),
which confirms that the numerical error is taken at the argmax prediction, not at the expectation.

Example:
    >>> import numpy as np
    >>> y_true = np.array([3, 5, 9, 0])
    >>> y_pred = np.array([3, 4, 0, 0])          # labels or (batch, classes) probabilities
    >>> error_rate(y_true, y_pred)
    0.5
    >>> numeric_error_per_image(y_true, y_pred)  # (0 + 1 + 9 + 0) / 4
    2.5
    >>> numeric_error_per_misidentified(y_true, y_pred)  # (1 + 9) / 2
    5.0
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np
from keras import ops


def _labels(y) -> np.ndarray:
    """Class indices from labels ``(n,)`` / ``(n, 1)`` or scores / one-hot ``(n, C)``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(-1).astype(np.int64)


def _values(values: Iterable[float] | None, n: int) -> np.ndarray:
    vals = np.arange(n, dtype=np.float64) if values is None else np.asarray(list(values), float)
    return vals


def numeric_errors(y_true, y_pred, values: Iterable[float] | None = None) -> np.ndarray:
    """Per-image ``|value(predicted class) - value(true class)|`` (0 where correct)."""
    t, p = _labels(y_true), _labels(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred name different numbers of images: "
                         f"{t.shape[0]} vs {p.shape[0]}.")
    vals = _values(values, int(max(t.max(initial=0), p.max(initial=0))) + 1)
    return np.abs(vals[p] - vals[t])


def error_rate(y_true, y_pred) -> float:
    """Identification error rate in [0, 1] (Table 1 of seeds/002 gives it in %)."""
    t, p = _labels(y_true), _labels(y_pred)
    return float(np.mean(t != p)) if t.size else 0.0


def numeric_error_per_image(y_true, y_pred, values: Iterable[float] | None = None) -> float:
    """Mean numerical error over all images (Table 2 of seeds/002)."""
    err = numeric_errors(y_true, y_pred, values)
    return float(err.mean()) if err.size else 0.0


def numeric_error_per_misidentified(y_true, y_pred,
                                    values: Iterable[float] | None = None) -> float:
    """Mean numerical error over misidentified images (Table 3); NaN when none is wrong."""
    t, p = _labels(y_true), _labels(y_pred)
    wrong = t != p
    if not wrong.any():
        return float("nan")
    return float(numeric_errors(t, p, values)[wrong].mean())


def numeric_error_histogram(y_true, y_pred, values: Iterable[float] | None = None,
                            max_error: int = 9) -> np.ndarray:
    """Counts of each integer numerical error 1..max_error among misidentified images (Fig. 5)."""
    err = numeric_errors(y_true, y_pred, values)
    err = np.rint(err[err > 0]).astype(int)
    return np.bincount(np.clip(err, 0, max_error), minlength=max_error + 1)[1:]


@keras.saving.register_keras_serializable(package="kerasdoc")
class NumericError(keras.metrics.Metric):
    """Streaming numerical error per image, ``|value(argmax) - value(true)|`` averaged.

    Accepts sparse or one-hot labels, for monitoring during ``fit``.

    Example:
        >>> import numpy as np
        >>> m = NumericError()
        >>> m.update_state(np.array([2, 7]), np.eye(10)[[2, 1]])
        >>> float(m.result())  # (0 + 6) / 2
        3.0
    """

    def __init__(self, values: Iterable[float] | None = None, name: str = "numeric_error",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.values = [float(v) for v in (range(10) if values is None else values)]
        self.total = self.add_weight(name="total", shape=(), initializer="zeros")
        self.count = self.add_weight(name="count", shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) >= 2 and y_true.shape[-1] == len(self.values):
            t = ops.argmax(y_true, axis=-1)
        else:
            t = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        p = ops.argmax(y_pred, axis=-1)
        vals = ops.convert_to_tensor(self.values, dtype=self.dtype)
        err = ops.abs(ops.take(vals, p) - ops.take(vals, t))
        if sample_weight is not None:
            sw = ops.reshape(ops.cast(sample_weight, self.dtype), (-1,))
            self.total.assign_add(ops.sum(err * sw))
            self.count.assign_add(ops.sum(sw))
        else:
            self.total.assign_add(ops.sum(err))
            self.count.assign_add(ops.cast(ops.shape(err)[0], self.dtype))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def get_config(self):
        return {**super().get_config(), "values": self.values}

"""The numeric loss of Suzuki et al. (seeds/002) and its combination with cross-entropy.

Algorithm 1 of the paper, for a one-hot label ``True``, a predicted distribution ``Predict`` and
the numerical value of each class ``Numeric``::

    TrueNumeric    = True . Numeric
    PredictNumeric = Predict . Numeric
    Loss           = alpha * |TrueNumeric - PredictNumeric|

and the proposed objective ``L = beta * CE + (1 - beta) * NumericLoss`` with alpha = 0.05 and
beta = 0.9. Both losses accept sparse integer labels (shape ``(batch,)`` or ``(batch, 1)``) and
one-hot labels (shape ``(batch, num_classes)``), and serialise with the model.

Example:
    >>> import numpy as np
    >>> loss = NumericLoss()
    >>> round(float(loss(np.array([3]), np.eye(10, dtype="float32")[[5]])), 6)  # 0.05 * |3 - 5|
    0.1
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
from keras import ops


def _values_list(values: Iterable[float] | None) -> list[float]:
    vals = [float(v) for v in (range(10) if values is None else values)]
    if len(vals) < 2:
        raise ValueError(f"values must name at least two class values. Received: values={vals}")
    return vals


def _as_one_hot(y_true, num_classes: int, dtype):
    """One-hot ``y_true`` if it is sparse (rank 1, or rank 2 with a last axis of 1)."""
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) >= 2 and y_true.shape[-1] == num_classes:
        return ops.cast(y_true, dtype)
    if len(y_true.shape) >= 2 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    return ops.one_hot(ops.cast(y_true, "int32"), num_classes, dtype=dtype)


def numeric_loss(y_true, y_pred, values: Iterable[float] | None = None, alpha: float = 0.05,
                 from_logits: bool = False):
    """Per-sample numeric loss (Algorithm 1 of seeds/002): ``alpha * |True.Num - Predict.Num|``.

    Args:
        y_true: sparse class indices ``(batch,)`` / ``(batch, 1)`` or one-hot ``(batch, C)``.
        y_pred: predicted probabilities ``(batch, C)`` (or logits with ``from_logits=True``).
        values: the numerical value of each class (``Numeric``). Defaults to ``range(10)``.
        alpha: float. Scale of the loss. Defaults to 0.05 (the paper's value).
        from_logits: bool. Apply a softmax to ``y_pred`` first.

    Returns:
        A tensor of shape ``(batch,)``.
    """
    vals = _values_list(values)
    y_pred = ops.convert_to_tensor(y_pred)
    if y_pred.shape[-1] is not None and y_pred.shape[-1] != len(vals):
        raise ValueError(
            f"The model predicts {y_pred.shape[-1]} classes but {len(vals)} class values were "
            f"given. Received: values={vals}"
        )
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=-1)
    numeric = ops.convert_to_tensor(vals, dtype=y_pred.dtype)
    y_true = _as_one_hot(y_true, len(vals), y_pred.dtype)
    true_numeric = ops.sum(y_true * numeric, axis=-1)
    pred_numeric = ops.sum(y_pred * numeric, axis=-1)
    return alpha * ops.abs(true_numeric - pred_numeric)


@keras.saving.register_keras_serializable(package="kerasdoc")
class NumericLoss(keras.losses.Loss):
    """Numeric loss of seeds/002 (Algorithm 1), averaged over the batch.

    Args:
        alpha: float. Scale; the paper uses 0.05 "to adjust the influence of L1 and L2 to be
            comparable". Defaults to 0.05.
        values: iterable of float. The value each class stands for (``Numeric``). Defaults to
            0..9, the digits.
        from_logits: bool. Whether ``y_pred`` are logits. Defaults to False (softmax outputs).
        reduction, name: as for any ``keras.losses.Loss``.

    Example:
        >>> import numpy as np
        >>> y_pred = np.array([[0.5, 0.5] + [0.0] * 8], dtype="float32")  # expects 0.5
        >>> round(float(NumericLoss()(np.array([[1.0] + [0.0] * 9]), y_pred)), 6)  # 0.05 * 0.5
        0.025
    """

    def __init__(self, alpha: float = 0.05, values: Iterable[float] | None = None,
                 from_logits: bool = False, reduction: str = "sum_over_batch_size",
                 name: str = "numeric_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = float(alpha)
        self.values = _values_list(values)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return numeric_loss(y_true, y_pred, self.values, self.alpha, self.from_logits)

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, values=self.values, from_logits=self.from_logits)
        return config


@keras.saving.register_keras_serializable(package="kerasdoc")
class CombinedNumericLoss(keras.losses.Loss):
    """``L = beta * categorical cross-entropy + (1 - beta) * numeric loss`` (seeds/002, eq. 1).

    Args:
        alpha: float. Scale of the numeric loss. Defaults to 0.05.
        beta: float in [0, 1]. Weight of the cross-entropy; the paper uses 0.9 "so as not to
            reduce the identification accuracy". ``beta=1`` is the baseline (plain CE).
        values: iterable of float. Class values. Defaults to 0..9.
        from_logits: bool. Whether ``y_pred`` are logits. Defaults to False.

    Example:
        >>> import numpy as np
        >>> y_pred = np.full((1, 10), 0.1, dtype="float32")
        >>> loss = CombinedNumericLoss(beta=1.0)  # beta = 1: cross-entropy alone
        >>> round(float(loss(np.array([0]), y_pred)), 4)  # -log(0.1)
        2.3026
    """

    def __init__(self, alpha: float = 0.05, beta: float = 0.9,
                 values: Iterable[float] | None = None, from_logits: bool = False,
                 reduction: str = "sum_over_batch_size", name: str = "combined_numeric_loss",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not 0.0 <= float(beta) <= 1.0:
            raise ValueError(f"beta must be in [0, 1]. Received: beta={beta}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.values = _values_list(values)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        one_hot = _as_one_hot(y_true, len(self.values), y_pred.dtype)
        ce = keras.losses.categorical_crossentropy(one_hot, y_pred, from_logits=self.from_logits)
        num = numeric_loss(one_hot, y_pred, self.values, self.alpha, self.from_logits)
        return self.beta * ce + (1.0 - self.beta) * num

    def get_config(self):
        config = super().get_config()
        config.update(alpha=self.alpha, beta=self.beta, values=self.values,
                      from_logits=self.from_logits)
        return config

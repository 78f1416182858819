"""Discriminative learning rates: an Adam whose step size is scaled per layer group.

Persian OCR report (seeds/004, Kendal): ``fit_one_cycle(5, max_lr=slice(1e-6, 1e-4))`` gives
"the first group's learning rate start, the last end, and the remaining evenly geometrically
spaced". Keras optimizers have one learning rate, so :class:`DiscriminativeAdam` multiplies the
(scheduled) base rate by a fixed factor per variable, chosen by the variable's layer name. Scaling
gradients instead would not work for Adam (its step does not depend on the gradient's scale).

Its ``beta_1`` lives in a variable, so the one-cycle callback can schedule it as fastai
schedules the momentum.

Example:
    >>> import keras, numpy as np
    >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="a")])
    >>> opt = DiscriminativeAdam(1e-3, lr_multipliers={"a": 0.1})
    >>> m.compile(opt, "mse")
    >>> float(m.train_on_batch(np.ones((4, 2)), np.zeros((4, 1)))) >= 0
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasdoc")
class DiscriminativeAdam(keras.optimizers.Adam):
    """Adam (with optional decoupled weight decay) and one learning-rate factor per layer.

    Paper: seeds/004 (fastai's discriminative learning rates, ``slice(start, end)``).

    Args:
        learning_rate: float or schedule. The base rate (the last, highest-rate group's).
        lr_multipliers: dict. ``{layer_name: factor}``; a variable whose path starts with
            ``layer_name/`` takes ``learning_rate * factor``; others take factor 1.
        beta_1: float. First-moment decay (schedulable: stored in a variable). Defaults to 0.9.
        beta_2: float. Defaults to 0.99 (fastai's Adam).
        epsilon: float. Defaults to 1e-5 (fastai's Adam).
        decoupled_wd: float. Decoupled weight decay (AdamW, fastai's ``true_wd``), applied as
            ``w -= lr_group * wd * w``. Defaults to 0.
        **kwargs: other ``keras.optimizers.Optimizer`` arguments.

    Example:
        >>> DiscriminativeAdam(1e-3, lr_multipliers={"conv": 0.01}).get_config()["lr_multipliers"]
        {'conv': 0.01}
    """

    def __init__(self, learning_rate=1e-3, lr_multipliers: dict[str, float] | None = None,
                 beta_1: float = 0.9, beta_2: float = 0.99, epsilon: float = 1e-5,
                 decoupled_wd: float = 0.0, name: str = "discriminative_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, name=name, **kwargs)
        self.lr_multipliers = {str(k): float(v) for k, v in (lr_multipliers or {}).items()}
        bad = {k: v for k, v in self.lr_multipliers.items() if not (v >= 0 and math.isfinite(v))}
        if bad:
            raise ValueError(f"lr_multipliers must be finite and >= 0. Received: {bad}")
        if decoupled_wd < 0:
            raise ValueError(f"decoupled_wd must be >= 0. Received: decoupled_wd={decoupled_wd}")
        self.decoupled_wd = float(decoupled_wd)
        self._initial_beta_1 = float(beta_1)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.beta_1_var = self.add_variable(
            (), initializer=keras.initializers.Constant(self._initial_beta_1), dtype="float32",
            name="beta_1")
        self._multipliers = [self.multiplier_for(v.path) for v in var_list]

    def multiplier_for(self, path: str) -> float:
        """The factor of a variable path such as ``"stage1_block1_1_conv/kernel"`` (1.0 if none)."""
        layer = path.split("/")[-2] if "/" in path else path
        return self.lr_multipliers.get(layer, 1.0)

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        factor = self._multipliers[index]
        lr = ops.cast(learning_rate, variable.dtype) * factor
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1 = ops.cast(self.beta_1_var, variable.dtype)
        beta_2 = ops.cast(self.beta_2, variable.dtype)
        m = self._momentums[index]
        v = self._velocities[index]
        alpha = lr * ops.sqrt(1 - ops.power(beta_2, step)) / (1 - ops.power(beta_1, step))
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2))
        if self.decoupled_wd:
            self.assign_sub(variable, variable * (lr * self.decoupled_wd))
        self.assign_sub(variable, ops.divide(ops.multiply(m, alpha),
                                             ops.add(ops.sqrt(v), self.epsilon)))

    def set_beta_1(self, value: float) -> None:
        """Set the first-moment decay (the one-cycle "momentum")."""
        if not self.built:
            self._initial_beta_1 = float(value)
        else:
            self.beta_1_var.assign(float(value))

    def get_config(self):
        config = super().get_config()
        config.update(lr_multipliers=dict(self.lr_multipliers), decoupled_wd=self.decoupled_wd)
        return config


def lr_range(lr, n_groups: int) -> list[float]:
    """fastai's ``lr_range``: a learning rate per layer group from a float, a slice or a list.

    Paper: seeds/004 (``max_lr=slice(1e-6, 1e-4)``: first group start, last group end, the rest
    geometrically spaced; ``slice(lr)``: ``lr / 10`` for every group but the last).

    Args:
        lr: float (every group the same), ``slice(start, end)``, ``slice(end)``, or a sequence of
            ``n_groups`` floats.
        n_groups: int. Number of layer groups.

    Returns:
        A list of ``n_groups`` learning rates.

    Example:
        >>> [f"{x:.0e}" for x in lr_range(slice(1e-6, 1e-4), 3)]
        ['1e-06', '1e-05', '1e-04']
    """
    if n_groups < 1:
        raise ValueError(f"n_groups must be >= 1. Received: n_groups={n_groups}")
    if isinstance(lr, slice):
        if lr.stop is None:
            raise ValueError(f"A slice of learning rates needs a stop value. Received: {lr}")
        end = float(lr.stop)
        if lr.start is None:
            rates = [end / 10] * (n_groups - 1) + [end]
        else:
            start = float(lr.start)
            if start <= 0 or end <= 0:
                raise ValueError(f"Learning rates must be > 0. Received: {lr}")
            if n_groups == 1:
                rates = [end]
            else:
                ratio = (end / start) ** (1 / (n_groups - 1))
                rates = [start * ratio**i for i in range(n_groups)]
                rates[-1] = end
    elif isinstance(lr, Sequence) and not isinstance(lr, str):
        rates = [float(x) for x in lr]
        if len(rates) != n_groups:
            raise ValueError(f"Expected {n_groups} learning rates (one per layer group). "
                             f"Received: {list(lr)}")
    else:
        rates = [float(lr)] * n_groups
    if any(not (r > 0 and math.isfinite(r)) for r in rates):
        raise ValueError(f"Learning rates must be finite and > 0. Received: {rates}")
    return rates

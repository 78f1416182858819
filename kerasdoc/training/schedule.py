"""One-cycle training and the learning-rate finder, as thin wrappers around ``fit``.

Paper: seeds/004 (Kendal, Persian OCR): ``learn.fit_one_cycle(4)``, ``learn.unfreeze();
learn.fit_one_cycle(5, max_lr=slice(1e-6, 1e-4))`` and ``learn.lr_find(); learn.recorder.plot()``
(fastai ``callback/schedule.py``; Smith 2018, "A disciplined approach to neural network
hyper-parameters").

Example:
    >>> import numpy as np, keras
    >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="logits"),
    ...                       keras.layers.Activation("softmax", name="predictions")])
    >>> x, y = np.random.rand(64, 4).astype("float32"), np.arange(64) % 3
    >>> h = fit_one_cycle(m, (x, y), 2, 1e-2, batch_size=16, verbose=0)
    >>> len(h.history["lr"])
    2
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasdoc.generators.epoch_arrays import EpochArrays, feedable
from kerasdoc.keras_internals import build_before_fit
from kerasdoc.reporting import save_figure
from kerasdoc.training.groups import group_lr_multipliers, layer_groups
from kerasdoc.training.optim import DiscriminativeAdam, lr_range
from kerasdoc.training.rates import ONE_CYCLE_PRESETS, lr_text, parse_lr  # noqa: F401 (re-exported)


def _annealing_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)


def one_cycle_values(step: int, total: int, lr_max: float, *, div: float = 25.0,
                     pct_start: float = 0.25, final_div: float = 1e4,
                     moms: tuple[float, float] = (0.95, 0.85)) -> tuple[float, float]:
    """The (learning rate, momentum) of the one-cycle policy at ``step`` of ``total``.

    Warm-up (the first ``pct_start`` of the steps): cosine from ``lr_max / div`` up to ``lr_max``
    while the momentum goes from ``moms[0]`` down to ``moms[1]``; then cosine down to
    ``lr_max / final_div`` while the momentum goes back up.

    Example:
        >>> [round(v, 4) for v in one_cycle_values(0, 100, 1.0)]
        [0.04, 0.95]
        >>> [round(v, 4) for v in one_cycle_values(25, 100, 1.0)]
        [1.0, 0.85]
    """
    if total < 1:
        raise ValueError(f"total steps must be >= 1. Received: total={total}")
    if not 0 <= pct_start < 1:
        raise ValueError(f"pct_start must be in [0, 1). Received: pct_start={pct_start}")
    warm = max(1, round(total * pct_start)) if pct_start > 0 else 0
    if step < warm:
        pct = step / warm
        return (_annealing_cos(lr_max / div, lr_max, pct),
                _annealing_cos(moms[0], moms[1], pct))
    pct = (step - warm) / max(1, total - warm)
    return (_annealing_cos(lr_max, lr_max / final_div, min(pct, 1.0)),
            _annealing_cos(moms[1], moms[0], min(pct, 1.0)))


class OneCycleScheduler(keras.callbacks.Callback):
    """Set the optimizer's learning rate and momentum (Adam's ``beta_1``) before every batch.

    Paper: seeds/004 ("the learning rate starts low, increases and then decreases").

    Args:
        total_steps: int. Batches in the whole cycle (epochs x steps per epoch).
        lr_max: float. Peak base learning rate.
        div: float. Start rate is ``lr_max / div``. Defaults to 25.
        pct_start: float. Fraction of the steps spent warming up. Defaults to 0.25.
        final_div: float. End rate is ``lr_max / final_div``. Defaults to 1e4.
        moms: (float, float). Momentum at the start/end and at the peak. Defaults to (0.95, 0.85).
        steps_per_epoch: int or None. With it, the step is set from the epoch at every epoch's
            start, so a fit resumed after epoch k (``BackupAndRestore``) continues the cycle
            where it stopped instead of warming up again.

    The momentum is applied to :class:`DiscriminativeAdam` (``beta_1``), to an optimizer with a
    ``momentum`` variable, and otherwise left alone. ``logs["lr"]`` / ``logs["mom"]`` record the
    last values of each epoch; ``self.lrs`` / ``self.moms_seen`` every batch's.
    """

    def __init__(self, total_steps: int, lr_max: float, *, div: float = 25.0,
                 pct_start: float = 0.25, final_div: float = 1e4,
                 moms: tuple[float, float] = (0.95, 0.85), steps_per_epoch: int | None = None):
        super().__init__()
        self.total_steps = int(total_steps)
        self.steps_per_epoch = int(steps_per_epoch) if steps_per_epoch else None
        self.lr_max = float(lr_max)
        self.kw = dict(div=div, pct_start=pct_start, final_div=final_div, moms=tuple(moms))
        self.step = 0
        self.lrs: list[float] = []
        self.moms_seen: list[float] = []
        one_cycle_values(0, self.total_steps, self.lr_max, **self.kw)  # validate early

    def on_epoch_begin(self, epoch, logs=None):
        if self.steps_per_epoch:
            self.step = epoch * self.steps_per_epoch

    def on_train_batch_begin(self, batch, logs=None):
        lr, mom = one_cycle_values(min(self.step, self.total_steps - 1), self.total_steps,
                                   self.lr_max, **self.kw)
        opt = self.model.optimizer
        opt.learning_rate.assign(lr)
        if isinstance(opt, DiscriminativeAdam):
            opt.set_beta_1(mom)
        elif isinstance(getattr(opt, "momentum", None), keras.Variable):
            opt.momentum.assign(mom)
        self.lrs.append(lr)
        self.moms_seen.append(mom)
        self.step += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.lrs:
            logs["lr"] = self.lrs[-1]
            logs["mom"] = self.moms_seen[-1]


def _steps_per_epoch(data, batch_size: int | None, steps_per_epoch: int | None) -> int:
    if isinstance(data, np.ndarray):
        raise ValueError(f"data must be (x, y) arrays or a dataset of (x, y) batches. Received "
                         f"one array of shape {data.shape}.")
    if steps_per_epoch:
        return int(steps_per_epoch)
    if isinstance(data, tf.data.Dataset):
        n = int(data.cardinality())
        if n < 0:
            raise ValueError("The dataset's length is unknown (infinite or filtered): pass "
                             "steps_per_epoch.")
        return n
    if isinstance(data, keras.utils.PyDataset) or hasattr(data, "__len__") and not isinstance(
            data, tuple):
        return len(data)
    if isinstance(data, tuple):
        n = len(data[0])
        return math.ceil(n / (batch_size or 32))
    if hasattr(data, "dataset"):
        return _steps_per_epoch(data.dataset, batch_size, steps_per_epoch)
    raise ValueError(f"Cannot tell the steps per epoch of {type(data).__name__}: pass "
                     "steps_per_epoch.")


def _fit_args(data, batch_size):
    """``(x, y, batch_size)`` for ``model.fit`` from a ``(x, y)`` tuple or a dataset-like.
    NumPy ``(x, y)`` become an :class:`~kerasdoc.generators.epoch_arrays.EpochArrays` feed
    (each epoch its own order, seeded from NumPy's global state, which
    ``keras.utils.set_random_seed`` sets; Keras' own array feed repeats one order under a seed).
    """
    if isinstance(data, tuple):
        if len(data) != 2:
            raise ValueError(f"data must be (x, y) or a dataset. Received a tuple of {len(data)}.")
        x, y, batch_size = data[0], data[1], batch_size or 32
        if feedable(x, y):
            seed = int(np.random.randint(2 ** 31 - 1))
            return EpochArrays(x, y, batch_size=batch_size, seed=seed), None, None
        return x, y, batch_size
    if hasattr(data, "dataset") and not isinstance(data, (tf.data.Dataset, keras.utils.PyDataset)):
        data = data.dataset
    return data, None, None


def compile_discriminative(model: keras.Model, lr: float | slice | Sequence[float] = 3e-3, *,
                           loss: Any = "sparse_categorical_crossentropy",
                           metrics: Sequence[Any] | None = ("accuracy",), wd: float = 1e-2,
                           n_body_groups: int = 2, **optimizer_kwargs) -> list[float]:
    """Compile ``model`` with a :class:`DiscriminativeAdam` holding one rate per layer group.

    The optimizer is created and the model compiled inside ``model.distribute_strategy.scope()``
    (a model built under a ``MirroredStrategy`` gets mirrored optimizer slots).

    Args:
        model: keras.Model.
        lr: float, ``slice(start, end)``, ``slice(end)`` or one rate per group (see
            :func:`kerasdoc.training.lr_range`).
        loss: the loss. Defaults to sparse categorical cross-entropy (softmax outputs).
        metrics: metrics for ``compile``. Defaults to ("accuracy",).
        wd: float. Decoupled weight decay. Defaults to 1e-2 (fastai's default).
        n_body_groups: int. See :func:`kerasdoc.training.layer_groups`.
        **optimizer_kwargs: passed to :class:`DiscriminativeAdam`.

    Returns:
        The learning rate of each layer group.
    """
    rates = lr_range(lr, len(layer_groups(model, n_body_groups)))
    mult = group_lr_multipliers(model, rates, n_body_groups=n_body_groups)
    # optimizer variables belong to the strategy the model was built under
    with model.distribute_strategy.scope():
        opt = DiscriminativeAdam(rates[-1], lr_multipliers=mult, decoupled_wd=wd,
                                 **optimizer_kwargs)
        model.compile(optimizer=opt, loss=loss, metrics=list(metrics or []))
    return rates


def fit_one_cycle(model: keras.Model, data, epochs: int,
                  lr_max: float | slice | Sequence[float] = 3e-3, *, div: float | None = None,
                  pct_start: float | None = None, final_div: float | None = None,
                  preset: str = "kerasdoc",
                  moms: tuple[float, float] = (0.95, 0.85), wd: float = 1e-2,
                  validation_data=None, batch_size: int | None = None,
                  steps_per_epoch: int | None = None,
                  loss: Any = "sparse_categorical_crossentropy",
                  metrics: Sequence[Any] | None = ("accuracy",),
                  callbacks: Sequence[keras.callbacks.Callback] | None = None,
                  n_body_groups: int = 2, verbose: int | str = "auto") -> keras.callbacks.History:
    """Train ``epochs`` epochs with the one-cycle policy (fastai ``fit_one_cycle``).

    Paper: seeds/004 (``fit_one_cycle(4)``, then ``fit_one_cycle(5, max_lr=slice(1e-6, 1e-4))``).
    The model is compiled afresh (a new :class:`DiscriminativeAdam`), so call it after
    ``freeze`` / ``unfreeze``.

    Args:
        model: keras.Model with a softmax output (for the default loss).
        data: ``(x, y)`` arrays, a ``tf.data.Dataset`` of batches, a ``keras.utils.PyDataset``,
            or a generator object with ``.dataset``.
        epochs: int. Epochs in the cycle.
        lr_max: float, ``slice(start, end)`` / ``slice(end)`` (discriminative rates over the layer
            groups) or one rate per group. The peak learning rates. Defaults to 3e-3.
        div: float. Start rate is ``lr_max / div``. Default: the preset's (25).
        pct_start: float. Warm-up fraction. Default: the preset's (0.25; fastai v1: 0.3).
        final_div: float. End rate is ``lr_max / final_div``. Default: the preset's (1e4;
            fastai v1: 2.5e5).
        preset: str. A key of :data:`ONE_CYCLE_PRESETS` (``"kerasdoc"`` or ``"fastai-v1"``)
            giving the defaults of ``div``, ``pct_start`` and ``final_div``. Defaults to
            "kerasdoc".
        moms: (float, float). Adam's ``beta_1`` at start/end and at the peak.
            Defaults to (0.95, 0.85).
        wd: float. Decoupled weight decay. Defaults to 1e-2.
        validation_data: passed to ``fit``.
        batch_size: int. For array data. Defaults to 32.
        steps_per_epoch: int. Needed only when the data's length is unknown.
        loss: the loss. Defaults to "sparse_categorical_crossentropy".
        metrics: compile metrics. Defaults to ("accuracy",).
        callbacks: more callbacks for ``fit``.
        n_body_groups: int. See :func:`kerasdoc.training.layer_groups`.
        verbose: passed to ``fit``.

    Returns:
        The ``History`` (with ``lr`` and ``mom`` per epoch; ``history.one_cycle`` is the
        scheduler, holding every batch's rate in ``.lrs``).
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1. Received: epochs={epochs}")
    if preset not in ONE_CYCLE_PRESETS:
        raise ValueError(f"preset must be one of {sorted(ONE_CYCLE_PRESETS)}. Received: "
                         f"preset={preset!r}")
    kw = {**ONE_CYCLE_PRESETS[preset], **{k: v for k, v in (
        ("div", div), ("pct_start", pct_start), ("final_div", final_div)) if v is not None}}
    steps = _steps_per_epoch(data, batch_size, steps_per_epoch)
    rates = compile_discriminative(model, lr_max, loss=loss, metrics=metrics, wd=wd,
                                   n_body_groups=n_body_groups)
    sched = OneCycleScheduler(epochs * steps, rates[-1], moms=moms, steps_per_epoch=steps,
                              **kw)
    x, y, bs = _fit_args(data, batch_size)
    build_before_fit(model, x, y)  # one trace of the training step, not two
    history = model.fit(x, y, batch_size=bs, epochs=epochs, steps_per_epoch=steps_per_epoch,
                        validation_data=validation_data, shuffle=y is not None,
                        callbacks=[sched, *(callbacks or [])], verbose=verbose)
    history.one_cycle = sched
    history.group_lrs = rates
    return history


@dataclass
class LRFinderResult:
    """What :func:`lr_find` measured: the rates tried, raw and smoothed losses, suggestions."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggestions: dict[str, float] = field(default_factory=dict)
    plot_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"lrs": self.lrs, "losses": self.losses, "smoothed": self.smoothed,
                "suggestions": self.suggestions,
                "plot": str(self.plot_path) if self.plot_path else None}


class _LRSweep(keras.callbacks.Callback):
    def __init__(self, start_lr, end_lr, num_iter, beta, stop_div):
        super().__init__()
        self.start_lr, self.end_lr, self.num_iter = start_lr, end_lr, num_iter
        self.beta, self.stop_div = beta, stop_div
        self.lrs, self.losses, self.smoothed = [], [], []
        self.avg, self.best, self.i = 0.0, math.inf, 0

    def on_train_batch_begin(self, batch, logs=None):
        lr = self.start_lr * (self.end_lr / self.start_lr) ** (self.i / max(1, self.num_iter - 1))
        self.model.optimizer.learning_rate.assign(lr)
        self.lrs.append(lr)

    def on_train_batch_end(self, batch, logs=None):
        loss = float(logs["loss"]) if logs and "loss" in logs else math.nan
        self.i += 1
        self.losses.append(loss)
        self.avg = self.beta * self.avg + (1 - self.beta) * loss
        smooth = self.avg / (1 - self.beta**self.i)
        self.smoothed.append(smooth)
        self.best = min(self.best, smooth)
        if (self.i >= self.num_iter or not math.isfinite(smooth)
                or (self.stop_div and smooth > 4 * self.best)):
            self.model.stop_training = True


def _valley(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """fastai's ``valley``: the rate 2/3 down the longest decreasing stretch of the loss."""
    n = len(losses)
    lds = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[min(idx, n - 1)])


def lr_suggestions(lrs: Sequence[float], smoothed: Sequence[float]) -> dict[str, float]:
    """Suggested rates from a sweep: ``steepest`` (most negative d loss / d log lr), ``valley``
    (fastai's default) and ``minimum`` (the rate of the lowest loss, divided by 10).

    Example:
        >>> lrs = list(np.geomspace(1e-5, 1, 50)); loss = [1 - 0.5 * np.tanh(np.log10(lr) + 3)
        ...                                              for lr in lrs]
        >>> 1e-4 < lr_suggestions(lrs, loss)["steepest"] < 1e-2
        True
    """
    lrs_a, loss_a = np.asarray(lrs, float), np.asarray(smoothed, float)
    ok = np.isfinite(loss_a)
    lrs_a, loss_a = lrs_a[ok], loss_a[ok]
    # as fastai's plot: leave out the first points (smoothing warm-up) and the last (divergence)
    skip_start, skip_end = min(10, len(lrs_a) // 10), min(5, len(lrs_a) // 10)
    if len(lrs_a) - skip_start - skip_end >= 3:
        lrs_a = lrs_a[skip_start:len(lrs_a) - skip_end]
        loss_a = loss_a[skip_start:len(loss_a) - skip_end]
    if len(lrs_a) < 3:
        raise ValueError(f"Too few finite points in the LR sweep ({len(lrs_a)}) to suggest a "
                         "learning rate: run more iterations or start lower.")
    grads = np.gradient(loss_a, np.log(lrs_a))
    return {"steepest": float(lrs_a[int(np.argmin(grads))]),
            "valley": _valley(list(lrs_a), list(loss_a)),
            "minimum": float(lrs_a[int(np.argmin(loss_a))] / 10)}


def plot_lr_find(result: LRFinderResult, path: str | Path) -> Path:
    """Save the LR finder's plot (smoothed loss against the learning rate, log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.lrs[:len(result.smoothed)], result.smoothed, label="smoothed loss")
    for (name, lr), marker in zip(result.suggestions.items(), "ovs"):
        i = int(np.argmin(np.abs(np.log(np.asarray(result.lrs)) - math.log(lr))))
        ax.plot(lr, result.smoothed[min(i, len(result.smoothed) - 1)], marker, markersize=8,
                label=f"{name}: {lr:.1e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.set_title("LR finder")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def lr_find(model: keras.Model, data, *, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_iter: int = 100, stop_div: bool = True, beta: float = 0.98,
            batch_size: int | None = None, loss: Any = "sparse_categorical_crossentropy",
            plot_path: str | Path | None = None, n_body_groups: int = 2) -> LRFinderResult:
    """Learning-rate range test (fastai ``lr_find``): an exponential sweep, weights restored.

    Paper: seeds/004 (``learn.lr_find(); learn.recorder.plot()``: "the loss is calculated as the
    exponentially weighted moving average of the losses"). Trains one batch per rate from
    ``start_lr`` to ``end_lr`` (re-iterating the data if it is short), stops when the smoothed
    loss exceeds 4x its minimum, then puts the model's weights back as they were. The model is
    left compiled with the sweep's optimizer: compile it again before a plain ``fit``
    (:func:`fit_one_cycle` compiles by itself).

    Args:
        model: keras.Model (frozen groups stay frozen during the sweep).
        data: ``(x, y)`` arrays or a dataset of batches (see :func:`fit_one_cycle`).
        start_lr: float. Defaults to 1e-7.
        end_lr: float. Defaults to 10.
        num_iter: int. Number of rates tried. Defaults to 100.
        stop_div: bool. Stop on divergence. Defaults to True.
        beta: float. Smoothing of the loss. Defaults to 0.98.
        batch_size: int. For array data. Defaults to 32.
        loss: the loss. Defaults to sparse categorical cross-entropy.
        plot_path: where to save the plot (PNG); None for no plot.
        n_body_groups: int. See :func:`kerasdoc.training.layer_groups`.

    Returns:
        An :class:`LRFinderResult` (``suggestions`` has ``steepest``, ``valley``, ``minimum``).
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"Expected 0 < start_lr < end_lr. Received: start_lr={start_lr}, "
                         f"end_lr={end_lr}")
    if num_iter < 3:
        raise ValueError(f"num_iter must be >= 3. Received: num_iter={num_iter}")
    saved = [w.numpy() for w in model.weights]
    sweep = _LRSweep(start_lr, end_lr, num_iter, beta, stop_div)
    compile_discriminative(model, start_lr, loss=loss, metrics=None, wd=0.0,
                           n_body_groups=n_body_groups)
    x, y, bs = _fit_args(data, batch_size)
    steps = _steps_per_epoch(data, batch_size, None)
    epochs = math.ceil(num_iter / max(1, steps))
    build_before_fit(model, x, y)
    try:
        model.fit(x, y, batch_size=bs, epochs=epochs, callbacks=[sweep], verbose=0,
                  shuffle=y is not None)
    finally:
        for w, v in zip(model.weights, saved):
            w.assign(v)
    result = LRFinderResult(sweep.lrs[:len(sweep.smoothed)], sweep.losses, sweep.smoothed)
    result.suggestions = lr_suggestions(result.lrs, result.smoothed)
    if plot_path is not None:
        result.plot_path = plot_lr_find(result, plot_path)
    return result

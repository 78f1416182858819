"""Arrays in memory fed to Keras 3's ``fit``, reshuffled every epoch: :class:`EpochArrays`.

Why not ``model.fit(x, y, shuffle=True)``: Keras 3.15's TensorFlow array feed draws its order
with ``tf.random.shuffle`` inside the dataset, and under a global seed
(``keras.utils.set_random_seed``, which every kerasdoc run sets) each epoch's new iterator
starts that op's stream afresh, so **every epoch sees the same order** (measured:
``tests/test_generators_epoch_arrays.py`` shows it on Keras' own feed). Each of its iterators
also sets up its three dataset functions with Grappler (~11 ms on two cores), twice an epoch
(one more iterator when an epoch ends, which nothing reads).

:class:`EpochArrays` is a Keras data adapter over the same arrays whose epoch ``k`` is the
seeded array flows' own epoch pass (:func:`~kerasdoc.generators.pipeline.epoch_batches`): a
stateless permutation of ``(seed, k)``, so every epoch has its own order and a run resumed at
epoch ``k`` (:meth:`kerasdoc.runs.Run.fit` sets :attr:`EpochArrays.start_epoch`) replays it.
Batches are gathered as Keras does (one ``tf.gather`` per batch, floats cast to ``floatx``),
its functions set up without Grappler (:mod:`kerasdoc.generators.tfdata`).
:meth:`kerasdoc.runs.Run.fit` feeds NumPy arrays through it.

Example:
    >>> import numpy as np
    >>> feed = EpochArrays(np.arange(5.0)[:, None], np.arange(5), batch_size=2, seed=1)
    >>> ds = feed.get_tf_dataset()
    >>> def epoch():
    ...     feed.on_epoch_begin()
    ...     return [int(v) for _, y in ds for v in y]
    >>> first, second = epoch(), epoch()
    >>> sorted(first), first != second, feed.num_batches, feed.partial_batch_size
    ([0, 1, 2, 3, 4], True, 3, 1)
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasdoc.generators.flow import EndlessPasses
from kerasdoc.generators.keras_adapter import ENDLESS, TFDatasetAdapter, keep_iterator
from kerasdoc.generators.pipeline import epoch_batches, no_autograph
from kerasdoc.generators.tfdata import map_fn


def table_options() -> tf.data.Options:
    """Options for a pipeline that captures arrays in memory (as Keras' own array feed sets
    them): no default graph rewrites, which at every ``iter()`` serialise the pipeline with its
    captured tensors, a second copy of the arrays for as long as the iterator lives (measured:
    a 64 MiB table, +68 MiB and 48 ms of CPU an ``iter()``; without them +3 MiB, 11 ms); shards
    by data under a multi-worker strategy."""
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def feedable(x: Any, y: Any) -> bool:
    """Whether :class:`EpochArrays` takes ``x`` (a NumPy array, or a tuple / list of them) and
    ``y`` (one NumPy array): arrays of numbers or booleans, one length, at least one row.
    Anything else (tensors, data frames, dicts, several targets, strings) is left to Keras' own
    feed."""
    flat = [*(x if isinstance(x, tuple | list) else (x,)), y]
    if not all(isinstance(a, np.ndarray) and a.ndim >= 1 and a.dtype.kind in "biuf"
               for a in flat):
        return False
    return len({len(a) for a in flat}) == 1 and len(flat[0]) > 0


class EpochArrays(TFDatasetAdapter):
    """``(x, y)`` arrays as a Keras 3 data adapter: batches of ``batch_size`` in an order of
    its own each epoch (module docstring).

    Args:
        x: a NumPy array, or a tuple / list of arrays (a model with several inputs).
        y: a NumPy array (targets).
        batch_size: int. Rows per batch; the last batch of an epoch may be smaller.
        shuffle: bool. Each epoch in its own seeded order (True) or in row order (False).
        seed: int. The orders' seed: epoch ``k``'s order is a function of ``(seed, k)``.

    Attributes:
        start_epoch: int. The epoch the next ``fit`` starts at (a resumed run's).
    """

    def __init__(self, x: Any, y: Any, *, batch_size: int = 32, shuffle: bool = True,
                 seed: int = 0):
        if not feedable(x, y):
            raise ValueError("EpochArrays takes NumPy arrays of numbers with one length and at "
                             "least one row (x: an array or a tuple / list of arrays, y: an "
                             f"array). Received: x={_describe(x)}, y={_describe(y)}")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
        self._arrays = (tuple(x) if isinstance(x, tuple | list) else x, y)
        self.n = len(y)
        self._batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.start_epoch = 0
        self._epochs_begun = 0
        self._epoch: tf.Variable | None = None
        self._dataset: tf.data.Dataset | None = None
        self._keras_mode: str | None = None  # keep_iterator's answer to the last Keras call
        self._endless = EndlessPasses()

    def _build(self) -> tf.data.Dataset:
        floatx = keras.config.floatx()

        def tensor(a: np.ndarray) -> tf.Tensor:
            return tf.constant(a.astype(floatx, copy=False) if a.dtype.kind == "f" else a)

        with tf.init_scope(), tf.device("/cpu:0"):
            table = tf.nest.map_structure(tensor, self._arrays)
            self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="arrays_epoch")
        if self.shuffle and self.n > 1:  # the seeded array flows' epoch pass
            ds = epoch_batches(table, self.seed, self._epoch, self._batch_size)
        else:
            ds = map_fn(tf.data.Dataset.range(self.n).batch(self._batch_size), no_autograph(
                lambda j: tf.nest.map_structure(lambda t: tf.gather(t, j), table)))
        return ds.with_options(table_options()).prefetch(tf.data.AUTOTUNE)

    # ------------------------------------------------------------------ Keras 3 data adapter
    def get_tf_dataset(self) -> tf.data.Dataset:
        """Every epoch's batches: one pipeline, its order read from the epoch variable when
        each pass begins (:meth:`on_epoch_begin` sets it). Where Keras 3 (TensorFlow) keeps one
        iterator for every epoch (:func:`~kerasdoc.generators.keras_adapter.keep_iterator`),
        the passes of epochs ``start_epoch``, ``start_epoch + 1``, ... one after another."""
        if self._dataset is None:
            self._dataset = self._build()
        self._epochs_begun = 0
        self._keras_mode = keep_iterator(self.batches_per_pass)
        if self._keras_mode != ENDLESS:
            return self._dataset
        keyed = self.shuffle and self.n > 1  # else every pass is in row order
        return self._endless(self._dataset, self._epoch if keyed else None, self.start_epoch)

    def on_epoch_begin(self) -> None:
        """Keras calls this before each epoch's iterator: the next pass is epoch
        ``start_epoch + epochs begun`` (endless passes set it themselves)."""
        if self._dataset is None:
            self._dataset = self._build()
        if self._keras_mode != ENDLESS:
            self._epoch.assign(self.start_epoch + self._epochs_begun)
            self._epochs_begun += 1

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch; None once :func:`~kerasdoc.generators.keras_adapter.
        keep_iterator` has told Keras the count (it would end each epoch's iterator again)."""
        return None if self._keras_mode else self.batches_per_pass

    @property
    def batches_per_pass(self) -> int:
        return math.ceil(self.n / self._batch_size)

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def has_partial_batch(self) -> bool:
        return self.n % self._batch_size != 0

    @property
    def partial_batch_size(self) -> int | None:
        return (self.n % self._batch_size) or None

    @property
    def element_spec(self) -> Any:
        """The batches' structure as ``tf.TensorSpec`` (batch size None)."""
        return self.get_tf_dataset().element_spec

    def __repr__(self) -> str:
        return (f"EpochArrays(samples={self.n}, batch_size={self._batch_size}, "
                f"shuffle={self.shuffle}, seed={self.seed})")


def _describe(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"array of shape {v.shape} and dtype {v.dtype}"
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_describe(a) for a in v) + "]"
    return type(v).__name__

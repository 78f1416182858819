"""The :class:`Flow` object: Keras 2's iterator, a Keras 3 data adapter and a ``tf.data.Dataset``
over one pipeline, and every seed a flow draws (:func:`flow_seed`).

Example:
    >>> import numpy as np
    >>> from kerasdoc.generators import ImageDataGenerator
    >>> flow = ImageDataGenerator().flow(np.zeros((5, 4, 4, 1)), np.arange(5), batch_size=2,
    ...                                  shuffle=False)
    >>> isinstance(flow, Flow), len(flow), [int(b[1].shape[0]) for b in flow.dataset]
    (True, 3, [2, 2, 1])
    >>> int(flow_seed(3, "augment", 2)), flow_seed(3, "pull", 5)
    (3000014, 3000014)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdoc.generators.file_table import CLASS_MODES
from kerasdoc.generators.keras2 import Iterator
from kerasdoc.generators.keras_adapter import (
    ENDLESS,
    NotForTfKeras,
    TFDatasetAdapter,
    caller_is_tf_keras,
    class_weight_map_fn,
    fit_options,
    keep_iterator,
)
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.generators.tfdata import flat_map, map_fn

AUTOTUNE = tf.data.AUTOTUNE

#: The streams a flow draws random numbers from (:func:`flow_seed`).
SEED_STREAMS = ("shuffle", "augment", "pull")


def flow_seed(seed: int, stream: str, counter: Any) -> Any:
    """Every seed a flow with ``seed=`` uses, as a pure function of ``(seed, stream, counter)``.

    - ``"shuffle"``: the ``index_shuffle`` key (int64 ``[2]``) of epoch ``counter``'s pass order
      (``counter`` an int64 scalar tensor; see :func:`permute`);
    - ``"augment"``: the int64 seed of epoch ``counter``'s augmentation draws (one stateless
      draw per image position);
    - ``"pull"``: the seed (a Python int) of the ``counter``-th hand-pulled batch (``next(flow)``,
      ``flow[i]``).

    Keras 3 ``fit`` reads epoch ``k``'s pass in epoch ``k`` (:meth:`Flow.get_tf_dataset`), so a
    run resumed at epoch ``k`` replays the data of an uninterrupted one.
    """
    if stream == "pull":
        return (int(seed) * 1000003 + int(counter)) % (2 ** 31 - 1)
    salt = SEED_STREAMS.index(stream)
    value = (tf.constant(int(seed) % (1 << 31), tf.int64) * 1_000_003
             + tf.cast(counter, tf.int64) * 2 + salt)
    return shuffle_key(value) if stream == "shuffle" else value


def at_pass_start(fn: Callable) -> tf.data.Dataset:
    """A one-element dataset whose element ``fn()`` is computed when an iteration of the pass
    begins, not when the pipeline is built: an epoch's keys read the flow's epoch variable then
    (:meth:`Flow.get_tf_dataset`), so one pipeline serves every epoch, with ``tf.data``'s
    parallelism intact (no ``flat_map`` around the decoding)."""
    return map_fn(tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)),
                  tf.autograph.experimental.do_not_convert(lambda _: fn()), parallel=False)


def endless_passes(one: tf.data.Dataset, epoch: tf.Variable, start: int) -> tf.data.Dataset:
    """The passes of epochs ``start``, ``start + 1``, ... one after another, without end:
    ``one`` is the pass of the epoch held in the variable ``epoch`` (read when the pass begins,
    :func:`at_pass_start`); the variable is set just before each pass begins. For one Keras
    iterator that serves every epoch (:func:`~kerasdoc.generators.keras_adapter.keep_iterator`).

    Example:
        >>> import tensorflow as tf
        >>> v = tf.Variable(0, dtype=tf.int64)
        >>> one = at_pass_start(lambda: v * 10).repeat(2)
        >>> [int(x) for x in endless_passes(one, v, start=3).take(5)]
        [30, 30, 40, 40, 50]
    """
    no_autograph = tf.autograph.experimental.do_not_convert
    epochs = map_fn(tf.data.Dataset.counter(int(start), dtype=tf.int64),
                    no_autograph(lambda k: epoch.assign(k, read_value=True)), parallel=False)
    return flat_map(epochs, no_autograph(lambda _: one)).with_options(one.options())


class EndlessPasses:
    """A data adapter's :func:`endless_passes`, built once per start epoch (building them traces
    two dataset functions: a few ms of CPU at every ``fit`` otherwise). Called with ``(one,
    epoch, start)``; ``epoch`` None (a pass not keyed by its epoch): ``one`` repeated."""

    def __init__(self):
        self._built: dict[int, tf.data.Dataset] = {}

    def __call__(self, one: tf.data.Dataset, epoch: tf.Variable | None,
                 start: int) -> tf.data.Dataset:
        start = 0 if epoch is None else int(start)
        if start not in self._built:
            self._built[start] = (one.repeat() if epoch is None
                                  else endless_passes(one, epoch, start))
        return self._built[start]

    def __len__(self) -> int:
        return len(self._built)


def shuffle_key(value: tf.Tensor) -> tf.Tensor:
    """The ``index_shuffle`` key of a pass from an int64 scalar (see :func:`permute`)."""
    return tf.stack([value, tf.constant(7, tf.int64)])


def permute(pos: tf.Tensor, key: tf.Tensor, n: Any) -> tf.Tensor:
    """Pass position(s) ``pos`` -> element index(es): a stateless permutation of ``range(n)``
    (``n`` an int or an int64 scalar tensor)."""
    return tf.random.experimental.index_shuffle(pos, key, tf.cast(n, tf.int64) - 1)


class Flow(Iterator, tf.data.Dataset, TFDatasetAdapter):
    """Keras 2's flow iterator over a ``tf.data`` pipeline: ``next(flow)``, ``flow[i]``, and
    ``model.fit(flow)`` at ``tf.data`` speed.

    Built by :class:`ImageDataGenerator`'s ``flow*`` methods. Three views of the same batches:

    - **Keras 2 iterator** (hand-pulled batches, NumPy arrays with Keras 2's dtypes):
      ``next(flow)`` / ``flow.next()``, ``for batch in flow`` (endless, pass after pass, as Keras
      2), ``flow[i]``, ``len(flow)``, ``reset()``, ``on_epoch_end()``, ``batch_index``,
      ``total_batches_seen``, ``index_array``.
    - **Keras 3 data adapter**: ``model.fit`` / ``evaluate`` / ``predict`` read the ``tf.data``
      pipeline directly (tensors, prefetched). Without ``steps_per_epoch`` an epoch is one pass
      (``len(flow)`` batches, reshuffled each pass); with ``steps_per_epoch=k`` the batches run on
      across epochs, k per epoch, as Keras 2's ``fit_generator`` did (so ``k < len(flow)`` gives k
      full batches every epoch). ``class_weight`` is honoured.
    - **tf.data.Dataset**: ``flow.dataset`` (also ``flow.map``, ``flow.take`` ..., and
      ``strategy.experimental_distribute_dataset(flow)``) is one pass of ``(x, y[, w])`` tensors,
      for custom loops. ``tf_keras`` models take the flow itself as a dataset (``fit`` without
      ``steps_per_epoch``: one pass per epoch; with it, the passes run on).

    Attributes:
        samples, n: int. Number of images.
        batch_size: int. Images per batch.
        class_indices: dict. Class name -> index (empty when there are no classes).
        classes, labels: np.ndarray or None. Integer label of each image, in the flow's file
            order (the order of a non-shuffled pass), or None without labels.
        filenames: list of str. Paths relative to ``directory``, in the same order.
        filepaths: list of str. Absolute paths, in the same order.
        directory: str or None. The data root of a file flow.
        target_size: (height, width) or None.
        num_classes: int. Number of classes.
        image_shape: tuple. ``(height, width, channels)`` of one image.
        shuffle: bool. Whether each pass reshuffles.
        skipped: list of ``(path, reason)`` skipped with ``on_bad="skip"``: found by the file
            checks when the flow is made, and (file flows) images that fail to decode, added
            when a pass first reaches them.
        spec: :class:`kerasdoc.generators.spec.ImageSpec` or None. What an image file goes through
        to
            become one of this flow's images (size, colour, crop, resize mode, scaling); the
            run recipe stores it in the model card so that export and predict replay it. None
            when the flow is not over files or uses a step a spec cannot express
            (``preprocessing_function``, ``grayscale=True``, a custom crop function).
    """

    batch_size = 0  # an instance attribute (shadows the adapter's read-only property)

    def __init__(self, dataset: tf.data.Dataset, *, samples: int, batch_size: int,
                 class_indices: dict[str, int] | None = None, classes: np.ndarray | None = None,
                 filenames: Sequence[str] = (), filepaths: Sequence[str] = (),
                 class_mode: str | None = None, image_shape: tuple = (), shuffle: bool = False,
                 seed: int | None = None, skipped: Sequence[tuple] = (),
                 spec: ImageSpec | None = None, pull: Callable | None = None,
                 directory: str | None = None, target_size: tuple | None = None,
                 color_mode: str | None = None, dtype: str = "float32",
                 image_data_generator: Any = None,
                 save: dict | None = None, interpolation: str | None = None,
                 pass_fn: Callable | None = None):
        Iterator.__init__(self, samples, batch_size, shuffle, seed)
        self._dataset = dataset
        # pass_fn(epoch) -> that epoch's pass (seeded flows): Keras 3 fit reads pass k in
        # epoch k, so a run resumed at epoch k (Run.fit sets start_epoch) replays it
        self._pass_fn = pass_fn
        self.start_epoch = 0
        self._epochs_begun = 0
        self._epoch_var: tf.Variable | None = None
        self._epoch_pass: tf.data.Dataset | None = None
        self._passes_run_on = False  # Keras keeps one iterator over endless passes
        self._endless = EndlessPasses()
        self._known_size: bool | None = None
        self._pull = pull
        self._save = save or {}
        self.samples = int(samples)
        self.class_indices = dict(class_indices or {})
        self.classes = classes
        self.filenames = list(filenames)
        self._filepaths = list(filepaths)
        self.class_mode = class_mode
        self.image_shape = tuple(image_shape)
        # a file flow's list object itself: images that fail to decode during a pass are
        # appended to it then (on_bad="skip")
        self.skipped = skipped if isinstance(skipped, list) else list(skipped)
        self.spec = spec
        self.directory = directory
        self.target_size = None if target_size is None else tuple(target_size)
        self.color_mode = color_mode
        self.dtype = dtype
        self.interpolation = interpolation
        self.image_data_generator = image_data_generator
        self.data_format = "channels_last"
        self._seq_iter = None
        tf.data.Dataset.__init__(self, dataset._variant_tensor)

    # ------------------------------------------------------------------ iteration
    def __iter__(self):
        """Keras 2: the flow is its own endless iterator (NumPy batches). For tf_keras (which
        iterates a dataset inside its ``tf.function``): passes of tensors, one after another."""
        if caller_is_tf_keras():
            return iter(self._dataset.repeat())
        return self

    __next__ = NotForTfKeras(Iterator.__next__)
    next = NotForTfKeras(Iterator.next)

    # ------------------------------------------------------------------ tf.data.Dataset
    def _inputs(self):
        return [self._dataset]

    @property
    def element_spec(self):
        return self._dataset.element_spec

    @property
    def dataset(self) -> tf.data.Dataset:
        """One pass of batches as a plain ``tf.data.Dataset`` (tensors; same as
        :meth:`as_dataset`)."""
        return self._dataset

    def as_dataset(self) -> tf.data.Dataset:
        """The plain ``tf.data.Dataset`` of ``(images, targets)`` batches (images only without
        targets), one pass."""
        return self._dataset

    def as_numpy_iterator(self):
        """One pass as NumPy batches (``tf.data.Dataset.as_numpy_iterator`` of :attr:`dataset`)."""
        return self._dataset.as_numpy_iterator()

    # ------------------------------------------------------------------ Keras 2 attributes
    @property
    def num_classes(self) -> int:
        """Number of classes (from ``class_indices``, else from ``classes``)."""
        if self.class_indices:
            return len(self.class_indices)
        if self.classes is not None and len(self.classes) and np.issubdtype(
                np.asarray(self.classes).dtype, np.integer):
            return int(np.max(self.classes)) + 1
        return 0

    @property
    def labels(self) -> np.ndarray | None:
        """Alias of ``classes``."""
        return self.classes

    @property
    def filepaths(self) -> list[str]:
        """Absolute paths, in the flow's order."""
        return self._filepaths

    @filepaths.setter
    def filepaths(self, value):
        self._filepaths = list(value)

    @property
    def allowed_class_modes(self) -> set:
        return set(CLASS_MODES)

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray):
        index_array = np.asarray(index_array, np.int64)
        if self._pull is None:  # a source without random access (tfds): the next batch
            if self._seq_iter is None:
                self._seq_iter = iter(self._dataset.repeat())
            batch = next(self._seq_iter)
            return tf.nest.map_structure(lambda t: t.numpy(), batch)
        seed = self._hand_seed()
        batch = self._pull(index_array, seed)
        if self._save.get("save_to_dir"):
            self._save_batch(batch[0] if isinstance(batch, tuple) else batch, index_array)
        return batch

    def _hand_seed(self) -> int:
        if self.seed is None:
            return int(np.random.randint(0, 2 ** 31 - 1))
        return flow_seed(self.seed, "pull", self.total_batches_seen)

    def _save_batch(self, x: np.ndarray, index_array: np.ndarray) -> None:
        from kerasdoc.generators.keras2 import array_to_img

        d, prefix = self._save["save_to_dir"], self._save.get("save_prefix", "")
        fmt = self._save.get("save_format", "png")
        for i, j in enumerate(index_array):
            img = array_to_img(x[i], scale=True)
            if img.mode == "RGBA" and fmt in ("jpg", "jpeg"):
                img = img.convert("RGB")
            name = f"{prefix}_{int(j)}_{np.random.randint(10000)}.{fmt}"
            img.save(os.path.join(d, name))

    # ------------------------------------------------------------------ Keras 3 data adapter
    def get_tf_dataset(self) -> tf.data.Dataset:
        """The batches Keras 3 reads: the flow's own ``tf.data`` pipeline, one pass per epoch,
        reshuffled. ``evaluate``, ``predict`` and validation data get one pass per call, as
        ``fit(flow.dataset)`` would. A ``fit`` on the TensorFlow backend reads its epochs' passes
        one after another through one iterator (:func:`~kerasdoc.generators.keras_adapter.
        keep_iterator`), where ``fit(flow.dataset)`` would make two iterators an epoch.

        A seeded flow (``seed=``) gives epoch ``k`` of a ``fit`` its own pass, shuffled and
        augmented as a pure function of ``(seed, k)`` (``k`` counts from :attr:`start_epoch`,
        which :meth:`kerasdoc.runs.Run.fit` sets to the epoch a resumed run restarts at), so a
        run killed after any epoch and resumed sees the same data as an uninterrupted one: the
        same pipeline, its keys read from an epoch variable when each pass begins. With
        ``steps_per_epoch`` the passes run on across epochs as in Keras 2.
        """
        options = fit_options()
        self._epochs_begun, self._passes_run_on = 0, False
        if options.get("steps_per_epoch"):
            ds = self._dataset.repeat()
        elif self.num_batches is not None and keep_iterator(len(self)) == ENDLESS:
            self._passes_run_on = True
            ds = self._passes()
        elif self._pass_fn is not None:
            ds = self._epoch_pass_dataset()
        else:
            ds = self._dataset
        if options.get("class_weight"):
            ds = ds.map(class_weight_map_fn(options["class_weight"]),
                        num_parallel_calls=AUTOTUNE)
        return ds

    def _epoch_pass_dataset(self) -> tf.data.Dataset:
        """A seeded flow's pass of the epoch in :attr:`_epoch_var` (read when the pass begins):
        one pipeline for every epoch."""
        if self._epoch_var is None:
            with tf.init_scope(), tf.device("/cpu:0"):
                self._epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False,
                                              name="flow_epoch")
            self._epoch_pass = self._pass_fn(self._epoch_var)
        return self._epoch_pass

    def _passes(self) -> tf.data.Dataset:
        """Pass after pass, endless, for one Keras iterator that serves every epoch
        (:func:`~kerasdoc.generators.keras_adapter.keep_iterator`): a seeded flow's passes of
        epochs ``start_epoch``, ``start_epoch + 1``, ... (each epoch set just before its pass
        begins), else the flow's pass repeated (reshuffled and augmented anew each time)."""
        if self._pass_fn is None:
            return self._endless(self._dataset, None, 0)
        return self._endless(self._epoch_pass_dataset(), self._epoch_var, self.start_epoch)

    @property
    def num_batches(self) -> int | None:
        """Batches per Keras epoch: a pass; None under ``steps_per_epoch`` (the call's own,
        endless, or the pass's length that :func:`~kerasdoc.generators.keras_adapter.
        keep_iterator` gave the call) and when a pass may drop images that fail to decode
        (``on_bad="skip"``: Keras counts them)."""
        if fit_options().get("steps_per_epoch"):
            return None
        if self._known_size is None:  # a pass's batches, as tf.data counts them, are len(flow)
            self._known_size = int(self._dataset.cardinality()) == len(self)
        return len(self) if self._known_size else None

    @property
    def has_partial_batch(self) -> bool:
        return self.batch_size > 0 and self.n % self.batch_size != 0

    @property
    def partial_batch_size(self) -> int | None:
        return (self.n % self.batch_size) or None if self.batch_size else None

    def on_epoch_begin(self) -> None:
        """Keras 3 calls this before each epoch's iterator: the next pass is epoch
        ``start_epoch + epochs begun``."""
        if self._epoch_var is not None and not self._passes_run_on:
            self._epoch_var.assign(self.start_epoch + self._epochs_begun)
            self._epochs_begun += 1

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return (f"Flow(samples={self.samples}, batch_size={self.batch_size}, "
                f"num_classes={self.num_classes}, image_shape={self.image_shape}, "
                f"shuffle={self.shuffle})")

"""``ImageDataGenerator`` on ``tf.data``: the Keras 2 API, parallel, deterministic, distributable.

Paper: the RVL-CDIP blog (seed 001) feeds ``ImageDataGenerator(rescale=1/255)`` generators with
crop functions; the invoice paper (seed 000) augments grayscale photos; the Persian OCR report
(seed 004) reads ImageNet-style folders. Keras 3 removed ``ImageDataGenerator``; this one keeps
Keras 2's constructor, standardisation API (``fit``, ``standardize``, ``random_transform`` ...)
and ``flow*`` methods. Each ``flow*`` returns a :class:`Flow`: Keras 2's iterator for batches
pulled by hand (``next(flow)``, ``flow[i]``, ``reset()``; NumPy arrays), a Keras 3 data adapter
for ``model.fit`` / ``evaluate`` / ``predict`` (the ``tf.data`` pipeline, tensors, prefetched),
and a ``tf.data.Dataset`` (``flow.dataset``: one pass). It carries the old iterator's attributes:
``class_indices``, ``classes``, ``filenames``, ``filepaths``, ``samples``, ``n``,
``num_classes``, ``batch_size``, ``directory``, ``target_size``.

Differences from Keras 2, on purpose (docs/porting_from_keras2.md lists them all):

- ``shuffle`` defaults to True only for training data; a ``subset="validation"`` flow is not
  shuffled, and augmentation is applied only to training data (``augment=None``).
- ``validation_split`` takes a seeded *stratified* split of labelled data (``validation_seed``),
  never the first fraction of each class or of the array.
- Every listed file is checked before training (existence, format, truncation, multi-page TIFF,
  size against a fixed crop): a bad file raises an error naming it, or with ``on_bad="skip"`` is
  dropped with a warning that counts the skipped files.
- Augmentation and ``preprocessing_function`` run inside the graph (a ``preprocessing_function``
  that fails on a tensor is called on NumPy arrays through ``tf.numpy_function``, as Keras 2
  did); it runs after augmentation and before ``rescale``, as in Keras 2.

Example:
    >>> import numpy as np
    >>> gen = ImageDataGenerator(rescale=1 / 255)
    >>> flow = gen.flow(np.zeros((10, 8, 8, 1), np.uint8), np.arange(10) % 2, batch_size=4,
    ...                 shuffle=False)
    >>> x, y = next(flow)
    >>> len(flow), flow.samples, x.shape, y.tolist(), flow.batch_index
    (3, 10, (4, 8, 8, 1), [0, 1, 0, 1], 1)
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdoc.generators import crops as crops_lib
from kerasdoc.generators.augment import Augmentation
from kerasdoc.generators.files import (
    BadImageFile,
    check_files,
    check_label_range,
    list_image_folder,
    read_label_file,
    resolve_archive_path,
    resolve_under,
)
from kerasdoc.generators.keras2 import Iterator
from kerasdoc.generators.labels import check_array_labels
from kerasdoc.generators.ops import (
    INTERPOLATIONS,
    PADDING_MODES,
    RESIZE_MODES,
    decode_band,
    decode_image,
    decode_image_rgba,
    decode_reduced,
    resize_image,
)
from kerasdoc.generators.ops import to_grayscale as _to_gray
from kerasdoc.generators.sources import load_tfds
from kerasdoc.generators.spec import ImageSpec, apply_geometry, as_spec, crop_name
from kerasdoc.generators.splits import stratified_split

CLASS_MODES = ("categorical", "sparse", "binary", "raw", "input", "multi_output", None)
COLOR_MODES = {"grayscale": 1, "rgb": 3}
FILE_COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}
WHITE_LIST = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff", "gif")
#: Keras 2 (PIL) interpolation names -> the resize method that matches them.
PIL_NAMES = {"bilinear": "antialias_bilinear", "bicubic": "antialias_bicubic"}
AUTOTUNE = tf.data.AUTOTUNE

try:
    from keras.src.trainers.data_adapters.data_adapter import DataAdapter
except ImportError:  # pragma: no cover - Keras 3 is a dependency; keep generators importable
    class DataAdapter:  # type: ignore[no-redef]
        """Stand-in when Keras 3 is absent."""


def _jpeg_layout(paths: Sequence[str], formats: Sequence[str],
                 need: tuple[int, int]) -> tuple[int | None, bool]:
    """``(ratio, all_gray)`` of a list of files from their headers: the libjpeg scale
    denominator (8, 4, 2 or 1, as :func:`kerasdoc.generators.ops.decode_reduced` picks it for
    ``need``)
    when every file is a JPEG and they all share it, else None; and whether every file is a
    one-channel JPEG. Reads headers only (PIL), a few microseconds a file."""
    from PIL import Image

    if not paths or any(f != "jpeg" for f in formats):
        return None, False
    ratios, gray = set(), True
    for p in paths:
        try:
            with Image.open(p) as im:
                w, h = im.size
                gray = gray and im.mode == "L"
        except Exception:  # noqa: BLE001 - an unreadable header: keep the per-file path
            return None, False
        ratios.add(next((r for r in (8, 4, 2) if -(-h // r) >= need[0] and -(-w // r) >= need[1]),
                        1))
        if len(ratios) > 1 and not gray:
            return None, False
    return (ratios.pop() if len(ratios) == 1 else None), gray and len(ratios) == 1


def _keras_fit_options() -> dict:
    """``steps_per_epoch`` and ``class_weight`` of the Keras 3 ``fit`` / ``evaluate`` /
    ``predict`` call that is asking this flow (Keras 3 hands a custom data adapter neither)."""
    try:
        from keras.src.trainers.epoch_iterator import EpochIterator
    except ImportError:  # pragma: no cover - another Keras
        return {}
    frame = sys._getframe(2)
    out: dict = {}
    for _ in range(8):
        if frame is None:
            break
        loc = frame.f_locals
        if isinstance(loc.get("self"), EpochIterator):
            out.setdefault("steps_per_epoch", loc["self"].steps_per_epoch)
            cw = loc.get("class_weight", (loc.get("kwargs") or {}).get("class_weight"))
            if cw is not None:
                out["class_weight"] = cw
        frame = frame.f_back
    return out


def _caller_is_tf_keras() -> bool:
    """Whether the code asking (two frames up) is tf_keras (Keras 2 on TensorFlow)."""
    frame = sys._getframe(2)
    return frame is not None and str(frame.f_globals.get("__name__", "")).startswith("tf_keras")


class _NotForTfKeras:
    """A method that tf_keras does not see: tf_keras picks its data adapter by type *and* by
    ``hasattr(x, "__next__")``; a flow is both a dataset and an iterator, which tf_keras refuses
    ("Data adapters should be mutually exclusive"). Hidden from it, the flow is a dataset there
    (``tf.data`` speed); ``next(flow)`` elsewhere is unaffected."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self.fn
        if _caller_is_tf_keras():
            raise AttributeError(self.name)
        return self.fn.__get__(obj, objtype)


class Flow(Iterator, tf.data.Dataset, DataAdapter):
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
                 image_data_generator: ImageDataGenerator | None = None,
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
        if _caller_is_tf_keras():
            return iter(self._dataset.repeat())
        return self

    __next__ = _NotForTfKeras(Iterator.__next__)
    next = _NotForTfKeras(Iterator.next)

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
        return {"categorical", "binary", "sparse", "input", "raw", "multi_output", None}

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
        return (int(self.seed) * 1000003 + self.total_batches_seen) % (2 ** 31 - 1)

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
        """Pass after pass of the pipeline (Keras 3 takes ``num_batches`` of them per epoch).

        A seeded flow (``seed=``) gives epoch ``k`` of a ``fit`` its own pass, shuffled and
        augmented as a pure function of ``(seed, k)`` (``k`` counts from :attr:`start_epoch`,
        which :meth:`kerasdoc.runs.Run.fit` sets to the epoch a resumed run restarts at), so a
        run killed after any epoch and resumed sees the same data as an uninterrupted one.
        With ``steps_per_epoch`` the passes run on across epochs as in Keras 2.
        """
        if self._pass_fn is not None and not _keras_fit_options().get("steps_per_epoch"):
            if self._epoch_var is None:
                with tf.init_scope(), tf.device("/cpu:0"):
                    self._epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False,
                                                  name="flow_epoch")
            var, pass_fn = self._epoch_var, self._pass_fn
            self._epochs_begun = 0
            ds = tf.data.Dataset.range(1 << 62).flat_map(
                lambda i: pass_fn(var.read_value() + i))
        else:
            ds = self._dataset.repeat()
        cw = _keras_fit_options().get("class_weight")
        if cw:
            from keras.src.trainers.data_adapters.tf_dataset_adapter import (
                make_class_weight_map_fn,
            )

            ds = ds.map(make_class_weight_map_fn(cw), num_parallel_calls=AUTOTUNE)
        return ds.prefetch(AUTOTUNE)

    def get_numpy_iterator(self):
        for batch in self.get_tf_dataset():
            yield tf.nest.map_structure(lambda t: t.numpy(), batch)

    def get_jax_iterator(self):
        return self.get_numpy_iterator()

    def get_torch_dataloader(self):
        from keras.src.trainers.data_adapters import data_adapter_utils

        return data_adapter_utils.get_torch_dataloader(self.get_tf_dataset())

    @property
    def num_batches(self) -> int | None:
        """Batches per Keras epoch: a pass, or None (endless) under ``steps_per_epoch``."""
        if _keras_fit_options().get("steps_per_epoch"):
            return None
        return len(self)

    @property
    def has_partial_batch(self) -> bool:
        return self.batch_size > 0 and self.n % self.batch_size != 0

    @property
    def partial_batch_size(self) -> int | None:
        return (self.n % self.batch_size) or None if self.batch_size else None

    def on_epoch_begin(self) -> None:
        """Keras 3 calls this before each epoch's iterator: the next pass is epoch
        ``start_epoch + epochs begun``."""
        if self._epoch_var is not None:
            self._epoch_var.assign(self.start_epoch + self._epochs_begun)
            self._epochs_begun += 1

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return (f"Flow(samples={self.samples}, batch_size={self.batch_size}, "
                f"num_classes={self.num_classes}, image_shape={self.image_shape}, "
                f"shuffle={self.shuffle})")


# For dataset functions written as plain graph code (tf.cond, no Python control flow on
# tensors): AutoGraph would only fail to convert closures and warn about it.
_no_autograph = tf.autograph.experimental.do_not_convert


def _gray_to_rgb(img: tf.Tensor) -> tf.Tensor:
    """``(..., 1)`` -> ``(..., 3)``, each channel a copy. A product with ``ones((1, 3))`` (one
    multiply by 1.0 per output value: exact) runs on the vectorised matrix kernels, about twice
    as fast as ``tf.tile`` over the channel axis, which is memory-bound per element here."""
    if img.dtype in (tf.float32, tf.float64, tf.float16, tf.bfloat16):
        return tf.matmul(img, tf.ones([1, 3], img.dtype))
    return tf.tile(img, [1] * (img.shape.rank - 1) + [3])


def _shuffle_key(value: tf.Tensor) -> tf.Tensor:
    """The ``index_shuffle`` key of a pass from an int64 scalar (see :func:`_permute`)."""
    return tf.stack([value, tf.constant(7, tf.int64)])


def _permute(pos: tf.Tensor, key: tf.Tensor, n: int) -> tf.Tensor:
    """Pass position(s) ``pos`` -> element index(es): a stateless permutation of ``range(n)``."""
    return tf.random.experimental.index_shuffle(pos, key, tf.constant(n - 1, tf.int64))


def _empty_batch(element_spec: Any) -> tf.data.Dataset:
    """One batch of zero elements with ``element_spec``'s structure (unknown sizes as 0)."""
    return tf.data.Dataset.from_tensors(tf.nest.map_structure(
        lambda sp: tf.zeros([0] + [0 if d is None else d for d in sp.shape[1:]], sp.dtype),
        element_spec))


def _to_uint8(img: tf.Tensor) -> tf.Tensor:
    """Float pixels (0-255) as uint8, rounded and clipped: what a flow's cache keeps."""
    return tf.cast(tf.round(tf.clip_by_value(img, 0.0, 255.0)), tf.uint8)


def _undecodable(path: str) -> BadImageFile:
    """The error for a file that passed the header checks but does not decode."""
    return BadImageFile(path, decode_failure_reason(path) + "; pass on_bad='skip' to skip such "
                        "files")


def _epoch_seed(seed: int, epoch: tf.Tensor, salt: int) -> tf.Tensor:
    """A tf.data op seed for epoch ``epoch`` of a flow seeded ``seed`` (``salt`` 0: shuffle,
    1: augmentation)."""
    return (tf.constant(int(seed) % (1 << 31), tf.int64) * 1_000_003
            + tf.cast(epoch, tf.int64) * 2 + salt)


def decode_failure_reason(path: str) -> str:
    """Why an image file that passed the header checks does not decode (PIL's opinion)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            mode, (w, h) = im.mode, im.size
    except Exception as e:  # PIL raises many types on damaged files
        return f"cannot be decoded ({type(e).__name__}: {e})"
    return (f"TensorFlow cannot decode or resize it (PIL reads it as a {mode} {h}x{w} image; "
            "re-save it, e.g. as PNG)")


class _DecodeSkips:
    """Records images that fail to decode during a pass (``on_bad="skip"``) in the flow's
    ``skipped`` list, warning once per file."""

    def __init__(self, skipped: list):
        import threading

        self.skipped, self.lock = skipped, threading.Lock()
        self.seen: set[str] = set()

    def record_paths(self, paths) -> np.bool_:
        """Records each of ``paths``; returns True."""
        for p in paths:
            self(p)
        return np.True_

    def __call__(self, path) -> np.bool_:
        p = path.decode() if isinstance(path, bytes) else str(path)
        with self.lock:
            if p in self.seen:
                return np.False_
            self.seen.add(p)
            reason = decode_failure_reason(p)
            self.skipped.append((p, reason))
            n = len(self.seen)
        warnings.warn(f"skipped an image that fails to decode: {p}: {reason} ({n} skipped "
                      "while decoding so far; its label is dropped with it; flow.skipped lists "
                      "them)", UserWarning, stacklevel=2)
        return np.False_


class NumpyArrayIterator(Flow):
    """Keras 2's constructor form ``NumpyArrayIterator(x, y, image_data_generator, ...)``: the
    same as ``image_data_generator.flow(x, y, ...)`` (returns a :class:`Flow`)."""

    def __new__(cls, x: Any, y: Any, image_data_generator: ImageDataGenerator,
                batch_size: int = 32, shuffle: bool = False, sample_weight: Any = None,
                seed: int | None = None, data_format: str | None = None,
                save_to_dir: str | None = None, save_prefix: str = "",
                save_format: str = "png", subset: str | None = None,
                ignore_class_split: bool = False, dtype: str | None = None) -> Flow:
        return image_data_generator.flow(
            x, y, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
            seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, ignore_class_split=ignore_class_split, subset=subset)


class DirectoryIterator(Flow):
    """Keras 2's ``DirectoryIterator(directory, image_data_generator, ...)``: the same as
    ``image_data_generator.flow_from_directory(directory, ...)``."""

    def __new__(cls, directory: Any, image_data_generator: ImageDataGenerator | None = None,
                *args: Any, data_format: str | None = None, dtype: str | None = None,
                **kwargs: Any) -> Flow:
        gen = image_data_generator or ImageDataGenerator()
        return gen.flow_from_directory(directory, *args, **kwargs)


class DataFrameIterator(Flow):
    """Keras 2's ``DataFrameIterator(dataframe, directory, image_data_generator, ...)``: the
    same as ``image_data_generator.flow_from_dataframe(dataframe, directory, ...)``."""

    def __new__(cls, dataframe: Any, directory: Any = None,
                image_data_generator: ImageDataGenerator | None = None, *args: Any,
                data_format: str | None = None, dtype: str | None = None,
                **kwargs: Any) -> Flow:
        gen = image_data_generator or ImageDataGenerator()
        return gen.flow_from_dataframe(dataframe, directory, *args, **kwargs)


_NOT_FIT = ("This ImageDataGenerator specifies `{}`, but it hasn't been fit on any training "
            "data. Fit it first by calling `.fit(numpy_data)`.")


def _check_choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}. Received: {name}={value!r}")


class ImageDataGenerator:
    """Configure decoding, augmentation and scaling once; build flows over arrays, folders,
    label files, data frames.

    Paper: Keras 2's ``ImageDataGenerator`` as used by the RVL-CDIP blog (seed 001, rescale 1/255
    and crop functions) and the invoice paper (seed 000, grayscale, rotation / flips / scaling /
    colour jitter / noise). Text-safe defaults: nothing is on by default; do not turn on flips
    for text (seed 004: "by turning a letter upside down the meaning could totally change").

    Args:
        rescale: float or None. Multiply every pixel (0-255) by this, e.g. ``1 / 255``.
        preprocessing_function: callable or None. ``image (h, w, c) float32 -> image`` in tf ops,
            applied after augmentation, before ``rescale``.
        rotation_range: float. Degrees.
        width_shift_range, height_shift_range: float. Fraction of the size (< 1) or pixels.
        zoom_range: float or (low, high). Zoom factors ``[1 - z, 1 + z]`` or ``[low, high]``.
        shear_range: float. Shear angle in degrees.
        brightness_range: (low, high) or None. Multiplicative brightness factor range.
        contrast_range: (low, high) or None. Contrast factor range.
        channel_shift_range: float. Range of a random shift added to all channels (0-255 units).
        horizontal_flip, vertical_flip: bool. Random flips (False: text-safe).
        fill_mode: ``"nearest"``, ``"constant"``, ``"reflect"`` or ``"wrap"``.
        cval: float. Fill value for ``fill_mode="constant"``.
        validation_split: float in [0, 1). Share of each class held out for ``subset="validation"``.
        noise_stddev: float. Additive Gaussian noise standard deviation (0-255 units).
        grayscale: bool. Convert every image to grayscale, keeping the channel count (train and
            evaluation alike: it is preprocessing, as in seed 000). ``color_mode="grayscale"``
            gives one channel instead.
        random_grayscale: float. Probability of a grayscale conversion as augmentation.
        validation_seed: int. Seed of the stratified training / validation split.
        dtype: str. Output image dtype. Defaults to ``"float32"``.

    Example:
        >>> import numpy as np, keras
        >>> x = np.random.default_rng(0).integers(0, 255, (12, 8, 8, 1)).astype("uint8")
        >>> y = np.arange(12) % 3
        >>> gen = ImageDataGenerator(rescale=1 / 255, rotation_range=5, validation_split=0.25)
        >>> train = gen.flow(x, y, batch_size=4, subset="training", seed=0)
        >>> val = gen.flow(x, y, batch_size=4, subset="validation")
        >>> train.samples, val.samples, sorted(val.classes.tolist())
        (9, 3, [0, 1, 2])
        >>> model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
        ...                           keras.layers.Dense(3, activation="softmax")])
        >>> model.compile("adam", "sparse_categorical_crossentropy")
        >>> model.predict(val, verbose=0).shape
        (3, 3)
    """

    def __init__(self, featurewise_center: bool = False, samplewise_center: bool = False,
                 featurewise_std_normalization: bool = False,
                 samplewise_std_normalization: bool = False, zca_whitening: bool = False,
                 zca_epsilon: float = 1e-6, rotation_range: float = 0.0,
                 width_shift_range: float = 0.0, height_shift_range: float = 0.0,
                 brightness_range: tuple | None = None, shear_range: float = 0.0,
                 zoom_range: float | tuple = 0.0, channel_shift_range: float = 0.0,
                 fill_mode: str = "nearest", cval: float = 0.0, horizontal_flip: bool = False,
                 vertical_flip: bool = False, rescale: float | None = None,
                 preprocessing_function: Callable | None = None, data_format: str | None = None,
                 validation_split: float = 0.0, interpolation_order: int = 1,
                 dtype: str | None = None, *, contrast_range: tuple | None = None,
                 noise_stddev: float = 0.0, grayscale: bool = False,
                 random_grayscale: float = 0.0, validation_seed: int = 0):
        if data_format is None:
            data_format = "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError('`data_format` should be `"channels_last"` (channel after row and '
                             'column) or `"channels_first"` (channel before row and column). '
                             f"Received: {data_format}")
        if rescale is not None and not isinstance(rescale, int | float):
            raise ValueError(f"rescale must be a number or None. Received: rescale={rescale!r}")
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise ValueError("preprocessing_function must be callable. "
                             f"Received: {preprocessing_function!r}")
        if validation_split and not 0.0 < validation_split < 1.0:
            raise ValueError("`validation_split` must be strictly between 0 and 1. "
                             f"Received: {validation_split}")
        if brightness_range is not None and (
                not isinstance(brightness_range, tuple | list | np.ndarray)
                or len(brightness_range) != 2):
            raise ValueError("`brightness_range should be tuple or list of two floats. "
                             f"Received: {brightness_range}")
        if isinstance(zoom_range, int | float):
            zr = [1 - zoom_range, 1 + zoom_range]
        elif (isinstance(zoom_range, tuple | list) and len(zoom_range) == 2
              and all(isinstance(v, int | float) for v in zoom_range)):
            zr = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError("`zoom_range` should be a float or a tuple or list of two floats. "
                             f"Received: {zoom_range}")
        self.featurewise_center = bool(featurewise_center)
        self.samplewise_center = bool(samplewise_center)
        self.featurewise_std_normalization = bool(featurewise_std_normalization)
        self.samplewise_std_normalization = bool(samplewise_std_normalization)
        self.zca_whitening = bool(zca_whitening)
        self.zca_epsilon = float(zca_epsilon)
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which "
                              "overrides setting of `featurewise_center`.", stacklevel=2)
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn("This ImageDataGenerator specifies `zca_whitening` which "
                              "overrides setting of `featurewise_std_normalization`.",
                              stacklevel=2)
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn("This ImageDataGenerator specifies `featurewise_std_normalization`, "
                          "which overrides setting of `featurewise_center`.", stacklevel=2)
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn("This ImageDataGenerator specifies `samplewise_std_normalization`, "
                          "which overrides setting of `samplewise_center`.", stacklevel=2)
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.brightness_range = brightness_range
        self.shear_range = shear_range
        self.zoom_range = zr
        self.channel_shift_range = channel_shift_range
        self.fill_mode = fill_mode
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.data_format = data_format
        self.channel_axis, self.row_axis, self.col_axis = (
            (3, 1, 2) if data_format == "channels_last" else (1, 2, 3))
        self.interpolation_order = int(interpolation_order)
        self._validation_split = self.validation_split = float(validation_split)
        self.validation_seed = int(validation_seed)
        self.grayscale = bool(grayscale)
        self.dtype = str(tf.as_dtype(dtype or "float32").name)
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.zca_whitening_matrix: np.ndarray | None = None
        self._numpy_preprocessing: bool | None = None
        if interpolation_order not in (0, 1):
            interp = "bilinear"  # the graph transform has nearest (order 0) and bilinear only
        else:
            interp = "nearest" if interpolation_order == 0 else "bilinear"
        shift = {}
        for name, v in (("width_shift_range", width_shift_range),
                        ("height_shift_range", height_shift_range)):
            if isinstance(v, tuple | list | np.ndarray):  # Keras 2: a set of pixel shifts
                v = float(np.max(np.abs(v))) if len(v) else 0.0
            shift[name] = float(v)
        self.augmentation = Augmentation(
            rotation_range=float(rotation_range),
            zoom_range=0.0 if zr[0] == zr[1] == 1 else tuple(zr),
            shear_range=float(shear_range), horizontal_flip=bool(horizontal_flip),
            vertical_flip=bool(vertical_flip),
            brightness_range=None if brightness_range is None else tuple(brightness_range),
            contrast_range=None if contrast_range is None else tuple(contrast_range),
            channel_shift_range=float(channel_shift_range), noise_stddev=noise_stddev,
            grayscale_probability=random_grayscale, fill_mode=fill_mode, cval=float(cval),
            interpolation=interp, **shift)

    @property
    def principal_components(self) -> np.ndarray | None:
        """keras-preprocessing's name of :attr:`zca_whitening_matrix`."""
        return self.zca_whitening_matrix

    @principal_components.setter
    def principal_components(self, value) -> None:
        self.zca_whitening_matrix = value

    # ------------------------------------------------------------------ Keras 2 NumPy API
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Keras 2's normalisation of an image or a batch (NumPy, in place for float input):
        ``preprocessing_function`` -> ``rescale`` -> samplewise -> featurewise -> ZCA.

        Example:
            >>> g = ImageDataGenerator(rescale=0.5, samplewise_center=True)
            >>> g.standardize(np.array([[[[2.0], [4.0]]]])).ravel().tolist()
            [-0.5, 0.5]
        """
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is not None:
                x -= self.mean
            else:
                warnings.warn(_NOT_FIT.format("featurewise_center"), stacklevel=2)
        if self.featurewise_std_normalization:
            if self.std is not None:
                x /= self.std + 1e-6
            else:
                warnings.warn(_NOT_FIT.format("featurewise_std_normalization"), stacklevel=2)
        if self.zca_whitening:
            if self.zca_whitening_matrix is not None:
                flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
                x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
            else:
                warnings.warn(_NOT_FIT.format("zca_whitening"), stacklevel=2)
        return x

    def get_random_transform(self, img_shape: tuple, seed: int | None = None) -> dict:
        """Random transform parameters for one image, drawn as Keras 2 draws them (``theta``,
        ``tx`` (rows), ``ty`` (columns), ``shear``, ``zx``, ``zy``, flips, channel shift,
        brightness)."""
        rng = np.random.RandomState(seed) if seed is not None else np.random.mtrand._rand
        rows, cols = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]
        theta = rng.uniform(-self.rotation_range, self.rotation_range) \
            if self.rotation_range else 0

        def shift(r, size):
            if not np.any(r):
                return 0
            if isinstance(r, int) or isinstance(r, tuple | list | np.ndarray):
                v = rng.choice(r) * rng.choice([-1, 1])
            else:
                v = rng.uniform(-r, r)
            return v * size if np.max(r) < 1 else v

        tx = shift(self.height_shift_range, rows)
        ty = shift(self.width_shift_range, cols)
        shear = rng.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = rng.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_h = (rng.random_sample() < 0.5) * self.horizontal_flip
        flip_v = (rng.random_sample() < 0.5) * self.vertical_flip
        csi = None
        if self.channel_shift_range != 0:
            csi = rng.uniform(-self.channel_shift_range, self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_h, "flip_vertical": flip_v,
                "channel_shift_intensity": csi, "brightness": brightness}

    def apply_transform(self, x: np.ndarray, transform_parameters: dict) -> np.ndarray:
        """Apply :meth:`get_random_transform` parameters to one image (NumPy / SciPy)."""
        from kerasdoc.generators import keras2

        r, c, ch = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        p = transform_parameters
        x = keras2.apply_affine_transform(
            x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
            p.get("zx", 1), p.get("zy", 1), row_axis=r, col_axis=c, channel_axis=ch,
            fill_mode=self.fill_mode, cval=self.cval, order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = keras2.apply_channel_shift(x, p["channel_shift_intensity"], ch)
        if p.get("flip_horizontal", False):
            x = keras2.flip_axis(x, c)
        if p.get("flip_vertical", False):
            x = keras2.flip_axis(x, r)
        if p.get("brightness") is not None:
            x = keras2.apply_brightness_shift(x, p["brightness"], False)
        return x

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """A randomly transformed copy of one image (NumPy)."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x: np.ndarray, augment: bool = False, rounds: int = 1,
            seed: int | None = None) -> None:
        """Compute the featurewise mean / std / ZCA matrix from sample images, as Keras 2.

        Flows built *after* ``fit`` use the statistics (in the graph).

        Args:
            x: array of rank 4 (``data_format`` order), values on the 0-255 scale.
            augment: bool. Fit on ``rounds`` randomly transformed copies.
            rounds: int. Copies with ``augment``.
            seed: int or None.
        """
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError("Input to `.fit()` should have rank 4. Got array with shape: "
                             f"{x.shape}")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"Expected input to be images (as Numpy array) following the data "
                          f"format convention \"{self.data_format}\" (channels on axis "
                          f"{self.channel_axis}), i.e. expected either 1, 3 or 4 channels on "
                          f"axis {self.channel_axis}. However, it was passed an array with "
                          f"shape {x.shape} ({x.shape[self.channel_axis]} channels).",
                          stacklevel=2)
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:
            x *= self.rescale
        if augment:
            ax = np.zeros((rounds * x.shape[0], *x.shape[1:]), dtype=self.dtype)
            for r in range(rounds):
                for i in range(x.shape[0]):
                    ax[i + r * x.shape[0]] = self.random_transform(x[i])
            x = ax
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=axes), shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=axes), shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            n = len(x)
            flat = np.reshape(x, (n, -1))
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            s_inv = np.sqrt(n) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = (u * s_inv).dot(u.T)

    # ------------------------------------------------------------------ helpers
    def _subset_indices(self, labels: np.ndarray | None, n: int, subset: str | None) -> np.ndarray:
        if subset not in ("training", "validation", None):
            raise ValueError(f'Invalid subset name: {subset}; expected "training" or '
                             '"validation"')
        if subset is None:
            return np.arange(n)
        if not self.validation_split:
            raise ValueError(f"subset={subset!r} needs validation_split > 0 in the "
                             "ImageDataGenerator. Received: validation_split=0")
        if labels is None or len(labels) < 2:  # no classes to keep: Keras 2's split, the
            k = int(self.validation_split * n)  # first int(split * n) samples validate
            return np.arange(k) if subset == "validation" else np.arange(k, n)
        tr, va = stratified_split(labels, self.validation_split, seed=self.validation_seed)
        return tr if subset == "training" else va

    def _wants_augment(self, augment: bool | None, subset: str | None) -> bool:
        if augment is None:
            augment = subset != "validation"
        return bool(augment) and self.augmentation.active

    def _check_fitted(self) -> None:
        for flag, value in (("featurewise_center", self.mean),
                            ("featurewise_std_normalization", self.std),
                            ("zca_whitening", self.zca_whitening_matrix)):
            if getattr(self, flag) and value is None:
                warnings.warn(_NOT_FIT.format(flag), stacklevel=3)

    @property
    def _standardizes(self) -> bool:
        return bool(self.samplewise_center or self.samplewise_std_normalization
                    or (self.featurewise_center and self.mean is not None)
                    or (self.featurewise_std_normalization and self.std is not None)
                    or (self.zca_whitening and self.zca_whitening_matrix is not None))

    def _graph_standardize(self, img: tf.Tensor) -> tf.Tensor:
        """samplewise -> featurewise -> ZCA on an image or a batch (channels last)."""
        axes = [-3, -2, -1]
        if self.samplewise_center:
            img = img - tf.reduce_mean(img, axis=axes, keepdims=True)
        if self.samplewise_std_normalization:
            img = img / (tf.math.reduce_std(img, axis=axes, keepdims=True) + 1e-6)
        last = self.data_format == "channels_last"

        def stat(v):
            v = np.asarray(v, np.float32)
            return tf.constant(v if last else np.transpose(v, (1, 2, 0)))

        if self.featurewise_center and self.mean is not None:
            img = img - stat(self.mean)
        if self.featurewise_std_normalization and self.std is not None:
            img = img / (stat(self.std) + 1e-6)
        if self.zca_whitening and self.zca_whitening_matrix is not None:
            shape = tf.shape(img)
            d = int(np.prod(img.shape[-3:]))
            m = tf.constant(np.asarray(self.zca_whitening_matrix, np.float32))
            if last:
                flat = tf.reshape(img, [-1, d])
                img = tf.reshape(flat @ m, shape)
            else:
                perm_in = [0, 3, 1, 2] if img.shape.rank == 4 else [2, 0, 1]
                perm_out = [0, 2, 3, 1] if img.shape.rank == 4 else [1, 2, 0]
                cf = tf.transpose(img, perm_in)
                flat = tf.reshape(cf, [-1, d])
                img = tf.transpose(tf.reshape(flat @ m, tf.shape(cf)), perm_out)
        return img

    def _call_preprocessing(self, img: tf.Tensor) -> tf.Tensor:
        """Run ``preprocessing_function`` in the graph when it takes tensors, else on a NumPy
        array through ``tf.numpy_function`` (as Keras 2 calls it)."""
        fn = self.preprocessing_function
        if self._numpy_preprocessing is not True:
            try:
                out = tf.convert_to_tensor(fn(img), tf.float32)
                self._numpy_preprocessing = False
                return out
            except Exception:
                if self._numpy_preprocessing is False:
                    raise
                self._numpy_preprocessing = True
        out = tf.numpy_function(lambda a: np.asarray(fn(a.copy()), np.float32), [img],
                                tf.float32, stateful=False)
        return tf.ensure_shape(out, img.shape)

    def _finish_image(self, img: tf.Tensor, rnd: tf.Tensor | None,
                      spec: ImageSpec | None = None) -> tf.Tensor:
        img = tf.cast(img, tf.float32)
        if self.grayscale:
            img = _to_gray(img)
        if rnd is not None:
            img = self.augmentation.apply(img, tf.stack([rnd, tf.constant(0, tf.int64)]))
        if self.preprocessing_function is not None:
            img = self._call_preprocessing(img)
        if spec is not None:
            img = spec.scale(img)
        elif self.rescale:
            img = img * float(self.rescale)
        if self._standardizes:
            img = self._graph_standardize(img)
        return tf.cast(img, self.dtype)

    def _value_spec(self, spec: ImageSpec | dict | None) -> ImageSpec | None:
        spec = as_spec(spec)
        if spec is not None and self.rescale is not None and self.rescale != spec.rescale:
            raise ValueError(f"rescale is given twice: ImageDataGenerator(rescale={self.rescale})"
                             f" and spec.rescale={spec.rescale}. Keep one (the spec's is the "
                             "one export and predict replay).")
        return spec

    def _targets(self, labels: np.ndarray, class_mode: str | None,
                 num_classes: int) -> np.ndarray | None:
        _check_choice(class_mode, CLASS_MODES, "class_mode")
        if class_mode in (None, "input"):
            return None
        if class_mode == "raw":
            return np.asarray(labels, np.float32)
        if class_mode == "binary":
            if num_classes != 2:
                raise ValueError(f"class_mode='binary' needs exactly 2 classes. "
                                 f"Received: {num_classes} classes")
            return labels.astype(self.dtype)
        if class_mode == "sparse":
            return labels.astype(np.int32)
        return np.eye(num_classes, dtype=self.dtype)[labels]

    def _pipeline(self, ds: tf.data.Dataset, n: Any, load: Callable | None, *,
                  batch_size: int | None, shuffle: bool, seed: int | None, augment: bool,
                  buffer: int | None = None, spec: ImageSpec | None = None,
                  image_as_target: bool = False, hand_seed: Any = None,
                  epoch: Any = None, gray_to_rgb: bool = False,
                  batch_check: Callable | None = None) -> tf.data.Dataset:
        """shuffle -> per-image ``load`` (+ augmentation and finishing) -> batch -> prefetch.

        ``load(*element)`` returns ``image`` or ``(image, *targets)`` before augmentation,
        ``preprocessing_function`` and ``rescale``. Without augmentation and
        ``preprocessing_function``, the finishing (grayscale, rescale, standardisation, cast)
        runs once per batch, vectorised, instead of once per image. With ``hand_seed`` (a
        scalar tensor) the whole dataset is one batch, augmented with seeds drawn from it: a
        hand-pulled batch. A ``load`` with a true ``drops_failures`` attribute runs first,
        with ``ignore_errors`` (elements whose load fails are dropped; a guarded hand-pulled
        batch returns the file indices it kept as a second output). With ``epoch`` (an int64
        scalar tensor) and a ``seed``, the pass is epoch ``epoch``'s: its shuffle order and
        augmentation draws are a pure function of ``(seed, epoch)``, so a resumed run replays
        them (see :meth:`Flow.get_tf_dataset`). With ``gray_to_rgb`` (only without augmentation and
        ``preprocessing_function``) ``load`` gives 1-channel images that the batch finishing
        copies to 3 channels. ``batch_check`` (batches -> batches) runs right after batching
        (the guarded file flows' decode check, which also drops the elements' extra columns).
        """
        hand = hand_seed is not None
        indexed = epoch is not None and seed is not None and not hand
        if not hand:
            if batch_size < 1:
                raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
            if shuffle and n > 1:
                if indexed:  # a stateless permutation of (seed, epoch): no op-seed plumbing
                    table = ds.batch(n).get_single_element()
                    key = _shuffle_key(_epoch_seed(seed, epoch, 0))
                    ds = tf.data.Dataset.range(n).map(
                        lambda i: tf.nest.map_structure(
                            lambda t: tf.gather(t, _permute(i, key, n)), table))
                else:
                    ds = ds.shuffle(buffer or n, seed=seed, reshuffle_each_iteration=True)
        if load is not None and getattr(load, "drops_failures", False):
            # a guarded hand-pulled batch: images that fail to decode are dropped here, before
            # anything else runs (load returns (image, file index): the caller sees which)
            ds = ds.map(lambda *el: load(*el), num_parallel_calls=AUTOTUNE,
                        deterministic=True).ignore_errors()
            load = None
        per_batch = not augment and self.preprocessing_function is None
        if gray_to_rgb and not per_batch:
            raise ValueError("gray_to_rgb needs a flow without augmentation")

        def split(out):
            return (out[0], tuple(out[1:])) if isinstance(out, tuple) else (out, ())

        def call(el):
            el = el if isinstance(el, tuple) else (el,)
            return split(load(*el) if load is not None else el)

        def join(img, rest):
            return (img, *rest) if rest else img

        if augment:
            if hand:
                rnd = tf.data.Dataset.from_tensor_slices(tf.random.stateless_uniform(
                    tf.reshape(tf.cast(n, tf.int32), [1]), tf.stack([hand_seed, 7]),
                    minval=None, maxval=None, dtype=tf.int64))
            elif indexed:
                key = _epoch_seed(seed, epoch, 1)
                rnd = tf.data.Dataset.range(1 << 62).map(
                    lambda i: tf.random.stateless_uniform([], tf.stack([key, i]), minval=None,
                                                          maxval=None, dtype=tf.int64))
            else:
                rnd = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
            ds = tf.data.Dataset.zip((ds, rnd))

            def per_image(el, r):
                img, rest = call(el)
                return join(self._finish_image(img, tf.cast(r, tf.int64), spec), rest)
        elif per_batch:
            per_image = None if load is None else (lambda *el: join(*call(el)))
        else:
            def per_image(*el):
                img, rest = call(el)
                return join(self._finish_image(img, None, spec), rest)
        if per_image is not None:
            ds = ds.map(per_image, num_parallel_calls=AUTOTUNE, deterministic=True)
        ds = ds.batch(1 << 30 if hand else batch_size)
        if batch_check is not None:
            ds = batch_check(ds)
        if per_batch:
            def finish(*el):
                img = el[0]
                if gray_to_rgb and spec is not None:  # a spec may hold per-channel statistics
                    img = _gray_to_rgb(img)
                img = self._finish_image(img, None, spec)
                if gray_to_rgb and spec is None:  # rescale one channel, then copy it
                    img = _gray_to_rgb(img)
                return join(img, tuple(el[1:]))

            ds = ds.map(finish, num_parallel_calls=AUTOTUNE, deterministic=True)
        if self.data_format == "channels_first":
            def to_first(*el):
                return join(tf.transpose(el[0], [0, 3, 1, 2]), tuple(el[1:]))

            ds = ds.map(to_first)
        if image_as_target:  # class_mode="input": the target is the image itself (autoencoders)
            ds = ds.map(lambda x, *rest: (x, x, *rest), num_parallel_calls=AUTOTUNE,
                        deterministic=True)
        return ds if hand else ds.prefetch(AUTOTUNE)

    def _make_pull(self, sources: Sequence[np.ndarray], load: Callable | None, *, augment: bool,
                   spec: ImageSpec | None, image_shape: tuple,
                   gray_to_rgb: bool = False) -> Callable:
        """``pull(index_array, seed) -> images`` (NumPy): the hand-pulled batch path, the same
        graph ops as the flow's pipeline, traced once."""
        sources = [np.asarray(s) for s in sources]

        def tf_dtype(a):
            return tf.string if a.dtype.kind in "USO" else tf.as_dtype(a.dtype)

        sig = [tf.TensorSpec((None, *a.shape[1:]), tf_dtype(a)) for a in sources]
        sig.append(tf.TensorSpec([], tf.int64))

        # autograph=False: converting _pipeline here would put AutoGraph's converted copies of
        # its inner functions in AutoGraph's cache, where the dataset path's map functions
        # (same code objects, other closures) then pick them up with the wrong closure cells.
        @tf.function(input_signature=sig, autograph=False)
        def pull_graph(*args):
            *sel, seed = args
            ds = tf.data.Dataset.from_tensor_slices(tuple(sel) if len(sel) > 1 else sel[0])
            ds = self._pipeline(ds, tf.shape(sel[0])[0], load, batch_size=None, shuffle=False,
                                seed=None, augment=augment, spec=spec, hand_seed=seed,
                                gray_to_rgb=gray_to_rgb)
            # a batch whose every image failed to decode (guarded load) is an empty batch
            return ds.concatenate(_empty_batch(ds.element_spec)).take(1).get_single_element()

        out_shape = tuple(image_shape)
        if self.data_format == "channels_first" and len(out_shape) == 3:
            out_shape = (out_shape[2], out_shape[0], out_shape[1])

        def pull(index_array: np.ndarray, seed: int) -> np.ndarray:
            if len(index_array) == 0:
                return np.zeros((0, *out_shape), self.dtype)
            sel = [tf.constant(s[index_array].astype(object) if s.dtype.kind in "USO"
                               else s[index_array]) for s in sources]
            out = pull_graph(*sel, tf.constant(seed, tf.int64))
            if isinstance(out, tuple):  # (images, kept file indices) from a guarded load
                return tuple(t.numpy() for t in out)
            return out.numpy()

        return pull

    # ------------------------------------------------------------------ arrays
    def flow(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool | None = None,
             sample_weight: np.ndarray | None = None, seed: int | None = None,
             save_to_dir: str | None = None, save_prefix: str = "", save_format: str = "png",
             ignore_class_split: bool = False, subset: str | None = None, *,
             augment: bool | None = None) -> Flow:
        """A flow over in-memory arrays (Keras 2's signature).

        Args:
            x: array ``(n, h, w, c)`` (``(n, c, h, w)`` with ``data_format="channels_first"``;
                ``(n, h, w)`` is taken as one channel), values 0-255 (uint8 or float); or a
                tuple ``(images, misc)`` where ``misc`` is an array or a list of arrays passed
                through beside the images (batches are then ``([x, *misc], y)``).
            y: array or None. Targets, passed through as given (class ids or one-hot).
            batch_size: int. Defaults to 32.
            shuffle: bool or None. None: shuffle unless ``subset="validation"``.
            sample_weight: array or None. Per-sample weights, yielded as a third element.
            seed: int or None. Shuffle and augmentation seed.
            save_to_dir, save_prefix, save_format: save hand-pulled (``next``, ``flow[i]``)
                augmented images as files, as Keras 2 (the ``fit`` path does not save).
            ignore_class_split: bool. Accepted for Keras 2 (the split here is stratified, so
                both subsets always hold every class of two or more samples).
            subset: ``"training"``, ``"validation"`` or None (see ``validation_split``).
            augment: bool or None. None: augment unless ``subset="validation"``.

        Returns:
            A :class:`Flow` of ``(x, y[, w])`` batches (``x`` alone when ``y`` is None).

        Example:
            >>> import numpy as np
            >>> f = ImageDataGenerator().flow(np.ones((5, 4, 4)), shuffle=False, batch_size=2)
            >>> [tuple(b.shape) for b in f.dataset]
            [(2, 4, 4, 1), (2, 4, 4, 1), (1, 4, 4, 1)]
            >>> next(f).shape, f.batch_index
            ((2, 4, 4, 1), 1)
        """
        misc: list[np.ndarray] = []
        if isinstance(x, tuple | list) and len(x) == 2 and not np.isscalar(x[0]):
            x, m = x
            misc = [np.asarray(v) for v in (m if isinstance(m, list) else [m])]
        x = np.asarray(x)
        n = len(x) if x.ndim else 0
        for v in misc:
            if len(v) != n:
                raise ValueError("All of the arrays in `x` should have the same length. Found a "
                                 f"pair with: len(x[0]) = {n}, len(x[?]) = {len(v)}")
        if y is not None and len(y) != n:
            raise ValueError("`x` (images tensor) and `y` (labels) should have the same "
                             f"length. Found: x.shape = {x.shape}, y.shape = "
                             f"{np.asarray(y).shape}")
        if sample_weight is not None and len(sample_weight) != n:
            raise ValueError("`x` (images tensor) and `sample_weight` should have the same "
                             f"length. Found: x.shape = {x.shape}, sample_weight.shape = "
                             f"{np.asarray(sample_weight).shape}")
        if x.ndim == 3 and self.data_format == "channels_last":
            x = x[..., np.newaxis]
        if x.ndim != 4:
            raise ValueError("Input data in `NumpyArrayIterator` should have rank 4. You passed "
                             f"an array with shape {x.shape}")
        if self.data_format == "channels_first":
            x = np.transpose(x, (0, 2, 3, 1))
        if x.shape[-1] not in (1, 3, 4):
            warnings.warn(f"NumpyArrayIterator is set to use the data format convention "
                          f"\"{self.data_format}\" (channels on axis {self.channel_axis}), i.e. "
                          f"expected either 1, 3, or 4 channels on axis {self.channel_axis}. "
                          f"However, it was passed an array with shape {x.shape} "
                          f"({x.shape[-1]} channels).", stacklevel=2)
        if n == 0:
            raise ValueError("x is empty (0 samples)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
        self._check_fitted()
        classes = None
        if y is not None:
            y = np.asarray(y)
            check_array_labels(y)  # finite; class ids and one-hot values >= 0 (names the index)
            if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
                classes = y.astype(np.int64)
            elif y.ndim == 1 and np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
                classes = y.astype(np.int64)
            elif y.ndim == 2 and y.shape[1] > 1:
                classes = np.argmax(y, axis=1)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)
        idx = self._subset_indices(classes, n, subset)
        x = x[idx]
        misc = [v[idx] for v in misc]
        y = None if y is None else y[idx]
        classes = None if classes is None else classes[idx]
        sample_weight = None if sample_weight is None else sample_weight[idx]
        shuffle = (subset != "validation") if shuffle is None else bool(shuffle)
        augment = self._wants_augment(augment, subset)
        xin = x if x.dtype in (np.uint8, np.float32) else x.astype(np.float32)

        def pack_x(img, m):
            return [img, *m] if misc else img

        parts = [xin, *misc]
        if y is not None:
            parts.append(y)
        if sample_weight is not None:
            parts.append(sample_weight)
        ds = tf.data.Dataset.from_tensor_slices(tuple(parts) if len(parts) > 1 else parts[0])
        k = len(misc)
        has_y, has_w = y is not None, sample_weight is not None

        def regroup(*el):  # (img, *misc, [y], [w]) -> Keras 2's structure
            img, rest = el[0], el[1:]
            m, rest = list(rest[:k]), rest[k:]
            xs = tuple([img, *m]) if k else img
            if not has_y:
                return xs
            return (xs, *rest) if has_w else (xs, rest[0])

        source = ds

        def one_pass(epoch=None):
            out = self._pipeline(source, len(x), None, batch_size=batch_size, shuffle=shuffle,
                                 seed=seed, augment=augment, epoch=epoch)
            return out.map(regroup) if k else out

        ds = one_pass()
        pull_x = self._make_pull([xin], None, augment=augment, spec=None,
                                 image_shape=x.shape[1:])

        def pull(index_array, hand_seed):
            bx = pull_x(index_array, hand_seed)
            out_x = pack_x(bx, [v[index_array] for v in misc])
            if y is None:
                return out_x
            out = (out_x, y[index_array])
            return (*out, sample_weight[index_array]) if sample_weight is not None else out

        num = int(classes.max()) + 1 if classes is not None and len(classes) else 0
        save = {"save_to_dir": save_to_dir, "save_prefix": save_prefix,
                "save_format": save_format}
        return Flow(ds, samples=len(x), batch_size=batch_size, classes=classes,
                    class_indices={str(i): i for i in range(num)},
                    class_mode="raw" if y is not None else None, image_shape=x.shape[1:],
                    shuffle=shuffle, seed=seed, pull=pull, dtype=self.dtype,
                    image_data_generator=self, save=save,
                    pass_fn=one_pass if seed is not None else None)

    def flow_from_tfds(self, name: str, split: str = "train",
                       target_size: tuple[int, int] | None = None, color_mode: str | None = None,
                       class_mode: str | None = "sparse", batch_size: int = 32,
                       shuffle: bool | None = None, seed: int | None = None,
                       subset: str | None = None, interpolation: str = "bilinear",
                       resize_mode: str = "stretch", padding_mode: str = "zeros",
                       augment: bool | None = None, data_dir: str | Path | None = None,
                       download: bool = False, shuffle_buffer: int = 10000) -> Flow:
        """A flow over a TensorFlow Datasets set: ``mnist``, ``mnist_corrupted/<name>``,
        ``svhn_cropped`` (seeds 002 and 003), or any set with ``image`` / ``label`` features.

        Args:
            name: str. The tfds name, e.g. ``"mnist_corrupted/shot_noise"``.
            split: str. A tfds split expression.
            target_size: (height, width) or None (keep the stored size).
            color_mode: ``"grayscale"``, ``"rgb"`` or None (keep the stored channels).
            class_mode: ``"sparse"`` (default), ``"categorical"``, ``"binary"`` or None.
            shuffle_buffer: int. Shuffle buffer (decoded images), capped at the set's size.
            data_dir, download: passed to ``tfds.load`` (no download by default).
            other arguments: as :meth:`flow_from_directory`.

        Returns:
            A :class:`Flow` whose ``classes`` are the labels in file order.

        Example:
            >>> import tensorflow_datasets as tfds
            >>> with tfds.testing.mock_data(num_examples=6):
            ...     f = ImageDataGenerator(rescale=1 / 255).flow_from_tfds(
            ...         "svhn_cropped", "test", color_mode="grayscale", batch_size=4)
            >>> f.samples, f.image_shape, next(iter(f.dataset))[0].shape
            (6, (32, 32, 1), TensorShape([4, 32, 32, 1]))
        """
        _check_choice(class_mode, ("categorical", "sparse", "binary", None), "class_mode")
        if color_mode is not None:
            _check_choice(color_mode, COLOR_MODES, "color_mode")
        ds, labels, names = load_tfds(name, split, data_dir=data_dir, download=download)
        n = len(labels)
        if n == 0:
            raise ValueError(f"tfds {name!r} split {split!r} is empty")
        num_classes = len(names)
        if class_mode == "binary" and num_classes != 2:
            raise ValueError(f"class_mode='binary' needs exactly 2 classes. "
                             f"Received: {num_classes} classes")
        idx = self._subset_indices(labels, n, subset)
        if len(idx) < n:
            mask = np.zeros(n, bool)
            mask[idx] = True
            keep = tf.constant(mask)
            ds = ds.enumerate().filter(lambda i, el: tf.gather(keep, i)).map(lambda i, el: el)
        labels = labels[idx]
        stored = ds.element_spec[0].shape
        channels = COLOR_MODES[color_mode] if color_mode else int(stored[-1])
        shape = tuple(target_size) if target_size else tuple(stored[:2])
        shuffle = (subset != "validation") if shuffle is None else bool(shuffle)
        augment = self._wants_augment(augment, subset)

        def load(image, label):
            img = tf.cast(image, tf.float32)
            if channels == 1 and img.shape[-1] == 3:
                img = tf.image.rgb_to_grayscale(img)
            elif channels == 3 and img.shape[-1] == 1:
                img = tf.repeat(img, 3, axis=-1)
            if target_size:
                img = resize_image(img, target_size, mode=resize_mode, padding_mode=padding_mode,
                                   interpolation=interpolation)
            if class_mode is None:
                return img
            if class_mode == "categorical":
                return img, tf.one_hot(label, num_classes)
            return img, (tf.cast(label, tf.float32) if class_mode == "binary"
                         else tf.cast(label, tf.int32))

        ds = self._pipeline(ds, len(labels), load, batch_size=batch_size, shuffle=shuffle,
                            seed=seed, augment=augment, buffer=min(len(labels), shuffle_buffer))
        return Flow(ds, samples=len(labels), batch_size=batch_size,
                    class_indices={str(c): i for i, c in enumerate(names)}, classes=labels,
                    class_mode=class_mode, image_shape=(*shape, channels), shuffle=shuffle,
                    seed=seed)

    # ------------------------------------------------------------------ files
    def _file_flow(self, paths: list[str], labels: np.ndarray | None, class_indices: dict,
                   filenames: list[str], *, target_size, color_mode, class_mode, batch_size,
                   shuffle, seed, subset, interpolation, crop, resize_mode, padding_mode,
                   on_bad, check, augment, skipped=(), raw_targets: Any = None,
                   cache: bool | str = False, spec: ImageSpec | dict | None = None,
                   directory: Any = None, weights: np.ndarray | None = None,
                   save: dict | None = None, multi_labels: list | None = None,
                   allow_empty: bool = False, reduced_decode: bool = False) -> Flow:
        spec = self._value_spec(spec)
        interpolation = PIL_NAMES.get(interpolation, interpolation)  # Keras 2 means PIL's
        if spec is not None:
            target_size, color_mode, crop = spec.image_size, spec.color_mode, spec.crop
            resize_mode, padding_mode = spec.resize_mode, spec.padding_mode
            interpolation = spec.interpolation
        if color_mode not in FILE_COLOR_MODES:
            raise ValueError(f"Invalid color mode: {color_mode}; expected \"rgb\", \"rgba\", or "
                             "\"grayscale\".")
        if class_mode not in CLASS_MODES:
            raise ValueError(f"Invalid class_mode: {class_mode}; expected one of "
                             f"{CLASS_MODES}")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"Invalid interpolation method {interpolation!r} specified. "
                             f"Supported methods are {sorted(set(INTERPOLATIONS))}")
        _check_choice(resize_mode, RESIZE_MODES, "resize_mode")
        _check_choice(padding_mode, PADDING_MODES, "padding_mode")
        crop = crops_lib.get(crop)
        if target_size is None:
            if crop is None or crop.output_size is None:
                raise ValueError("target_size=None needs a crop with a fixed output size")
            target_size = crop.output_size
        target_size = tuple(int(v) for v in target_size)
        if len(target_size) != 2 or min(target_size) < 1:
            raise ValueError(f"target_size must be (height, width). Received: {target_size}")
        channels = FILE_COLOR_MODES[color_mode]
        named_crop = crop_name(crop)
        if (spec is None and self.preprocessing_function is None and not self.grayscale
                and not self._standardizes and color_mode != "rgba"
                and self.data_format == "channels_last"
                and (crop is None or named_crop is not None)):
            spec = ImageSpec(target_size, color_mode, self.rescale, crop=named_crop,
                             resize_mode=resize_mode, padding_mode=padding_mode,
                             interpolation=interpolation)
            value_spec = None
        else:
            value_spec = spec
        if (self.preprocessing_function is not None or self.grayscale or self._standardizes
                or color_mode == "rgba" or self.data_format != "channels_last"):
            spec = None  # a step no spec expresses runs in this flow: serving cannot replay it
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
        self._check_fitted()
        skipped = list(skipped)
        order = np.arange(len(paths))
        if check:
            _, _, formats, bad = check_files(
                paths, None, on_bad=on_bad, min_size=crop.min_size if crop else None)
            skipped += bad
            bad_paths = {p for p, _ in bad}
            order = np.asarray([i for i, p in enumerate(paths) if p not in bad_paths], np.int64)
        else:
            formats = ["tiff" if p.lower().endswith((".tif", ".tiff")) else "other" for p in paths]

        def take(seq, idx):
            if seq is None:
                return None
            if isinstance(seq, np.ndarray):
                return seq[idx]
            return [seq[i] for i in idx]

        paths, filenames = take(paths, order), take(filenames, order)
        labels = None if labels is None else np.asarray(labels, np.int64)[order]
        raw_targets = None if raw_targets is None else [take(t, order) for t in raw_targets]
        weights = take(weights, order)
        multi_labels = take(multi_labels, order)
        if not paths and not allow_empty:
            raise ValueError("no images left to read" + (f" ({len(skipped)} skipped)"
                                                         if skipped else ""))
        idx = self._subset_indices(labels, len(paths), subset)
        paths, filenames = take(paths, idx), take(filenames, idx)
        formats = take(formats, idx)
        labels = None if labels is None else labels[idx]
        weights = take(weights, idx)
        multi_labels = take(multi_labels, idx)
        num_classes = len(class_indices)
        if class_mode == "raw":
            targets = raw_targets[0][idx] if raw_targets is not None else None
        elif class_mode == "multi_output":
            targets = tuple(t[idx] for t in raw_targets)
        elif class_mode == "categorical" and multi_labels is not None:
            targets = np.zeros((len(paths), num_classes), self.dtype)
            for i, ks in enumerate(multi_labels):
                targets[i, ks] = 1.0
        else:
            targets = None if labels is None else self._targets(labels, class_mode, num_classes)
            if labels is None and class_mode not in (None, "input"):
                raise ValueError(f"class_mode={class_mode!r} needs labels; use class_mode=None")
        shuffle = (subset != "validation") if shuffle is None else bool(shuffle)
        augment = self._wants_augment(augment, subset)
        tiff = np.asarray([f == "tiff" for f in formats], bool)
        any_tiff = bool(tiff.any())
        decode_channels = 3 if channels == 4 else channels
        need = None  # the smallest decoded size the geometry needs (reduced JPEG decode)
        # A named band crop of a JPEG decodes only the rows / columns the band reads: the same
        # pixels (generators.ops.decode_band), so it is always on; DCT scaling is opt-in.
        band = crop.output_size[0] if named_crop in crops_lib.SIDES else None
        if reduced_decode:
            if crop is None:
                need = target_size
            elif named_crop in ("top", "bottom"):
                need = (2 * crop.output_size[0], crop.output_size[1])
            elif named_crop in ("left", "right"):
                need = (crop.output_size[0], 2 * crop.output_size[1])
            elif named_crop == "full":
                need = crop.output_size
        # With every file a JPEG, read from the headers: the scale every file shares (no
        # per-file choice in the graph) and, for gray pages in an "rgb" flow, gray decoding with
        # the channel copy made once per batch (same values, a third of the per-image work).
        ratio, gray_to_rgb = None, False
        if need is not None:
            ratio, all_gray = _jpeg_layout(paths, formats, need)
            gray_to_rgb = (all_gray and channels == 3 and not augment and not self.grayscale
                           and self.preprocessing_function is None and not self._standardizes)
        geo_channels = channels  # what read() gives: 1 when the batch copies gray to RGB
        if gray_to_rgb:
            decode_channels = geo_channels = 1

        def read_image(path, is_tiff):  # decode -> crop -> resize
            if channels == 4:  # RGBA: apply_geometry knows 1 and 3 channels only
                img = decode_image_rgba(tf.io.read_file(path))
                if crop is not None:
                    img = crop(img)
                img = resize_image(img, target_size, mode=resize_mode, padding_mode=padding_mode,
                                   interpolation=interpolation)
                return tf.ensure_shape(img, [*target_size, 4])
            if band is not None:  # a JPEG band: decode only the rows / columns it reads
                contents = tf.io.read_file(path)
                if ratio is not None:  # every file a JPEG
                    img = decode_band(contents, named_crop, band, 2 * band, decode_channels,
                                      keep_gray=True, ratio=ratio)
                else:
                    is_jpeg = tf.equal(tf.strings.substr(contents, 0, 3), b"\xff\xd8\xff")
                    if any_tiff:
                        is_jpeg = tf.logical_and(is_jpeg, tf.logical_not(is_tiff))
                    img = tf.cond(
                        is_jpeg,
                        lambda: decode_band(contents, named_crop, band, 2 * band,
                                            decode_channels, keep_gray=True,
                                            scale_decode=reduced_decode),
                        lambda: crop(decode_image(contents, decode_channels,
                                                  is_tiff if any_tiff else False,
                                                  keep_gray=True)))
                return apply_geometry(img, None, target_size, geo_channels, resize_mode=resize_mode,
                                      padding_mode=padding_mode, interpolation=interpolation)
            if ratio is not None:
                nearest = (crop is None and resize_mode == "stretch"
                           and interpolation == "nearest")  # resized on the 8-bit page
                img = decode_reduced(tf.io.read_file(path), need, decode_channels,
                                     keep_gray=True, ratio=ratio, nearest=nearest)
            elif need is not None:
                img = tf.cond(is_tiff, lambda: decode_image(
                    tf.io.read_file(path), decode_channels, True, keep_gray=True),
                    lambda: decode_reduced(tf.io.read_file(path), need, decode_channels,
                                           keep_gray=True)) if any_tiff else decode_reduced(
                    tf.io.read_file(path), need, decode_channels, keep_gray=True)
            else:
                img = decode_image(tf.io.read_file(path), decode_channels,
                                   is_tiff if any_tiff else False, keep_gray=True)
            return apply_geometry(img, crop, target_size, geo_channels,
                                  resize_mode=resize_mode, padding_mode=padding_mode,
                                  interpolation=interpolation)

        # With the file checks on, a file that passes them but fails to decode (corrupt scan
        # data, a bad PNG IDAT ...) names itself (on_bad="raise") or is dropped with its label
        # (on_bad="skip"), wherever in a pass it comes: passes read through guarded_pass
        # (ignore_errors on the main pipeline, missing positions found per batch), hand-pulled
        # batches through load_kept (ignore_errors; pull() sees which files are missing).
        if check not in (True, False, "header"):
            raise ValueError(f"check must be True, 'header' or False. Received: {check!r}")
        guard = on_bad if check is True and len(paths) > 0 else None
        recorder = _DecodeSkips(skipped)

        def load(path, is_tiff, *target):
            img = read_image(path, is_tiff)
            return (img, *target) if target else img

        def load_kept(path, is_tiff, index):  # a guarded hand-pulled batch: (image, file index)
            return read_image(path, is_tiff), index

        load_kept.drops_failures = True

        tparts: tuple = ()
        if targets is not None:
            tparts = targets if isinstance(targets, tuple) else (targets,)
        if weights is not None:
            tparts = (*tparts, np.asarray(weights))
        parts = (np.asarray(paths, dtype=str), tiff, *tparts)
        guarded = guard is not None

        def raise_first(bad, tiff_flags):  # eager: read the files of a dropped batch one by one
            names = [p.decode() for p in bad.numpy()]
            for p, t in zip(names, tiff_flags.numpy()):
                try:
                    read_image(tf.constant(p), tf.constant(t))
                except tf.errors.OpError:
                    raise _undecodable(p) from None
            raise BadImageFile(names[0], "a batch of these files failed to load, but each "
                               "decodes on its own (was a file changed while reading?): "
                               + ", ".join(names))

        def guarded_pass(epoch=None, shuffled=False, as_uint8=False):
            """One pass read on the main pipeline with ``ignore_errors``: ``(elements, check)``.

            ``elements`` are ``(image, key, position, *targets)`` in pass order, without the
            files that failed to decode; ``check(batches)`` takes them batched, finds the pass
            positions missing from each batch (and, after the last, from the end of the pass),
            names their files (on_bad="raise") or records them in ``skipped`` (on_bad="skip"),
            and gives the batches back without key and position. The order is a stateless
            permutation of the positions (``index_shuffle`` keyed per pass: by ``(seed, epoch)``
            for an epoch's pass, else drawn per iteration), so a missing position maps back to
            its file. Good files cost two gathers per image and a check per batch.
            """
            n = len(paths)
            table = tuple(tf.constant(t) for t in parts)
            if shuffled and n > 1:
                if seed is not None and epoch is not None:
                    keys = tf.data.Dataset.from_tensors(_shuffle_key(_epoch_seed(seed, epoch, 0)))
                else:
                    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True
                                                  ).take(1).map(_no_autograph(_shuffle_key))

                def order(key, pos):  # pass position(s) -> file index(es)
                    return _permute(pos, key, n)
                ds = keys.flat_map(_no_autograph(lambda key: tf.data.Dataset.from_tensor_slices(
                    (tf.range(n, dtype=tf.int64), tf.tile(key[None], [n, 1])))))
            else:
                ds = tf.data.Dataset.range(n)  # positions only: the key is a placeholder

                def order(key, pos):
                    return pos

            @_no_autograph
            def decode(pos, key=None):
                key = tf.zeros([2], tf.int64) if key is None else key
                el = tuple(tf.gather(t, order(key, pos)) for t in table)
                img = read_image(el[0], el[1])
                return (_to_uint8(img) if as_uint8 else img, key, pos, *el[2:])

            elements = ds.map(decode, num_parallel_calls=AUTOTUNE, deterministic=True)
            # on_bad="raise" with nothing between this map and the batching (the common case):
            # a batch with a file that fails is dropped whole, so the map stays fused with the
            # batching, and its files are then read one by one to name the bad one. Otherwise
            # the failing images are dropped one by one here (so that errors of later steps,
            # e.g. a preprocessing_function, still surface as they are).
            batch_level = guard == "raise" and not augment and self.preprocessing_function is None
            if not batch_level:
                elements = elements.ignore_errors()

            def check(batches):
                if batch_level:
                    batches = batches.ignore_errors()
                # an empty batch after the last reports the failures at the end of the pass
                end = _empty_batch(batches.element_spec)

                @_no_autograph
                def step(state, b):  # state: (next expected position, the pass's key)
                    expected, key = state
                    pos = b[2]
                    size = tf.size(pos, out_type=tf.int64)
                    # one past the batch's last position (the end batch: n), and the key
                    last = tf.where(size > 0, tf.reduce_max(tf.concat([pos, [-1]], 0)) + 1,
                                    tf.constant(n, tf.int64))
                    key = tf.concat([b[1], key[None]], 0)[0]

                    def missing():
                        got = tf.scatter_nd((pos - expected)[:, None],
                                            tf.ones_like(pos, tf.int32), [last - expected])
                        qs = expected + tf.where(tf.equal(got, 0))[:, 0]
                        # with no batch seen yet the key is a placeholder, but then every
                        # position is missing and any permutation names the same files
                        idx = order(key, qs)
                        bad = tf.gather(table[0], idx)
                        if guard == "raise":  # eager: a graph branch would cost every batch
                            out = tf.py_function(raise_first, [bad, tf.gather(table[1], idx)],
                                                 tf.bool)
                        else:
                            out = tf.numpy_function(recorder.record_paths, [bad], tf.bool,
                                                    stateful=True)
                        return tf.reshape(out, [])

                    done = tf.cond(last - expected > size, missing, lambda: tf.constant(True))
                    with tf.control_dependencies([done]):
                        img = tf.identity(b[0])
                    return (last, key), (img, *b[3:])

                out = batches.concatenate(end).scan(
                    (tf.constant(0, tf.int64), tf.zeros([2], tf.int64)), step)
                out = out.filter(_no_autograph(lambda img, *rest: tf.shape(img)[0] > 0))
                return out.map(_no_autograph(lambda *el: el if len(el) > 1 else el[0]))

            return elements, check

        ds = tf.data.Dataset.from_tensor_slices(parts)
        pipe_load = load
        if cache:
            if guarded:
                elements, check_batches = guarded_pass(as_uint8=True)
                ds = check_batches(elements.batch(256)).unbatch()
            else:
                def to_cache(path, is_tiff, *target):
                    img = _to_uint8(read_image(path, is_tiff))
                    return (img, *target) if target else img

                ds = ds.map(to_cache, num_parallel_calls=AUTOTUNE, deterministic=True)
            ds = ds.cache("" if cache is True else str(cache))
            pipe_load, guarded = None, False
        source = ds

        def one_pass(epoch=None):
            src, shuf, check_batches = source, shuffle, None
            if guarded:  # read (and shuffled) by guarded_pass, checked per batch
                (src, check_batches), shuf = guarded_pass(epoch, shuffled=shuffle), False
            out = self._pipeline(src, len(paths), None if guarded else pipe_load,
                                 batch_size=batch_size, shuffle=shuf, seed=seed,
                                 augment=augment, spec=value_spec,
                                 image_as_target=class_mode == "input", epoch=epoch,
                                 gray_to_rgb=gray_to_rgb, batch_check=check_batches)
            if guarded and guard == "raise":  # every batch comes, or the pass raises first
                out = out.apply(tf.data.experimental.assert_cardinality(
                    -(-len(paths) // batch_size)))
            if class_mode == "multi_output":
                k = len(targets)

                def regroup(*el):
                    return (el[0], tuple(el[1:1 + k]), *el[1 + k:])

                out = out.map(regroup)
            return out

        ds = one_pass()
        hand_sources = [np.asarray(paths, dtype=str), tiff]
        if guard is not None:
            hand_sources.append(np.arange(len(paths), dtype=np.int64))
        pull_x = self._make_pull(hand_sources, load if guard is None else load_kept,
                                 augment=augment, spec=value_spec,
                                 image_shape=(*target_size, channels), gray_to_rgb=gray_to_rgb)

        def pull(index_array, hand_seed):
            bx = pull_x(index_array, hand_seed)
            if guard is not None:  # (images, kept file indices): name or skip the others
                bx, kept = bx
                index_array = np.asarray(index_array)
                ok = np.isin(index_array, kept)
                if not ok.all():
                    bad = [paths[i] for i in index_array[~ok]]
                    if guard == "raise":
                        raise _undecodable(bad[0])
                    for p in bad:
                        recorder(p)
                    index_array = index_array[ok]
            if class_mode == "input":
                by = bx.copy()
            elif targets is None:
                return bx
            elif isinstance(targets, tuple):
                by = [t[index_array] for t in targets]
            else:
                by = targets[index_array]
            if weights is not None:
                return bx, by, np.asarray(weights)[index_array]
            return bx, by

        abs_paths = [os.path.abspath(p) for p in paths]
        flow = Flow(ds, samples=len(paths), batch_size=batch_size, class_indices=class_indices,
                    classes=labels if multi_labels is None else list(multi_labels),
                    filenames=filenames, filepaths=abs_paths, class_mode=class_mode,
                    image_shape=(*target_size, channels), shuffle=shuffle, seed=seed,
                    skipped=skipped, spec=spec, pull=pull,
                    directory=None if directory is None else str(directory),
                    target_size=target_size, color_mode=color_mode, dtype=self.dtype,
                    image_data_generator=self, save=save, interpolation=interpolation,
                    pass_fn=one_pass if seed is not None and not cache else None)
        if weights is not None:
            flow.sample_weight = np.asarray(weights)
        else:
            flow.sample_weight = None
        if class_mode in ("raw", "multi_output") and targets is not None:
            flow._raw_labels = targets
        return flow

    def flow_from_directory(self, directory: str | Path,
                            target_size: tuple[int, int] | None = (256, 256),
                            color_mode: str = "rgb",
                            classes: Sequence[str] | dict[str, int] | None = None,
                            class_mode: str | None = "categorical", batch_size: int = 32,
                            shuffle: bool | None = None, seed: int | None = None,
                            save_to_dir: str | None = None, save_prefix: str = "",
                            save_format: str = "png", follow_links: bool = False,
                            subset: str | None = None, interpolation: str = "nearest",
                            keep_aspect_ratio: bool = False, *,
                            crop: str | crops_lib.Crop | Callable | None = None,
                            resize_mode: str = "stretch", padding_mode: str = "zeros",
                            on_bad: str = "raise", augment: bool | None = None,
                            check: bool | str = True, cache: bool | str = False,
                            reduced_decode: bool = False,
                            spec: ImageSpec | dict | None = None) -> Flow:
        """A flow over an ImageNet-style folder ``directory/<class>/<image>``.

        ``directory`` may go through a ``.tgz`` / ``.tar`` / ``.zip`` archive, e.g.
        ``data/hoda-digits.tgz/hoda-digits/train``: the archive is extracted once to a cache
        (``$KERASDOC_CACHE``, default ``~/.cache/kerasdoc``) and read from there.

        Args:
            directory: str or Path. Root with one sub-folder per class (or a path through an
                archive).
            target_size: (height, width) or None (then the crop's output size).
            color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3 channels).
            classes: list of class names (their order gives the indices), a training flow's
                ``class_indices`` (keeps its mapping for a test folder), or None (all
                sub-folders, sorted).
            class_mode: ``"categorical"`` (one-hot), ``"sparse"`` (int), ``"binary"`` (0/1 float,
                2 classes), ``"input"`` (the image is its own target, for autoencoders) or None
                (images only, for ``predict``).
            batch_size: int. Defaults to 32.
            shuffle: bool or None. None: shuffle unless ``subset="validation"``.
            seed: int or None. Shuffle and augmentation seed.
            subset: ``"training"``, ``"validation"`` or None.
            interpolation: str. Keras 2's names mean PIL's filters, antialiased when
                downscaling: ``"nearest"`` (the default, as Keras 2), ``"bilinear"``,
                ``"bicubic"``, ``"lanczos"``, ``"box"``, ``"hamming"``; TensorFlow's other
                methods (``"area"``, ``"lanczos3"``, ``"gaussian"`` ...) are accepted too.
            crop: a crop name (``"top"`` ...), a :class:`kerasdoc.generators.crops.Crop` or a
            function of
                tf ops, applied to the decoded page before resizing to ``target_size``.
            resize_mode: ``"stretch"``, ``"pad"`` or ``"crop"`` (aspect handling).
            padding_mode: ``"zeros"`` or ``"reflection"`` for ``resize_mode="pad"``.
            on_bad: ``"raise"`` or ``"skip"`` (bad files and empty class folders).
            follow_links: bool. Follow symbolic links inside the class folders (class folders
                that are links are always read, as Keras does).
            augment: bool or None. None: augment unless ``subset="validation"``.
            check: True, ``"header"`` or False. Check each file's header and trailer first
                (microseconds per file; too-large images included); True also guards each
                decode, so that a file that still fails to decode names itself or, with
                ``on_bad="skip"``, is dropped with its label (the pass reads on with
                ``ignore_errors`` and finds the missing positions per batch: no measurable
                cost on good files); ``"header"``: the checks without the guard (a decode
                failure is then TensorFlow's error); False: neither.
            cache: bool or str. Keep the decoded, cropped and resized images (as uint8, clipped
                and rounded) after the first pass: True in memory, a path on disk (tf.data
                file cache). Augmentation, ``preprocessing_function`` and ``rescale`` still run
                every epoch, after the cache. Memory: ``samples * h * w * c`` bytes.
            reduced_decode: bool. Decode JPEGs at 1/2, 1/4 or 1/8 scale when the reduced page
                still covers what the crop / ``target_size`` needs (faster; not pixel-exact: see
                :func:`kerasdoc.generators.ops.decode_reduced`; the flow's ``spec`` and serving
                decode the
                full page), with the scale and gray pages read from the headers. A named band
                crop (``top``, ``bottom``, ``left``, ``right``) of a JPEG always decodes only the
                rows / columns it reads (the same pixels:
                :func:`kerasdoc.generators.ops.decode_band`).
            spec: :class:`kerasdoc.generators.spec.ImageSpec` or None. The image contract: replaces
                ``target_size``, ``color_mode``, ``crop``, ``resize_mode``, ``padding_mode``,
                ``interpolation`` and the generator's ``rescale`` (rescale and normalisation
                come from the spec; an ``ImageDataGenerator(rescale=...)`` that disagrees is an
                error). The flow's ``spec`` attribute reports it back.

        Returns:
            A :class:`Flow`.

        Raises:
            FileNotFoundError: the folder is missing.
            ValueError: an empty class folder, an unknown class, a bad file (named).

        Example:
            >>> import os, tempfile, numpy as np, cv2
            >>> d = tempfile.mkdtemp()
            >>> for c in ("a", "b"):
            ...     os.makedirs(os.path.join(d, c))
            ...     _ = cv2.imwrite(os.path.join(d, c, "1.png"), np.zeros((5, 7), np.uint8))
            >>> f = ImageDataGenerator().flow_from_directory(d, (4, 4), "grayscale")
            >>> f.class_indices, f.filenames, f.image_shape
            ({'a': 0, 'b': 1}, ['a/1.png', 'b/1.png'], (4, 4, 1))
        """
        if class_mode not in CLASS_MODES or class_mode in ("raw", "multi_output"):
            raise ValueError(f"Invalid class_mode: {class_mode}; expected one of "
                             '"categorical", "binary", "sparse", "input" or None.')
        if color_mode not in FILE_COLOR_MODES:
            raise ValueError(f"Invalid color mode: {color_mode}; expected \"rgb\", \"rgba\", or "
                             "\"grayscale\".")
        directory = resolve_archive_path(directory)
        paths, labels, class_indices, skipped = list_image_folder(
            directory, classes, follow_links=follow_links, on_bad=on_bad)
        filenames = [os.path.relpath(p, directory) for p in paths]
        if keep_aspect_ratio:
            resize_mode = "crop"
        return self._file_flow(paths, np.asarray(labels, np.int64), class_indices, filenames,
                               target_size=target_size, color_mode=color_mode,
                               class_mode=class_mode, batch_size=batch_size, shuffle=shuffle,
                               seed=seed, subset=subset, interpolation=interpolation, crop=crop,
                               resize_mode=resize_mode, padding_mode=padding_mode, on_bad=on_bad,
                               check=check, augment=augment, skipped=skipped, cache=cache,
                               spec=spec, directory=directory, reduced_decode=reduced_decode,
                               save={"save_to_dir": save_to_dir, "save_prefix": save_prefix,
                                     "save_format": save_format})

    def flow_from_labelfile(self, label_file: str | Path, root: str | Path,
                            target_size: tuple[int, int] | None = (256, 256),
                            color_mode: str = "rgb", classes: Sequence[str] | None = None,
                            num_classes: int | None = None,
                            class_mode: str | None = "categorical", batch_size: int = 32,
                            shuffle: bool | None = None, seed: int | None = None,
                            subset: str | None = None, interpolation: str = "bilinear",
                            crop: str | crops_lib.Crop | Callable | None = None,
                            resize_mode: str = "stretch", padding_mode: str = "zeros",
                            on_bad: str = "raise", augment: bool | None = None,
                            check: bool | str = True, cache: bool | str = False,
                            reduced_decode: bool = False,
                            spec: ImageSpec | dict | None = None) -> Flow:
        """A flow over an RVL-CDIP label file (``relative/path label`` per line) under ``root``.

        Paper: the RVL-CDIP blog (seed 001) parses these files into path / label lists.

        Args:
            label_file: str or Path. The label file.
            root: str or Path. Folder the listed paths are relative to; a path escaping it
                (``../``) is an error.
            classes: list of class names in label order (e.g.
                ``kerasdoc.generators.RVL_CDIP_CLASSES``), or None (names ``"0"``, ``"1"``, ...).
            num_classes: int or None. Number of classes when ``classes`` is None (default: the
                largest label + 1, and then every label from 0 to the largest must occur, so
                that a stray label is an error naming its line, not a bigger model). A label
                outside ``[0, num_classes)`` is an error. The file format and its checks
                (UTF-8, integer labels, duplicates): :func:`kerasdoc.generators.parse_label_file`.
            other arguments: as :meth:`flow_from_directory`.

        Returns:
            A :class:`Flow`; ``filenames`` are the paths as written in the file.

        Raises:
            FileNotFoundError: the label file or a listed image is missing (named).
            ValueError: a malformed line, a label out of range, a path escaping ``root``, a bad
                image (named, with the line's path).

        Example:
            >>> import os, tempfile, numpy as np, cv2
            >>> d = tempfile.mkdtemp()
            >>> _ = cv2.imwrite(os.path.join(d, "p.png"), np.zeros((20, 10), np.uint8))
            >>> _ = open(os.path.join(d, "l.txt"), "w").write("p.png 1\\n")
            >>> f = ImageDataGenerator().flow_from_labelfile(os.path.join(d, "l.txt"), d,
            ...         crop="top", target_size=None, num_classes=2)
            >>> f.classes.tolist(), f.image_shape
            ([1], (256, 256, 3))
        """
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"data root not found: {root}")
        if classes is not None:
            num_classes = len(classes)
        rel, labels, lines = read_label_file(label_file, num_classes=num_classes, root=root)
        if not rel:
            raise ValueError(f"{label_file}: no image lines")
        if num_classes is None:  # every label 0..max must occur: a stray 7 is not 8 classes
            num_classes = check_label_range(label_file, labels, lines)
        names = list(classes) if classes is not None else [str(i) for i in range(num_classes)]
        class_indices = {str(c): i for i, c in enumerate(names)}
        paths = [str(resolve_under(root, p)) for p in rel]
        return self._file_flow(paths, np.asarray(labels, np.int64), class_indices, list(rel),
                               target_size=target_size, color_mode=color_mode,
                               class_mode=class_mode, batch_size=batch_size, shuffle=shuffle,
                               seed=seed, subset=subset, interpolation=interpolation, crop=crop,
                               resize_mode=resize_mode, padding_mode=padding_mode, on_bad=on_bad,
                               check=check, augment=augment, cache=cache, spec=spec,
                               reduced_decode=reduced_decode)

    def flow_from_dataframe(self, dataframe: Any, directory: str | Path | None = None,
                            x_col: str = "filename", y_col: str | list | None = "class",
                            weight_col: str | None = None,
                            target_size: tuple[int, int] | None = (256, 256),
                            color_mode: str = "rgb", classes: Sequence[str] | None = None,
                            class_mode: str | None = "categorical", batch_size: int = 32,
                            shuffle: bool | None = None, seed: int | None = None,
                            save_to_dir: str | None = None, save_prefix: str = "",
                            save_format: str = "png", subset: str | None = None,
                            interpolation: str = "nearest", validate_filenames: bool = True,
                            drop_duplicates: bool = False, *,
                            crop: str | crops_lib.Crop | Callable | None = None,
                            resize_mode: str = "stretch", padding_mode: str = "zeros",
                            on_bad: str = "raise", augment: bool | None = None,
                            check: bool | None = None, cache: bool | str = False,
                            reduced_decode: bool = False,
                            spec: ImageSpec | dict | None = None, **kwargs: Any) -> Flow:
        """A flow over a table of file names and labels (a pandas DataFrame or a dict of lists).

        Args:
            dataframe: a pandas ``DataFrame`` or any mapping ``column -> sequence``.
            directory: str, Path or None. Folder the file names are relative to (paths escaping
                it are refused); None: the names are full paths.
            x_col: str. Column of file names (strings).
            y_col: str or list of str. Label column(s): class names (str), lists of class names
                (multi-label: multi-hot targets), or with ``class_mode="raw"`` /
                ``"multi_output"`` any values (kept with the column's dtype).
            weight_col: str or None. Numeric column of sample weights (a third batch element).
            classes: list of class names (their order gives the indices), or None (sorted unique
                labels). Rows whose label is not among them are dropped, as in Keras 2.
            class_mode: ``"categorical"``, ``"binary"``, ``"sparse"``, ``"input"``,
                ``"multi_output"`` (one target per ``y_col``), ``"raw"`` or None.
            validate_filenames: bool. Drop rows whose file is missing or not an image name, with
                a warning (Keras 2); False: every row is kept (then ``check`` still applies).
            drop_duplicates: bool. Drop repeated file names (first kept), with a warning.
            check: bool or None. Check each file's header (None: as ``validate_filenames``).
            other arguments: as :meth:`flow_from_directory`.

        Returns:
            A :class:`Flow`.

        Example:
            >>> import os, tempfile, numpy as np, cv2
            >>> d = tempfile.mkdtemp()
            >>> _ = cv2.imwrite(os.path.join(d, "a.png"), np.zeros((5, 5), np.uint8))
            >>> f = ImageDataGenerator().flow_from_dataframe(
            ...     {"filename": ["a.png", "a.png"], "class": ["x", "y"]}, d, target_size=(4, 4))
            >>> f.class_indices, f.classes.tolist()
            ({'x': 0, 'y': 1}, [0, 1])
        """
        for k in kwargs:
            if k in ("has_ext", "sort"):
                warnings.warn(f"{k} is deprecated and ignored.", DeprecationWarning,
                              stacklevel=2)
            else:
                raise TypeError(f"flow_from_dataframe() got an unexpected keyword argument {k!r}")
        if class_mode not in CLASS_MODES:
            raise ValueError(f"Invalid class_mode: {class_mode}; expected one of {CLASS_MODES}")
        if color_mode not in FILE_COLOR_MODES:
            raise ValueError(f"Invalid color mode: {color_mode}; expected \"rgb\", \"rgba\", or "
                             "\"grayscale\".")

        def column(name, arg="y_col"):
            try:
                return list(dataframe[name])
            except (KeyError, TypeError):
                raise ValueError(f"dataframe has no column {arg}={name!r}") from None

        files = column(x_col, "x_col")
        if not all(isinstance(v, str) for v in files):
            raise TypeError(f"All values in column x_col={x_col} must be strings.")
        n = len(files)
        if class_mode == "multi_output" and not isinstance(y_col, list):
            raise TypeError('If class_mode="multi_output", y_col must be a list. Received '
                            f"{type(y_col).__name__}.")
        labels_col = None
        if class_mode in ("categorical", "binary", "sparse"):
            if y_col is None:
                raise ValueError(f"class_mode={class_mode!r} needs y_col")
            labels_col = column(y_col)
            if class_mode in ("binary", "sparse") and not all(isinstance(v, str)
                                                               for v in labels_col):
                raise TypeError(f'If class_mode="{class_mode}", y_col="{y_col}" column values '
                                "must be strings.")
            if class_mode == "categorical" and not all(isinstance(v, str | list | tuple)
                                                       for v in labels_col):
                raise TypeError(f'If class_mode="{class_mode}", y_col="{y_col}" column values '
                                "must be type string, list or tuple.")
            if class_mode == "binary":
                found = set(classes) if classes else set(labels_col)
                if len(found) != 2:
                    raise ValueError('If class_mode="binary" there must be 2 classes. '
                                     f"{len(found)} class/es were given.")
        elif classes:
            warnings.warn(f'`classes` will be ignored given the class_mode="{class_mode}"',
                          stacklevel=2)
        weights = None
        if weight_col is not None:
            weights = np.asarray(column(weight_col, "weight_col"), dtype=object)
            if not all(isinstance(v, int | float | np.number) and not isinstance(v, bool)
                       for v in weights):
                raise TypeError(f"Column weight_col={weight_col} must be numeric.")
            weights = np.asarray(list(weights))
        keep = np.ones(n, bool)
        if labels_col is not None and classes is not None:
            allowed = {str(c) for c in classes}
            for i, v in enumerate(labels_col):
                vs = [v] if isinstance(v, str) else list(v)
                keep[i] = all(str(u) in allowed for u in vs) and bool(vs)
        if directory is not None:
            directory = resolve_archive_path(directory)
            paths = [str(resolve_under(directory, f, where=f"dataframe[{x_col!r}]"))
                     for f in files]
        else:
            paths = list(files)
        if drop_duplicates:
            seen: set = set()
            for i, p in enumerate(paths):
                if p in seen:
                    keep[i] = False
                seen.add(p)
            if len(seen) < n:
                warnings.warn(f"dropped {n - len(seen)} rows with a repeated {x_col}",
                              stacklevel=2)
        if validate_filenames:
            from kerasdoc.generators.keras2 import validate_filename

            ok = np.asarray([validate_filename(p, WHITE_LIST) for p in paths], bool)
            bad = int((keep & ~ok).sum())
            if bad:
                warnings.warn(f'Found {bad} invalid image filename(s) in x_col="{x_col}". '
                              "These filename(s) will be ignored.", stacklevel=2)
            keep &= ok
        rows = np.flatnonzero(keep)
        paths = [paths[i] for i in rows]
        files = [files[i] for i in rows]
        weights = None if weights is None else weights[rows]
        labels, class_indices, raw, multi = None, {}, None, None
        if labels_col is not None:
            labels_col = [labels_col[i] for i in rows]
            if classes is None:
                names: set = set()
                for v in labels_col:
                    names.update([v] if isinstance(v, str) else [str(u) for u in v])
                cls = sorted(names)
            else:
                cls = [str(c) for c in classes]
            class_indices = {c: i for i, c in enumerate(cls)}
            if any(not isinstance(v, str) for v in labels_col):  # multi-label rows
                multi = [[class_indices[str(u)] for u in ([v] if isinstance(v, str) else v)]
                         for v in labels_col]
                labels = np.asarray([m[0] for m in multi], np.int64)
            else:
                labels = np.asarray([class_indices[v] for v in labels_col], np.int64)
        elif class_mode == "raw":
            raw = [np.asarray(dataframe[y_col].values if hasattr(dataframe, "iloc")
                              else column(y_col) if isinstance(y_col, str)
                              else np.stack([column(c) for c in y_col], 1))[rows]]
        elif class_mode == "multi_output":
            raw = [np.asarray(column(c))[rows] for c in y_col]
        if check is None:  # Keras 2: validate_filenames=False reads every row unchecked
            check = bool(validate_filenames)
        return self._file_flow(paths, labels, class_indices, files, target_size=target_size,
                               color_mode=color_mode, class_mode=class_mode,
                               batch_size=batch_size, shuffle=shuffle, seed=seed, subset=subset,
                               interpolation=interpolation, crop=crop, resize_mode=resize_mode,
                               padding_mode=padding_mode, on_bad=on_bad, check=check,
                               augment=augment, raw_targets=raw, cache=cache, spec=spec,
                               directory=directory, reduced_decode=reduced_decode,
                               weights=weights, multi_labels=multi,
                               allow_empty=bool(validate_filenames),
                               save={"save_to_dir": save_to_dir, "save_prefix": save_prefix,
                                     "save_format": save_format})

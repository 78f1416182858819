"""``ImageDataGenerator`` on ``tf.data``: the Keras 2 API, parallel, deterministic, distributable.

Paper: the RVL-CDIP blog (seed 001) feeds ``ImageDataGenerator(rescale=1/255)`` generators with
crop functions; the invoice paper (seed 000) augments grayscale photos; the Persian OCR report
(seed 004) reads ImageNet-style folders. Keras 3 removed ``ImageDataGenerator``; this one keeps
its constructor and ``flow*`` methods, and each ``flow*`` returns a :class:`Flow`, which *is* a
``tf.data.Dataset`` (so ``model.fit``, ``evaluate``, ``predict`` and
``strategy.experimental_distribute_dataset`` take it directly) and also carries the old iterator's
attributes: ``class_indices``, ``classes``, ``filenames``, ``samples``, ``num_classes``,
``batch_size``.

Differences from Keras 2, on purpose:

- Every pass over a flow starts at its first batch: there is no hidden iterator position, so
  predicting twice over a non-shuffled flow gives the same order, matching ``flow.classes`` (the
  blog's 93% that was really 90.5% came from a generator that was not reset).
- ``shuffle`` defaults to True only for training data; a ``subset="validation"`` flow is not
  shuffled, and augmentation is applied only to training data (``augment=None``).
- ``validation_split`` takes a seeded *stratified* split (``validation_seed``), never the last
  fraction of each class.
- Every listed file is checked before training (existence, format, truncation, multi-page TIFF,
  size against a fixed crop): a bad file raises an error naming it, or with ``on_bad="skip"`` is
  dropped with a warning that counts the skipped files.
- ``preprocessing_function`` receives one float32 image tensor (0-255) and must use TensorFlow ops
  (it runs inside the graph); it runs after augmentation and before ``rescale``, as in Keras 2.

Example:
    >>> import numpy as np
    >>> gen = ImageDataGenerator(rescale=1 / 255)
    >>> flow = gen.flow(np.zeros((10, 8, 8, 1), np.uint8), np.arange(10) % 2, batch_size=4,
    ...                 shuffle=False)
    >>> len(flow), flow.samples, next(iter(flow))[0].shape
    (3, 10, TensorShape([4, 8, 8, 1]))
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from generators import crops as crops_lib
from generators.augment import Augmentation
from generators.files import (
    check_files,
    list_image_folder,
    parse_label_file,
    resolve_archive_path,
    resolve_under,
)
from generators.ops import (
    INTERPOLATIONS,
    PADDING_MODES,
    RESIZE_MODES,
    decode_image,
    resize_image,
)
from generators.ops import to_grayscale as _to_gray
from generators.sources import load_tfds
from generators.spec import ImageSpec, apply_geometry, as_spec, crop_name
from generators.splits import stratified_split

CLASS_MODES = ("categorical", "sparse", "binary", "raw", "input", None)
COLOR_MODES = {"grayscale": 1, "rgb": 3}
AUTOTUNE = tf.data.AUTOTUNE


class Flow(tf.data.Dataset):
    """A batched ``tf.data.Dataset`` with ``ImageDataGenerator`` iterator attributes.

    Built by :class:`ImageDataGenerator`'s ``flow*`` methods; pass it to ``model.fit``,
    ``model.evaluate``, ``model.predict`` or a distribution strategy as any dataset.

    Attributes:
        samples: int. Number of images.
        batch_size: int. Images per batch.
        class_indices: dict. Class name -> index (empty when there are no classes).
        classes: np.ndarray or None. Integer label of each image, in the flow's file order (the
            order of a non-shuffled pass), or None without labels.
        filenames: list of str. Paths relative to the data root, in the same order.
        filepaths: list of str. Absolute paths, in the same order.
        num_classes: int. Number of classes.
        image_shape: tuple. ``(height, width, channels)`` of one image.
        shuffle: bool. Whether each pass reshuffles.
        skipped: list of ``(path, reason)`` skipped with ``on_bad="skip"``.
        spec: :class:`generators.spec.ImageSpec` or None. What an image file goes through to
            become one of this flow's images (size, colour, crop, resize mode, scaling); the
            run recipe stores it in the model card so that export and predict replay it. None
            when the flow is not over files or uses a step a spec cannot express
            (``preprocessing_function``, ``grayscale=True``, a custom crop function).
    """

    def __init__(self, dataset: tf.data.Dataset, *, samples: int, batch_size: int,
                 class_indices: dict[str, int] | None = None, classes: np.ndarray | None = None,
                 filenames: Sequence[str] = (), filepaths: Sequence[str] = (),
                 class_mode: str | None = None, image_shape: tuple = (), shuffle: bool = False,
                 seed: int | None = None, skipped: Sequence[tuple] = (),
                 spec: ImageSpec | None = None):
        self._dataset = dataset
        self.samples = int(samples)
        self.n = self.samples
        self.batch_size = int(batch_size)
        self.class_indices = dict(class_indices or {})
        self.classes = classes
        self.filenames = list(filenames)
        self.filepaths = list(filepaths)
        self.class_mode = class_mode
        self.image_shape = tuple(image_shape)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.skipped = list(skipped)
        self.spec = spec
        super().__init__(dataset._variant_tensor)

    def _inputs(self):
        return [self._dataset]

    @property
    def element_spec(self):
        return self._dataset.element_spec

    @property
    def num_classes(self) -> int:
        """Number of classes (from ``class_indices``, else from ``classes``)."""
        if self.class_indices:
            return len(self.class_indices)
        if self.classes is not None and len(self.classes):
            return int(np.max(self.classes)) + 1
        return 0

    @property
    def labels(self) -> np.ndarray | None:
        """Alias of ``classes``."""
        return self.classes

    @property
    def dataset(self) -> tf.data.Dataset:
        """The plain ``tf.data.Dataset`` (same as :meth:`as_dataset`)."""
        return self._dataset

    def as_dataset(self) -> tf.data.Dataset:
        """The plain ``tf.data.Dataset`` of ``(images, targets)`` batches (images only without
        targets)."""
        return self._dataset

    def __len__(self) -> int:
        return math.ceil(self.samples / self.batch_size)

    def reset(self) -> None:
        """Kept for code written for Keras 2; a no-op, since every pass starts at the start."""

    def __repr__(self) -> str:
        return (f"Flow(samples={self.samples}, batch_size={self.batch_size}, "
                f"num_classes={self.num_classes}, image_shape={self.image_shape}, "
                f"shuffle={self.shuffle})")


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

    def __init__(self, rescale: float | None = None,
                 preprocessing_function: Callable[[tf.Tensor], tf.Tensor] | None = None,
                 rotation_range: float = 0.0, width_shift_range: float = 0.0,
                 height_shift_range: float = 0.0, zoom_range: float | tuple = 0.0,
                 shear_range: float = 0.0, brightness_range: tuple | None = None,
                 contrast_range: tuple | None = None, channel_shift_range: float = 0.0,
                 horizontal_flip: bool = False, vertical_flip: bool = False,
                 fill_mode: str = "nearest", cval: float = 0.0, validation_split: float = 0.0,
                 noise_stddev: float = 0.0, grayscale: bool = False,
                 random_grayscale: float = 0.0, validation_seed: int = 0,
                 dtype: str = "float32"):
        if rescale is not None and not isinstance(rescale, int | float):
            raise ValueError(f"rescale must be a number or None. Received: rescale={rescale!r}")
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise ValueError("preprocessing_function must be callable. "
                             f"Received: {preprocessing_function!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError("validation_split must be in [0, 1). "
                             f"Received: validation_split={validation_split}")
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.validation_split = float(validation_split)
        self.validation_seed = int(validation_seed)
        self.grayscale = bool(grayscale)
        self.dtype = tf.as_dtype(dtype)
        self.augmentation = Augmentation(
            rotation_range=rotation_range, width_shift_range=width_shift_range,
            height_shift_range=height_shift_range, zoom_range=zoom_range,
            shear_range=shear_range, horizontal_flip=horizontal_flip,
            vertical_flip=vertical_flip,
            brightness_range=None if brightness_range is None else tuple(brightness_range),
            contrast_range=None if contrast_range is None else tuple(contrast_range),
            channel_shift_range=channel_shift_range, noise_stddev=noise_stddev,
            grayscale_probability=random_grayscale, fill_mode=fill_mode, cval=cval)

    # ------------------------------------------------------------------ helpers
    def _subset_indices(self, labels: np.ndarray | None, n: int, subset: str | None) -> np.ndarray:
        _check_choice(subset, ("training", "validation", None), "subset")
        if subset is None:
            return np.arange(n)
        if not self.validation_split:
            raise ValueError(f"subset={subset!r} needs validation_split > 0 in the "
                             "ImageDataGenerator. Received: validation_split=0")
        if labels is None:
            labels = np.zeros(n, np.int64)
        tr, va = stratified_split(labels, self.validation_split, seed=self.validation_seed)
        return tr if subset == "training" else va

    def _wants_augment(self, augment: bool | None, subset: str | None) -> bool:
        if augment is None:
            augment = subset != "validation"
        return bool(augment) and self.augmentation.active

    def _finish_image(self, img: tf.Tensor, rnd: tf.Tensor | None,
                      spec: ImageSpec | None = None) -> tf.Tensor:
        img = tf.cast(img, tf.float32)
        if self.grayscale:
            img = _to_gray(img)
        if rnd is not None:
            img = self.augmentation.apply(img, tf.stack([rnd, tf.constant(0, tf.int64)]))
        if self.preprocessing_function is not None:
            img = tf.convert_to_tensor(self.preprocessing_function(img), tf.float32)
        if spec is not None:
            img = spec.scale(img)
        elif self.rescale is not None:
            img = img * float(self.rescale)
        return tf.cast(img, self.dtype)

    def _value_spec(self, spec: ImageSpec | dict | None) -> ImageSpec | None:
        spec = as_spec(spec)
        if spec is not None and self.rescale is not None and self.rescale != spec.rescale:
            raise ValueError(f"rescale is given twice: ImageDataGenerator(rescale={self.rescale})"
                             f" and spec.rescale={spec.rescale}. Keep one (the spec's is the "
                             "one export and predict replay).")
        return spec

    @staticmethod
    def _targets(labels: np.ndarray, class_mode: str | None, num_classes: int) -> np.ndarray | None:
        _check_choice(class_mode, CLASS_MODES, "class_mode")
        if class_mode in (None, "input"):
            return None
        if class_mode == "raw":
            return np.asarray(labels, np.float32)
        if class_mode == "binary":
            if num_classes != 2:
                raise ValueError(f"class_mode='binary' needs exactly 2 classes. "
                                 f"Received: {num_classes} classes")
            return labels.astype(np.float32)
        if class_mode == "sparse":
            return labels.astype(np.int32)
        return np.eye(num_classes, dtype=np.float32)[labels]

    def _pipeline(self, ds: tf.data.Dataset, n: int, load: Callable | None, *,
                  batch_size: int, shuffle: bool, seed: int | None, augment: bool,
                  buffer: int | None = None, spec: ImageSpec | None = None,
                  image_as_target: bool = False) -> tf.data.Dataset:
        """shuffle -> per-image ``load`` (+ augmentation and finishing) -> batch -> prefetch.

        ``load(*element)`` returns ``image`` or ``(image, *targets)`` before augmentation,
        ``preprocessing_function`` and ``rescale``. Without augmentation and
        ``preprocessing_function``, the finishing (grayscale, rescale, cast) runs once per batch,
        vectorised, instead of once per image.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
        if shuffle and n > 1:
            ds = ds.shuffle(buffer or n, seed=seed, reshuffle_each_iteration=True)
        per_batch = not augment and self.preprocessing_function is None

        def split(out):
            return (out[0], tuple(out[1:])) if isinstance(out, tuple) else (out, ())

        def call(el):
            el = el if isinstance(el, tuple) else (el,)
            return split(load(*el) if load is not None else el)

        def join(img, rest):
            return (img, *rest) if rest else img

        if augment:
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
        ds = ds.batch(batch_size)
        if per_batch:
            def finish(*el):
                return join(self._finish_image(el[0], None, spec), tuple(el[1:]))

            ds = ds.map(finish, num_parallel_calls=AUTOTUNE, deterministic=True)
        if image_as_target:  # class_mode="input": the target is the image itself (autoencoders)
            ds = ds.map(lambda x: (x, x), num_parallel_calls=AUTOTUNE, deterministic=True)
        return ds.prefetch(AUTOTUNE)

    # ------------------------------------------------------------------ arrays
    def flow(self, x: np.ndarray, y: np.ndarray | None = None, batch_size: int = 32,
             shuffle: bool | None = None, seed: int | None = None, subset: str | None = None,
             sample_weight: np.ndarray | None = None, augment: bool | None = None) -> Flow:
        """A flow over in-memory arrays.

        Args:
            x: array ``(n, h, w)`` or ``(n, h, w, c)``, values 0-255 (uint8 or float).
            y: array or None. Targets, passed through as given (class ids or one-hot).
            batch_size: int. Defaults to 32.
            shuffle: bool or None. None: shuffle unless ``subset="validation"``.
            seed: int or None. Shuffle and augmentation seed.
            subset: ``"training"``, ``"validation"`` or None (see ``validation_split``).
            sample_weight: array or None. Per-sample weights, yielded as a third element.
            augment: bool or None. None: augment unless ``subset="validation"``.

        Returns:
            A :class:`Flow` of ``(x, y[, w])`` batches (``x`` alone when ``y`` is None).

        Example:
            >>> import numpy as np
            >>> f = ImageDataGenerator().flow(np.ones((5, 4, 4)), shuffle=False, batch_size=2)
            >>> [tuple(b.shape) for b in f]
            [(2, 4, 4, 1), (2, 4, 4, 1), (1, 4, 4, 1)]
        """
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[..., np.newaxis]
        if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
            raise ValueError("x must have shape (n, h, w) or (n, h, w, c) with c in 1, 3, 4. "
                             f"Received: x.shape={x.shape}")
        n = len(x)
        if n == 0:
            raise ValueError("x is empty (0 samples)")
        classes = None
        if y is not None:
            y = np.asarray(y)
            if len(y) != n:
                raise ValueError(f"x and y differ in length: {n} vs {len(y)}")
            if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
                classes = y.astype(np.int64)
            elif y.ndim == 2 and y.shape[1] > 1:
                classes = np.argmax(y, axis=1)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, np.float32)
            if y is None or len(sample_weight) != n:
                raise ValueError("sample_weight needs y and one weight per sample. Received: "
                                 f"{len(sample_weight)} weights for {n} samples")
        idx = self._subset_indices(classes if classes is not None else None, n, subset)
        x = x[idx]
        parts = [x]
        if y is not None:
            parts.append(y[idx])
            classes = classes[idx] if classes is not None else None
        if sample_weight is not None:
            parts.append(sample_weight[idx])
        shuffle = (subset != "validation") if shuffle is None else bool(shuffle)
        augment = self._wants_augment(augment, subset)

        ds = tf.data.Dataset.from_tensor_slices(tuple(parts) if len(parts) > 1 else parts[0])
        ds = self._pipeline(ds, len(x), None, batch_size=batch_size, shuffle=shuffle, seed=seed,
                            augment=augment)
        num = int(classes.max()) + 1 if classes is not None and len(classes) else 0
        return Flow(ds, samples=len(x), batch_size=batch_size, classes=classes,
                    class_indices={str(i): i for i in range(num)},
                    class_mode="raw" if y is not None else None, image_shape=x.shape[1:],
                    shuffle=shuffle, seed=seed)

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
            >>> f.samples, f.image_shape, next(iter(f))[0].shape
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
                   on_bad, check, augment, skipped=(), raw_targets: np.ndarray | None = None,
                   cache: bool | str = False, spec: ImageSpec | dict | None = None) -> Flow:
        spec = self._value_spec(spec)
        if spec is not None:
            target_size, color_mode, crop = spec.image_size, spec.color_mode, spec.crop
            resize_mode, padding_mode = spec.resize_mode, spec.padding_mode
            interpolation = spec.interpolation
        _check_choice(color_mode, COLOR_MODES, "color_mode")
        _check_choice(class_mode, CLASS_MODES, "class_mode")
        _check_choice(interpolation, INTERPOLATIONS, "interpolation")
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
        channels = COLOR_MODES[color_mode]
        named_crop = crop_name(crop)
        if spec is None and self.preprocessing_function is None and not self.grayscale and (
                crop is None or named_crop is not None):
            spec = ImageSpec(target_size, color_mode, self.rescale, crop=named_crop,
                             resize_mode=resize_mode, padding_mode=padding_mode,
                             interpolation=interpolation)
            value_spec = None
        else:
            value_spec = spec
        if self.preprocessing_function is not None or self.grayscale:
            spec = None  # a step no spec expresses runs in this flow: serving cannot replay it
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
        paths = [paths[i] for i in order]
        filenames = [filenames[i] for i in order]
        labels = None if labels is None else np.asarray(labels, np.int64)[order]
        if raw_targets is not None:
            raw_targets = raw_targets[order]
        if not paths:
            raise ValueError("no images left to read" + (f" ({len(skipped)} skipped)"
                                                         if skipped else ""))
        idx = self._subset_indices(labels, len(paths), subset)
        paths = [paths[i] for i in idx]
        filenames = [filenames[i] for i in idx]
        formats = [formats[i] for i in idx]
        labels = None if labels is None else labels[idx]
        num_classes = len(class_indices)
        if raw_targets is not None and class_mode == "raw":
            targets = raw_targets[idx]
        else:
            targets = None if labels is None else self._targets(labels, class_mode, num_classes)
            if labels is None and class_mode not in (None, "input"):
                raise ValueError(f"class_mode={class_mode!r} needs labels; use class_mode=None")
        shuffle = (subset != "validation") if shuffle is None else bool(shuffle)
        augment = self._wants_augment(augment, subset)
        tiff = np.asarray([f == "tiff" for f in formats], bool)
        any_tiff = bool(tiff.any())

        def read(path, is_tiff):
            img = decode_image(tf.io.read_file(path), channels, is_tiff if any_tiff else False,
                               keep_gray=True)
            return apply_geometry(img, crop, target_size, channels, resize_mode=resize_mode,
                                  padding_mode=padding_mode, interpolation=interpolation)

        def load(path, is_tiff, *target):
            img = read(path, is_tiff)
            return (img, *target) if target else img

        def to_cache(path, is_tiff, *target):
            img = tf.cast(tf.round(tf.clip_by_value(read(path, is_tiff), 0.0, 255.0)), tf.uint8)
            return (img, *target) if target else img

        parts = (paths, tiff) if targets is None else (paths, tiff, targets)
        ds = tf.data.Dataset.from_tensor_slices(parts)
        if cache:
            ds = ds.map(to_cache, num_parallel_calls=AUTOTUNE, deterministic=True)
            ds = ds.cache("" if cache is True else str(cache))
            load = None
        ds = self._pipeline(ds, len(paths), load, batch_size=batch_size, shuffle=shuffle,
                            seed=seed, augment=augment, spec=value_spec,
                            image_as_target=class_mode == "input")
        return Flow(ds, samples=len(paths), batch_size=batch_size, class_indices=class_indices,
                    classes=labels, filenames=filenames,
                    filepaths=[os.path.abspath(p) for p in paths], class_mode=class_mode,
                    image_shape=(*target_size, channels), shuffle=shuffle, seed=seed,
                    skipped=skipped, spec=spec)

    def flow_from_directory(self, directory: str | Path,
                            target_size: tuple[int, int] | None = (256, 256),
                            color_mode: str = "rgb",
                            classes: Sequence[str] | dict[str, int] | None = None,
                            class_mode: str | None = "categorical", batch_size: int = 32,
                            shuffle: bool | None = None, seed: int | None = None,
                            subset: str | None = None, interpolation: str = "bilinear",
                            crop: str | crops_lib.Crop | Callable | None = None,
                            resize_mode: str = "stretch", padding_mode: str = "zeros",
                            on_bad: str = "raise", follow_links: bool = False,
                            augment: bool | None = None, check: bool = True,
                            cache: bool | str = False,
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
            interpolation: str. Resize method (``"bilinear"``, ``"nearest"``, ``"area"``, ...).
            crop: a crop name (``"top"`` ...), a :class:`generators.crops.Crop` or a function of
                tf ops, applied to the decoded page before resizing to ``target_size``.
            resize_mode: ``"stretch"``, ``"pad"`` or ``"crop"`` (aspect handling).
            padding_mode: ``"zeros"`` or ``"reflection"`` for ``resize_mode="pad"``.
            on_bad: ``"raise"`` or ``"skip"`` (bad files and empty class folders).
            follow_links: bool. Follow symbolic links to class folders.
            augment: bool or None. None: augment unless ``subset="validation"``.
            check: bool. Check each file's header and trailer first (microseconds per file).
            cache: bool or str. Keep the decoded, cropped and resized images (as uint8, clipped
                and rounded) after the first pass: True in memory, a path on disk (tf.data
                file cache). Augmentation, ``preprocessing_function`` and ``rescale`` still run
                every epoch, after the cache. Memory: ``samples * h * w * c`` bytes.
            spec: :class:`generators.spec.ImageSpec` or None. The image contract: replaces
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
        directory = resolve_archive_path(directory)
        paths, labels, class_indices, skipped = list_image_folder(
            directory, classes, follow_links=follow_links, on_bad=on_bad)
        filenames = [os.path.relpath(p, directory) for p in paths]
        return self._file_flow(paths, np.asarray(labels, np.int64), class_indices, filenames,
                               target_size=target_size, color_mode=color_mode,
                               class_mode=class_mode, batch_size=batch_size, shuffle=shuffle,
                               seed=seed, subset=subset, interpolation=interpolation, crop=crop,
                               resize_mode=resize_mode, padding_mode=padding_mode, on_bad=on_bad,
                               check=check, augment=augment, skipped=skipped, cache=cache,
                               spec=spec)

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
                            check: bool = True, cache: bool | str = False,
                            spec: ImageSpec | dict | None = None) -> Flow:
        """A flow over an RVL-CDIP label file (``relative/path label`` per line) under ``root``.

        Paper: the RVL-CDIP blog (seed 001) parses these files into path / label lists.

        Args:
            label_file: str or Path. The label file.
            root: str or Path. Folder the listed paths are relative to; a path escaping it
                (``../``) is an error.
            classes: list of class names in label order (e.g.
                ``generators.RVL_CDIP_CLASSES``), or None (names ``"0"``, ``"1"``, ...).
            num_classes: int or None. Number of classes when ``classes`` is None (default: the
                largest label + 1). A label outside ``[0, num_classes)`` is an error.
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
        rel, labels = parse_label_file(label_file, num_classes=num_classes, root=root)
        if not rel:
            raise ValueError(f"{label_file}: no image lines")
        if num_classes is None:
            num_classes = max(labels) + 1
        names = list(classes) if classes is not None else [str(i) for i in range(num_classes)]
        class_indices = {str(c): i for i, c in enumerate(names)}
        paths = [str(resolve_under(root, p)) for p in rel]
        return self._file_flow(paths, np.asarray(labels, np.int64), class_indices, list(rel),
                               target_size=target_size, color_mode=color_mode,
                               class_mode=class_mode, batch_size=batch_size, shuffle=shuffle,
                               seed=seed, subset=subset, interpolation=interpolation, crop=crop,
                               resize_mode=resize_mode, padding_mode=padding_mode, on_bad=on_bad,
                               check=check, augment=augment, cache=cache, spec=spec)

    def flow_from_dataframe(self, dataframe: Any, directory: str | Path | None = None,
                            x_col: str = "filename", y_col: str | None = "class",
                            target_size: tuple[int, int] | None = (256, 256),
                            color_mode: str = "rgb", classes: Sequence[str] | None = None,
                            class_mode: str | None = "categorical", batch_size: int = 32,
                            shuffle: bool | None = None, seed: int | None = None,
                            subset: str | None = None, interpolation: str = "bilinear",
                            crop: str | crops_lib.Crop | Callable | None = None,
                            resize_mode: str = "stretch", padding_mode: str = "zeros",
                            on_bad: str = "raise", augment: bool | None = None,
                            check: bool = True, cache: bool | str = False,
                            spec: ImageSpec | dict | None = None) -> Flow:
        """A flow over a table of file names and labels (a pandas DataFrame or a dict of lists).

        Args:
            dataframe: a pandas ``DataFrame`` or any mapping ``column -> sequence``.
            directory: str, Path or None. Folder the file names are relative to (paths escaping
                it are refused); None: the names are full paths.
            x_col: str. Column of file names.
            y_col: str or None. Column of labels: class names (str) or class ids (int); with
                ``class_mode="raw"`` any numbers (regression targets).
            classes: list of class names (their order gives the indices), or None (sorted unique
                labels). A label not in ``classes`` is an error.
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
        try:
            files = [str(v) for v in list(dataframe[x_col])]
        except (KeyError, TypeError):
            raise ValueError(f"dataframe has no column x_col={x_col!r}") from None
        raw = None
        if class_mode == "input":
            labels, class_indices = None, {}
        elif class_mode is None or y_col is None:
            labels, class_indices, class_mode = None, {}, None
        else:
            try:
                yv = list(dataframe[y_col])
            except (KeyError, TypeError):
                raise ValueError(f"dataframe has no column y_col={y_col!r}") from None
            if len(yv) != len(files):
                raise ValueError(f"columns {x_col!r} and {y_col!r} differ in length")
            if class_mode == "raw":
                raw = np.asarray(yv, np.float32)
                labels, class_indices = np.zeros(len(files), np.int64), {}
            else:
                names = [str(v) for v in yv]
                cls = list(classes) if classes is not None else sorted(set(names))
                class_indices = {str(c): i for i, c in enumerate(cls)}
                unknown = sorted(set(names) - set(class_indices))
                if unknown:
                    raise ValueError(f"labels {unknown[:5]} in column {y_col!r} are not among "
                                     f"the classes {cls}")
                labels = np.asarray([class_indices[v] for v in names], np.int64)
        if directory is not None:
            directory = resolve_archive_path(directory)
            paths = [str(resolve_under(directory, f, where=f"dataframe[{x_col!r}]"))
                     for f in files]
        else:
            paths = files
        return self._file_flow(paths, labels, class_indices, files, target_size=target_size,
                               color_mode=color_mode, class_mode=class_mode,
                               batch_size=batch_size, shuffle=shuffle, seed=seed, subset=subset,
                               interpolation=interpolation, crop=crop, resize_mode=resize_mode,
                               padding_mode=padding_mode, on_bad=on_bad, check=check,
                               augment=augment, raw_targets=raw, cache=cache, spec=spec)

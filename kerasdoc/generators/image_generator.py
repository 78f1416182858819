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
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdoc.generators import crops as crops_lib
from kerasdoc.generators.archives import resolve_archive_path
from kerasdoc.generators.array_flow import array_flow, tfds_flow
from kerasdoc.generators.augment import Augmentation
from kerasdoc.generators.file_flow import file_flow
from kerasdoc.generators.file_table import (
    CLASS_MODES,
    FileFlowOptions,
    FileTable,
    dataframe_table,
    label_targets,
)
from kerasdoc.generators.files import list_image_folder
from kerasdoc.generators.flow import Flow
from kerasdoc.generators.label_files import check_label_range, read_label_file, resolve_under
from kerasdoc.generators.pipeline import finish_image
from kerasdoc.generators.spec import FILE_COLOR_MODES, ImageSpec, as_spec
from kerasdoc.generators.splits import stratified_split

__all__ = ["Flow", "ImageDataGenerator"]


def _zoom_range(zoom_range) -> list:
    if isinstance(zoom_range, int | float):
        return [1 - zoom_range, 1 + zoom_range]
    if (isinstance(zoom_range, tuple | list) and len(zoom_range) == 2
            and all(isinstance(v, int | float) for v in zoom_range)):
        return [zoom_range[0], zoom_range[1]]
    raise ValueError("`zoom_range` should be a float or a tuple or list of two floats. "
                     f"Received: {zoom_range}")


def _check_generator_args(data_format, rescale, preprocessing_function, validation_split,
                          brightness_range) -> None:
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


_NOT_FIT = ("This ImageDataGenerator specifies `{}`, but it hasn't been fit on any training "
            "data. Fit it first by calling `.fit(numpy_data)`.")


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
        _check_generator_args(data_format, rescale, preprocessing_function, validation_split,
                              brightness_range)
        zr = _zoom_range(zoom_range)
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
        self.augmentation = self._augmentation(contrast_range, noise_stddev, random_grayscale)

    def _augmentation(self, contrast_range, noise_stddev, random_grayscale) -> Augmentation:
        """The graph augmentation of Keras 2's arguments (and kerasdoc's extra ones)."""
        zr = self.zoom_range
        # the graph transform has nearest (order 0) and bilinear only
        interp = "nearest" if self.interpolation_order == 0 else "bilinear"
        shift = {}
        for name in ("width_shift_range", "height_shift_range"):
            v = getattr(self, name)
            if isinstance(v, tuple | list | np.ndarray):  # Keras 2: a set of pixel shifts
                v = float(np.max(np.abs(v))) if len(v) else 0.0
            shift[name] = float(v)
        b = self.brightness_range
        return Augmentation(
            rotation_range=float(self.rotation_range),
            zoom_range=0.0 if zr[0] == zr[1] == 1 else tuple(zr),
            shear_range=float(self.shear_range), horizontal_flip=bool(self.horizontal_flip),
            vertical_flip=bool(self.vertical_flip),
            brightness_range=None if b is None else tuple(b),
            contrast_range=None if contrast_range is None else tuple(contrast_range),
            channel_shift_range=float(self.channel_shift_range), noise_stddev=noise_stddev,
            grayscale_probability=random_grayscale, fill_mode=self.fill_mode,
            cval=float(self.cval), interpolation=interp, **shift)

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

    def _finish_image(self, img: tf.Tensor, rnd: tf.Tensor | None,
                      spec: ImageSpec | None = None) -> tf.Tensor:
        return finish_image(self, img, rnd, spec)

    def _value_spec(self, spec: ImageSpec | dict | None) -> ImageSpec | None:
        spec = as_spec(spec)
        if spec is not None and self.rescale is not None and self.rescale != spec.rescale:
            raise ValueError(f"rescale is given twice: ImageDataGenerator(rescale={self.rescale})"
                             f" and spec.rescale={spec.rescale}. Keep one (the spec's is the "
                             "one export and predict replay).")
        return spec

    def _targets(self, labels: np.ndarray, class_mode: str | None,
                 num_classes: int) -> np.ndarray | None:
        return label_targets(labels, class_mode, num_classes, self.dtype)

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
        return array_flow(self, x, y, batch_size=batch_size, shuffle=shuffle,
                          sample_weight=sample_weight, seed=seed, subset=subset,
                          augment=augment, save={"save_to_dir": save_to_dir,
                                                 "save_prefix": save_prefix,
                                                 "save_format": save_format})

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
        return tfds_flow(self, name, split, target_size=target_size,
                         color_mode=color_mode, class_mode=class_mode,
                         batch_size=batch_size, shuffle=shuffle, seed=seed,
                         subset=subset, interpolation=interpolation,
                         resize_mode=resize_mode, padding_mode=padding_mode,
                         augment=augment, data_dir=data_dir, download=download,
                         shuffle_buffer=shuffle_buffer)

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
                every epoch, after the cache. Memory: ``samples * h * w * c`` bytes (True:
                twice that while a seeded pass starts, which takes every cached image for its
                per-epoch order, so a resumed run replays it; a file cache shuffles with
                ``tf.data``'s buffer instead and is not replayed exactly).
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
        table = FileTable(paths, np.asarray(labels, np.int64), class_indices, filenames,
                          skipped=list(skipped), directory=directory)
        return file_flow(self, table, FileFlowOptions.collect(locals()))

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
        table = FileTable(paths, np.asarray(labels, np.int64), class_indices, list(rel))
        return file_flow(self, table, FileFlowOptions.collect(locals()))

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
        table = dataframe_table(dataframe, directory, x_col=x_col, y_col=y_col,
                                weight_col=weight_col, classes=classes, class_mode=class_mode,
                                validate_filenames=validate_filenames,
                                drop_duplicates=drop_duplicates)
        if check is None:  # Keras 2: validate_filenames=False reads every row unchecked
            check = bool(validate_filenames)
        return file_flow(self, table, FileFlowOptions.collect(locals()))

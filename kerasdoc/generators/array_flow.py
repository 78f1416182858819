"""Flows over data already in memory or in TensorFlow Datasets: ``ImageDataGenerator.flow`` and
``flow_from_tfds`` (``gen`` is the generator that finishes the images).

Example:
    >>> import numpy as np
    >>> from kerasdoc.generators import ImageDataGenerator
    >>> f = array_flow(ImageDataGenerator(), np.zeros((3, 2, 2, 1)), np.arange(3), batch_size=2,
    ...                shuffle=False)
    >>> [y.numpy().tolist() for _, y in f.dataset]
    [[0, 1], [2]]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdoc.generators.epoch_arrays import table_options
from kerasdoc.generators.file_table import check_choice
from kerasdoc.generators.flow import Flow
from kerasdoc.generators.labels import check_array_labels
from kerasdoc.generators.ops import resize_image
from kerasdoc.generators.pipeline import build_pipeline, make_pull, no_autograph
from kerasdoc.generators.sources import load_tfds
from kerasdoc.generators.spec import COLOR_MODES
from kerasdoc.generators.tfdata import map_fn


def _array_inputs(x, y, sample_weight, data_format, channel_axis):
    """Keras 2's checks of ``flow``'s arrays: ``(x (n, h, w, c), misc, y, sample_weight)``."""
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
    if x.ndim == 3 and data_format == "channels_last":
        x = x[..., np.newaxis]
    if x.ndim != 4:
        raise ValueError("Input data in `NumpyArrayIterator` should have rank 4. You passed "
                         f"an array with shape {x.shape}")
    if data_format == "channels_first":
        x = np.transpose(x, (0, 2, 3, 1))
    if x.shape[-1] not in (1, 3, 4):
        warnings.warn(f"NumpyArrayIterator is set to use the data format convention "
                      f"\"{data_format}\" (channels on axis {channel_axis}), i.e. "
                      f"expected either 1, 3, or 4 channels on axis {channel_axis}. "
                      f"However, it was passed an array with shape {x.shape} "
                      f"({x.shape[-1]} channels).", stacklevel=4)
    if n == 0:
        raise ValueError("x is empty (0 samples)")
    return x, misc, (None if y is None else np.asarray(y)), (
        None if sample_weight is None else np.asarray(sample_weight))


def _array_classes(y: np.ndarray | None) -> np.ndarray | None:
    """Integer classes of ``flow``'s ``y`` (class ids or one-hot), else None."""
    if y is None:
        return None
    check_array_labels(y)  # finite; class ids and one-hot values >= 0 (names the index)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
        return y.astype(np.int64)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return None


def _array_regroup(k: int, has_y: bool, has_w: bool) -> Callable:
    """``(img, *misc, [y], [w])`` -> Keras 2's structure ``((img, *misc), y[, w])``."""
    def regroup(*el):
        img, rest = el[0], el[1:]
        m, rest = list(rest[:k]), rest[k:]
        xs = tuple([img, *m]) if k else img
        if not has_y:
            return xs
        return (xs, *rest) if has_w else (xs, rest[0])

    return regroup


def array_flow(gen, x: Any, y: Any = None, *, batch_size: int = 32, shuffle: bool | None = None,
               sample_weight: Any = None, seed: int | None = None, subset: str | None = None,
               augment: bool | None = None, save: dict | None = None) -> Flow:
    """``gen.flow(x, y, ...)`` (Keras 2's ``NumpyArrayIterator``)."""
    x, misc, y, sample_weight = _array_inputs(x, y, sample_weight, gen.data_format,
                                              gen.channel_axis)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    gen._check_fitted()
    classes = _array_classes(y)
    if subset is not None:  # the subset's rows (a copy); all of them: the arrays as given
        idx = gen._subset_indices(classes, len(x), subset)
        x = x[idx]
        misc = [v[idx] for v in misc]
        y = None if y is None else y[idx]
        classes = None if classes is None else classes[idx]
        sample_weight = None if sample_weight is None else sample_weight[idx]
    shuffle = (subset != "validation") if shuffle is None else bool(shuffle)
    augment = gen._wants_augment(augment, subset)
    xin = x if x.dtype in (np.uint8, np.float32) else x.astype(np.float32)

    # One set of tensors (TensorFlow's one copy of the arrays) serves the dataset's slices and
    # each epoch's pass (its table): the flow holds the images once.
    parts = [tf.convert_to_tensor(v) for v in (xin, *misc, y, sample_weight) if v is not None]
    table = tuple(parts) if len(parts) > 1 else parts[0]
    source = tf.data.Dataset.from_tensor_slices(table)
    k = len(misc)
    regroup = _array_regroup(k, y is not None, sample_weight is not None)

    def one_pass(epoch=None):
        out = build_pipeline(gen, source, len(x), None, batch_size=batch_size,
                             shuffle=shuffle, seed=seed, augment=augment, epoch=epoch,
                             table=table)
        out = map_fn(out, no_autograph(regroup), parallel=False) if k else out
        return out.with_options(table_options())  # no copy of the arrays at each iter()

    ds = one_pass()
    pull_x = make_pull(gen, [xin], None, augment=augment, spec=None,
                       image_shape=x.shape[1:])

    def pull(index_array, hand_seed):
        bx = pull_x(index_array, hand_seed)
        out_x = [bx, *(v[index_array] for v in misc)] if misc else bx
        if y is None:
            return out_x
        out = (out_x, y[index_array])
        return (*out, sample_weight[index_array]) if sample_weight is not None else out

    num = int(classes.max()) + 1 if classes is not None and len(classes) else 0
    return Flow(ds, samples=len(x), batch_size=batch_size, classes=classes,
                class_indices={str(i): i for i in range(num)},
                class_mode="raw" if y is not None else None, image_shape=x.shape[1:],
                shuffle=shuffle, seed=seed, pull=pull, dtype=gen.dtype,
                image_data_generator=gen, save=save,
                pass_fn=one_pass if seed is not None else None)


def tfds_flow(gen, name: str, split: str = "train", *, target_size: tuple | None = None,
              color_mode: str | None = None, class_mode: str | None = "sparse",
              batch_size: int = 32, shuffle: bool | None = None, seed: int | None = None,
              subset: str | None = None, interpolation: str = "bilinear",
              resize_mode: str = "stretch", padding_mode: str = "zeros",
              augment: bool | None = None, data_dir: str | Path | None = None,
              download: bool = False, shuffle_buffer: int = 10000) -> Flow:
    """``gen.flow_from_tfds(name, split, ...)``."""
    check_choice(class_mode, ("categorical", "sparse", "binary", None), "class_mode")
    if color_mode is not None:
        check_choice(color_mode, COLOR_MODES, "color_mode")
    ds, labels, names = load_tfds(name, split, data_dir=data_dir, download=download)
    n = len(labels)
    if n == 0:
        raise ValueError(f"tfds {name!r} split {split!r} is empty")
    num_classes = len(names)
    if class_mode == "binary" and num_classes != 2:
        raise ValueError(f"class_mode='binary' needs exactly 2 classes. "
                         f"Received: {num_classes} classes")
    idx = gen._subset_indices(labels, n, subset)
    if len(idx) < n:
        mask = np.zeros(n, bool)
        mask[idx] = True
        keep = tf.constant(mask)
        ds = map_fn(ds.enumerate().filter(no_autograph(lambda i, el: tf.gather(keep, i))),
                    no_autograph(lambda i, el: el), parallel=False)
    labels = labels[idx]
    stored = ds.element_spec[0].shape
    channels = COLOR_MODES[color_mode] if color_mode else int(stored[-1])
    shape = tuple(target_size) if target_size else tuple(stored[:2])
    shuffle = (subset != "validation") if shuffle is None else bool(shuffle)
    augment = gen._wants_augment(augment, subset)

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

    ds = build_pipeline(gen, ds, len(labels), load, batch_size=batch_size, shuffle=shuffle,
                        seed=seed, augment=augment, buffer=min(len(labels), shuffle_buffer))
    return Flow(ds, samples=len(labels), batch_size=batch_size,
                class_indices={str(c): i for i, c in enumerate(names)}, classes=labels,
                class_mode=class_mode, image_shape=(*shape, channels), shuffle=shuffle,
                seed=seed)

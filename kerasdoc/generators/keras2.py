"""Keras 2's NumPy image utilities and iterator protocol, for code ported to ``generators``.

Paper: the RVL-CDIP blog (seed 001) and the invoice paper (seed 000) were written against Keras 2's
``keras.preprocessing.image``; these are the functions such code calls beside the generator
(``load_img``, ``img_to_array``, ``apply_affine_transform``, ``random_rotation`` ...) with Keras 2's
argument conventions (``row_axis=1, col_axis=2, channel_axis=0`` for single images, angles in
degrees, ``tx`` along rows), and :class:`Iterator`, the batch-index protocol of Keras 2's flows
(``next()``, ``flow[i]``, ``reset()``, ``on_epoch_end()``, ``batch_index``, ``total_batches_seen``).
They run in NumPy / SciPy / PIL, one image at a time, as Keras 2 did; the flows' ``tf.data`` path
does the same work in the graph.

Example:
    >>> import numpy as np
    >>> x = np.zeros((1, 3, 3)); x[0, 1, :] = 1
    >>> apply_affine_transform(x, theta=90, fill_mode="constant")[0].round(3).tolist()
    [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: PIL resampling filters by Keras 2's ``interpolation`` names.
PIL_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")

WHITE_LIST_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")


def _pil_filter(name: str):
    from PIL import Image

    filters = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "hamming": Image.HAMMING, "box": Image.BOX, "lanczos": Image.LANCZOS}
    if name not in filters:
        raise ValueError(f"Invalid interpolation method {name!r} specified. Supported "
                         f"methods are {', '.join(filters)}")
    return filters[name]


# ---------------------------------------------------------------------- PIL <-> arrays
def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: str | None = None):
    """A 3-D array ``(h, w, c)`` (or channels first) as a PIL image (c = 1, 3 or 4).

    Args:
        x: array-like of rank 3.
        data_format: ``"channels_last"`` (default) or ``"channels_first"``.
        scale: bool. Stretch the values to 0-255 first.
        dtype: str or None. The array's dtype before conversion (default float32); Keras 2
            passes ``"int32"`` to keep 32-bit gray values exact.

    Returns:
        A ``PIL.Image.Image`` (``"L"``, ``"RGB"``, ``"RGBA"`` or ``"I"`` for 16/32-bit gray).

    Example:
        >>> array_to_img(np.zeros((2, 3, 1))).size
        (3, 2)
    """
    from PIL import Image

    data_format = _data_format(data_format)
    x = np.asarray(x, dtype=np.float32 if dtype is None else dtype)  # int32 stays exact
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with "
                         f"shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    c = x.shape[2]
    if c == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if c == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if c == 1:
        if np.max(x) > 255:  # 16 / 32-bit grayscale
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {c}")


def img_to_array(img: Any, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """A PIL image as a float array ``(h, w, c)`` (or channels first).

    Example:
        >>> from PIL import Image
        >>> img_to_array(Image.new("RGB", (4, 2))).shape
        (2, 4, 3)
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    elif x.ndim == 2:
        x = x.reshape((1, *x.shape)) if data_format == "channels_first" else x[..., np.newaxis]
    else:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs: Any) -> None:
    """Save an image array to ``path`` (format from the name unless ``file_format``)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpg" or file_format == "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path: Any, grayscale: bool = False, color_mode: str = "rgb",
             target_size: tuple[int, int] | None = None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False):
    """Load an image file as a PIL image, as Keras 2's ``load_img`` (PIL decode and resize).

    Args:
        path: a path or a binary file-like object.
        grayscale: bool. Deprecated in Keras 2: same as ``color_mode="grayscale"``.
        color_mode: ``"grayscale"``, ``"rgb"`` or ``"rgba"``.
        target_size: ``(height, width)`` or None.
        interpolation: one of :data:`PIL_INTERPOLATIONS`.
        keep_aspect_ratio: bool. Centre-crop to the target's aspect ratio before resizing.

    Returns:
        A ``PIL.Image.Image``.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> p = tempfile.mktemp(suffix=".png"); Image.new("L", (8, 6)).save(p)
        >>> load_img(p, target_size=(3, 4)).size
        (4, 3)
    """
    from PIL import Image

    if grayscale:
        warnings.warn("grayscale is deprecated. Please use color_mode = \"grayscale\"",
                      stacklevel=2)
        color_mode = "grayscale"
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, str | bytes | Path):
        if isinstance(path, Path):
            path = str(path.resolve())
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode == "rgba":
        if img.mode != "RGBA":
            img = img.convert("RGBA")
    elif color_mode == "rgb":
        if img.mode != "RGB":
            img = img.convert("RGB")
    else:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    if target_size is not None:
        width_height = (target_size[1], target_size[0])
        if img.size != width_height:
            resample = _pil_filter(interpolation)
            if keep_aspect_ratio:
                w, h = img.size
                tw, th = width_height
                ch, cw = (w * th) // tw, (h * tw) // th
                ch, cw = min(h, ch), min(w, cw)
                left, top = (w - cw) // 2, (h - ch) // 2
                img = img.crop((left, top, left + cw, top + ch))
            img = img.resize(width_height, resample)
    return img


def list_pictures(directory: str, ext: Sequence[str] | str = ("jpg", "jpeg", "bmp", "png", "ppm",
                                                             "tif", "tiff")) -> list[str]:
    """Every picture file under ``directory`` (recursive)."""
    ext = (ext,) if isinstance(ext, str) else tuple(ext)
    return [os.path.join(root, f) for root, _, files in os.walk(directory) for f in files
            if f.lower().endswith(tuple("." + e for e in ext))]


def validate_filename(filename: str, white_list_formats: Sequence[str]) -> bool:
    """Whether ``filename`` ends with an allowed extension and is a file."""
    return (filename.lower().endswith(tuple("." + e for e in white_list_formats))
            and os.path.isfile(filename))


def _data_format(data_format: str | None) -> str:
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format}")
    return data_format


# ---------------------------------------------------------------------- affine transforms
def flip_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """``x`` reversed along ``axis``."""
    return np.flip(np.asarray(x), axis)


def transform_matrix_offset_center(matrix: np.ndarray, x: float, y: float) -> np.ndarray:
    """``matrix`` conjugated so that it acts about the centre of an ``x`` by ``y`` image."""
    cx, cy = float(x) / 2 - 0.5, float(y) / 2 - 0.5
    to_centre = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]])
    from_centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    return to_centre @ matrix @ from_centre


def apply_affine_transform(x: np.ndarray, theta: float = 0, tx: float = 0, ty: float = 0,
                           shear: float = 0, zx: float = 1, zy: float = 1, row_axis: int = 1,
                           col_axis: int = 2, channel_axis: int = 0, fill_mode: str = "nearest",
                           cval: float = 0.0, order: int = 1) -> np.ndarray:
    """Rotate (degrees), shift (``tx`` rows, ``ty`` columns), shear (degrees) and zoom one image.

    The output pixel at ``p`` reads the input at ``M p`` (``M`` = rotation . shift . shear .
    zoom, about the image centre), interpolated by ``scipy.ndimage`` of spline ``order``.

    Raises:
        ValueError: axes not a permutation of 0, 1, 2; channels not first or last; not rank 3.
    """
    from scipy import ndimage

    if len({row_axis, col_axis, channel_axis}) != 3:
        raise ValueError("'row_axis', 'col_axis', and 'channel_axis' must be distinct")
    bad = {row_axis, col_axis, channel_axis} - {0, 1, 2}
    if bad:
        raise ValueError(f"Invalid axis' indices: {bad}")
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError("Input arrays must be multi-channel 2D images.")
    if channel_axis not in (0, 2):
        raise ValueError("Channels are allowed and the first and last dimensions.")
    parts = []
    if theta != 0:
        t = np.deg2rad(theta)
        parts.append(np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0],
                               [0, 0, 1]]))
    if tx != 0 or ty != 0:
        parts.append(np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]]))
    if shear != 0:
        s = np.deg2rad(shear)
        parts.append(np.array([[1, -np.sin(s), 0], [0, np.cos(s), 0], [0, 0, 1]]))
    if zx != 1 or zy != 1:
        parts.append(np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]]))
    if not parts:
        return x
    m = parts[0]
    for p in parts[1:]:
        m = m @ p
    m = transform_matrix_offset_center(m, x.shape[row_axis], x.shape[col_axis])
    chans = np.moveaxis(x, channel_axis, 0)
    if col_axis > row_axis:  # matrix is in (row, col) order already; else swap to it
        m[:, [0, 1]] = m[:, [1, 0]]
        m[[0, 1]] = m[[1, 0]]
    out = np.stack([ndimage.affine_transform(c, m[:2, :2], m[:2, 2], order=order,
                                             mode=fill_mode, cval=cval) for c in chans])
    return np.moveaxis(out, 0, channel_axis)


def random_rotation(x: np.ndarray, rg: float, row_axis: int = 1, col_axis: int = 2,
                    channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                    interpolation_order: int = 1) -> np.ndarray:
    """Rotate by an angle uniform in ``[-rg, rg]`` degrees."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x: np.ndarray, wrg: float, hrg: float, row_axis: int = 1, col_axis: int = 2,
                 channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                 interpolation_order: int = 1) -> np.ndarray:
    """Shift by fractions uniform in ``[-hrg, hrg]`` of the height, ``[-wrg, wrg]`` of the width."""
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x: np.ndarray, intensity: float, row_axis: int = 1, col_axis: int = 2,
                 channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                 interpolation_order: int = 1) -> np.ndarray:
    """Shear by an angle uniform in ``[-intensity, intensity]`` degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_zoom(x: np.ndarray, zoom_range: Sequence[float], row_axis: int = 1, col_axis: int = 2,
                channel_axis: int = 0, fill_mode: str = "nearest", cval: float = 0.0,
                interpolation_order: int = 1) -> np.ndarray:
    """Zoom by factors uniform in ``zoom_range`` (independently along x and y)."""
    if len(zoom_range) != 2:
        raise ValueError("`zoom_range` should be a tuple or list of two floats. Received: "
                         f"{zoom_range}")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def apply_channel_shift(x: np.ndarray, intensity: float, channel_axis: int = 0) -> np.ndarray:
    """Add ``intensity`` to every channel, clipped to the image's own min / max."""
    x = np.asarray(x)
    lo, hi = np.min(x), np.max(x)
    return np.clip(x + intensity, lo, hi)


def random_channel_shift(x: np.ndarray, intensity_range: float,
                         channel_axis: int = 0) -> np.ndarray:
    """:func:`apply_channel_shift` by a value uniform in ``[-r, r]``."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def apply_brightness_shift(x: np.ndarray, brightness: float, scale: bool = True) -> np.ndarray:
    """Brightness factor applied through PIL's ``ImageEnhance`` (8-bit, as Keras 2)."""
    from PIL import ImageEnhance

    x = np.asarray(x)
    lo, hi = np.min(x), np.max(x)
    outside = bool(lo < 0 or hi > 255)
    img = ImageEnhance.Brightness(array_to_img(x, scale=outside or scale)).enhance(brightness)
    out = img_to_array(img)
    if not scale and outside:
        out = out / 255 * (hi - lo) + lo
    return out


def random_brightness(x: np.ndarray, brightness_range: Sequence[float],
                      scale: bool = True) -> np.ndarray:
    """:func:`apply_brightness_shift` by a factor uniform in ``brightness_range``."""
    if len(brightness_range) != 2:
        raise ValueError("`brightness_range should be tuple or list of two floats. Received: "
                         f"{brightness_range}")
    u = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u, scale)


# ---------------------------------------------------------------------- iterator protocol
class Iterator:
    """Keras 2's batch-index protocol: an endless stream of index batches over ``n`` samples.

    ``next()`` / ``next(it)`` / ``for batch in it`` walk the batches, reshuffling (``shuffle``) at
    each pass; ``it[i]`` is batch ``i`` of the current pass; ``len(it)`` batches make a pass;
    ``reset()`` goes back to the first batch; ``on_epoch_end()`` reshuffles. The seed of pass
    ``k`` is ``seed + total_batches_seen`` as in Keras 2, through a private ``RandomState`` (the
    global NumPy state is left alone). Subclasses implement
    ``_get_batches_of_transformed_samples(index_array)``.

    Example:
        >>> it = Iterator(5, 2, False, None)
        >>> [next(it.index_generator).tolist() for _ in range(4)]
        [[0, 1], [2, 3], [4], [0, 1]]
    """

    white_list_formats = WHITE_LIST_FORMATS

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None):
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.seed = seed
        self.shuffle = bool(shuffle)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array: np.ndarray | None = None
        self.index_generator = self._flow_index()

    def _rng(self) -> np.random.RandomState:
        if self.seed is None:
            return np.random.mtrand._rand
        return np.random.RandomState((int(self.seed) + self.total_batches_seen) % (2 ** 32))

    def _set_index_array(self) -> None:
        self.index_array = np.arange(self.n)
        if self.shuffle:
            self.index_array = self._rng().permutation(self.n)

    def __getitem__(self, idx: int):
        if idx >= len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Sequence has length "
                             f"{len(self)}")
        if self.index_array is None:
            self._set_index_array()
        self.total_batches_seen += 1
        index_array = self.index_array[self.batch_size * idx: self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array)

    def __len__(self) -> int:
        if self.batch_size < 1:
            return 0
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self) -> None:
        """Reshuffle (Keras calls this at the end of each epoch)."""
        self._set_index_array()

    def reset(self) -> None:
        """Go back to the first batch of a pass (the next batch starts a new pass)."""
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            if self.batch_index == 0:
                self._set_index_array()
            current = (self.batch_index * self.batch_size) % self.n if self.n else 0
            if self.n > current + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[current: current + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def next(self):
        """The next batch (Keras 2's ``next()``)."""
        with self.lock:
            index_array = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array: np.ndarray):
        raise NotImplementedError


__all__ = [
    "PIL_INTERPOLATIONS", "Iterator", "apply_affine_transform", "apply_brightness_shift",
    "apply_channel_shift", "array_to_img", "flip_axis", "img_to_array", "list_pictures",
    "load_img", "random_brightness", "random_channel_shift", "random_rotation", "random_shear",
    "random_shift", "random_zoom", "save_img", "transform_matrix_offset_center",
    "validate_filename",
]

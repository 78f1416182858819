"""Region crops of document pages (holistic, top, bottom, left, right), inside the tf graph.

Paper: the RVL-CDIP blog (seed 001, after Das et al. 2018, "Document image classification with
intra-domain transfer learning and stacked generalization") trains one model on the whole page and
one per region, feeding Keras generators with crop functions.

The blog's crop code swaps width and height. ``cv2.resize`` takes ``(width, height)``, so its
``height_crop`` calls ``cv2.resize(image, (512, 256))``, which makes a page 512 wide and 256 high,
and then keeps ``image[:256]`` / ``image[-256:]``: all 256 rows, i.e. the whole squashed page, not
its top or bottom. ``width_crop`` likewise resizes to 256 wide and 512 high and keeps every column
(and its ``right`` branch takes the *first* 256 columns). The evident intent, implemented here:
resize the page so the cropped axis is 512 (and the other 256), then keep the first / last 256
rows (``top`` / ``bottom``) or columns (``left`` / ``right``): each region is a 256 x 256 image of
one half of the page. ``full`` is the whole page resized to 256 x 256.

Every crop is a :class:`Crop`: a callable ``image (h, w, c) -> image`` of TensorFlow ops with an
``output_size``; make your own with :func:`band`, :func:`box` or :func:`custom`.

Example:
    >>> import tensorflow as tf
    >>> page = tf.concat([tf.zeros((500, 380, 1)), tf.ones((500, 380, 1))], axis=0)
    >>> t, b = top(page), bottom(page)
    >>> t.shape, float(tf.reduce_mean(t)), float(tf.reduce_mean(b))
    (TensorShape([256, 256, 1]), 0.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

from kerasdoc.generators.ops import with_static_shape

SIDES = ("top", "bottom", "left", "right")


@dataclass(frozen=True)
class Crop:
    """A named crop: ``fn(image) -> image`` in TensorFlow ops.

    Args:
        name: str. Name used in messages and model names.
        fn: callable. Takes a float ``(h, w, c)`` tensor, returns the crop.
        output_size: (int, int) or None. ``(height, width)`` of the result when fixed.
        min_size: (int, int) or None. Smallest ``(height, width)`` input it accepts; flows check
            every file's header against it and name the files that are smaller.
    """

    name: str
    fn: Callable[[tf.Tensor], tf.Tensor]
    output_size: tuple[int, int] | None = None
    min_size: tuple[int, int] | None = None

    def __call__(self, image: tf.Tensor) -> tf.Tensor:
        image = tf.convert_to_tensor(image, tf.float32)
        if image.shape.rank != 3:
            raise ValueError(f"crop {self.name!r} takes one image (h, w, c). "
                             f"Received shape {image.shape}")
        out = self.fn(image)
        if self.output_size is not None:
            out = with_static_shape(out, [*self.output_size, image.shape[-1]])
        return out


def band(side: str, size: int = 256, long: int | None = None,
         interpolation: str = "bilinear") -> Crop:
    """A half-page band: resize so the cropped axis is ``long`` (default ``2 * size``) and the
    other axis ``size``, then keep the first / last ``size`` rows or columns.

    Args:
        side: ``"top"``, ``"bottom"``, ``"left"`` or ``"right"``.
        size: int. Side of the square result. Defaults to 256 (the blog's).
        long: int or None. Length of the cropped axis after resizing. Defaults to ``2 * size``.
        interpolation: str. ``tf.image.resize`` method.

    Returns:
        A :class:`Crop` with ``output_size == (size, size)``.

    Example:
        >>> import tensorflow as tf
        >>> band("left", 64)(tf.zeros((300, 200, 3))).shape
        TensorShape([64, 64, 3])
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}. Received: side={side!r}")
    long = 2 * size if long is None else int(long)
    if long < size or size < 1:
        raise ValueError(f"need 1 <= size <= long. Received: size={size}, long={long}")
    vertical = side in ("top", "bottom")
    shape = (long, size) if vertical else (size, long)

    def fn(image):
        img = tf.image.resize(image, shape, method=interpolation)
        if side == "top":
            return img[:size]
        if side == "bottom":
            return img[-size:]
        if side == "left":
            return img[:, :size]
        return img[:, -size:]

    return Crop(side, fn, (size, size))


def full_page(size: int = 256, interpolation: str = "bilinear") -> Crop:
    """The whole page resized to ``size x size`` (the holistic model's input).

    Args:
        size: int. Output side. Defaults to 256.
        interpolation: str. ``tf.image.resize`` method.

    Returns:
        A :class:`Crop` named ``"full"``.

    Example:
        >>> import tensorflow as tf
        >>> full_page(32)(tf.zeros((100, 70, 1))).shape
        TensorShape([32, 32, 1])
    """
    return Crop("full", lambda image: tf.image.resize(image, (size, size), method=interpolation),
                (size, size))


def box(top: float, left: float, height: float, width: float, *, relative: bool = False,
        name: str = "box") -> Crop:
    """A fixed rectangle: pixels, or fractions of the page with ``relative=True``.

    Args:
        top, left: offsets of the rectangle (pixels, or fractions in [0, 1]).
        height, width: its size (pixels, or fractions in (0, 1]).
        relative: bool. Interpret the four numbers as fractions of the image size.
        name: str. The crop's name.

    Returns:
        A :class:`Crop`. A pixel box has ``min_size = (top + height, left + width)``: a flow
        names every file smaller than that; called directly on a smaller image it fails with an
        ``InvalidArgumentError`` that says the image is smaller than the crop.

    Example:
        >>> import tensorflow as tf
        >>> box(0, 0, 0.5, 1.0, relative=True)(tf.zeros((10, 6, 1))).shape
        TensorShape([5, 6, 1])
    """
    vals = (top, left, height, width)
    if relative:
        if not (0 <= top < 1 and 0 <= left < 1 and 0 < height <= 1 and 0 < width <= 1
                and top + height <= 1 + 1e-9 and left + width <= 1 + 1e-9):
            raise ValueError("relative box must lie in the unit square. Received: "
                             f"top={top}, left={left}, height={height}, width={width}")

        def fn(image):
            h = tf.cast(tf.shape(image)[0], tf.float32)
            w = tf.cast(tf.shape(image)[1], tf.float32)
            t, lft = tf.cast(top * h, tf.int32), tf.cast(left * w, tf.int32)
            hh = tf.maximum(tf.cast(tf.round(height * h), tf.int32), 1)
            ww = tf.maximum(tf.cast(tf.round(width * w), tf.int32), 1)
            return image[t:t + hh, lft:lft + ww]

        return Crop(name, fn)
    if any(int(v) != v or v < 0 for v in vals) or height < 1 or width < 1:
        raise ValueError("pixel box needs integers top, left >= 0 and height, width >= 1. "
                         f"Received: top={top}, left={left}, height={height}, width={width}")
    top, left, height, width = (int(v) for v in vals)
    need = (top + height, left + width)

    def fn(image):
        shape = tf.shape(image)
        ok = tf.logical_and(shape[0] >= need[0], shape[1] >= need[1])
        check = tf.debugging.Assert(ok, [f"image smaller than the crop {name!r}: needs at least "
                                         f"{need[0]}x{need[1]} (height x width), got", shape])
        with tf.control_dependencies([check]):
            return tf.identity(image[top:top + height, left:left + width])

    return Crop(name, fn, (height, width), need)


def custom(fn: Callable[[tf.Tensor], tf.Tensor], name: str | None = None,
           output_size: tuple[int, int] | None = None,
           min_size: tuple[int, int] | None = None) -> Crop:
    """Wrap a user function of TensorFlow ops as a :class:`Crop`.

    Args:
        fn: callable. ``image (h, w, c) float -> image``; must use tf ops (it is traced).
        name: str or None. Defaults to the function's name.
        output_size: (int, int) or None. Fixed output ``(height, width)``, if any.
        min_size: (int, int) or None. Smallest input size it accepts.

    Returns:
        A :class:`Crop`.

    Example:
        >>> import tensorflow as tf
        >>> c = custom(lambda im: im[::2, ::2], name="half")
        >>> c(tf.zeros((8, 8, 1))).shape
        TensorShape([4, 4, 1])
    """
    if not callable(fn):
        raise ValueError(f"crop must be callable. Received: {fn!r}")
    return Crop(name or getattr(fn, "__name__", "custom"), fn, output_size, min_size)


full = full_page()
top = band("top")
bottom = band("bottom")
left = band("left")
right = band("right")

CROPS = {"full": full, "top": top, "bottom": bottom, "left": left, "right": right}


def get(crop: str | Crop | Callable | None) -> Crop | None:
    """A crop by name (``full``, ``top``, ``bottom``, ``left``, ``right``), a :class:`Crop`, or a
    plain function (wrapped with :func:`custom`); None stays None.

    Example:
        >>> get("top").output_size
        (256, 256)
    """
    if crop is None or isinstance(crop, Crop):
        return crop
    if isinstance(crop, str):
        if crop not in CROPS:
            raise ValueError(f"unknown crop {crop!r}; expected one of {sorted(CROPS)} or a "
                             "function")
        return CROPS[crop]
    return custom(crop)

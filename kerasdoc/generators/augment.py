"""Random augmentation inside the tf graph, with ``ImageDataGenerator``'s parameters.

Paper: the invoice paper (seed 000) augments grayscale photos with rotation, flips, scaling,
colour jitter and noise; the Persian OCR report (seed 004) warns that flips change the meaning
of text (``get_transforms(do_flip=False)``). So every default here is *off*: a text-safe
generator turns on only what is safe (small rotation, shifts, zoom, brightness / contrast,
noise) and leaves ``horizontal_flip`` / ``vertical_flip`` False.

Randomness is stateless: each image gets a seed pair from ``tf.data.Dataset.random`` (reproducible
with the flow's ``seed`` and different every epoch), so runs repeat exactly and parallel maps
stay deterministic.

Example:
    >>> import tensorflow as tf
    >>> aug = Augmentation(rotation_range=10, brightness_range=(0.9, 1.1))
    >>> aug.apply(tf.zeros((8, 8, 1)), tf.constant([1, 2], tf.int64)).shape
    TensorShape([8, 8, 1])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import tensorflow as tf

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _pair(value, name: str, around_one: bool = False) -> tuple[float, float] | None:
    if value is None or value == 0:
        return None
    if isinstance(value, int | float):
        v = float(value)
        if v < 0:
            raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
        return (1.0 - v, 1.0 + v) if around_one else (-v, v)
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a (low, high) pair. "
                         f"Received: {name}={value!r}") from None
    if lo > hi:
        raise ValueError(f"{name} must have low <= high. Received: {name}={value!r}")
    return lo, hi


@dataclass(frozen=True)
class Augmentation:
    """Random transforms of one float image with values in ``[0, 255]``.

    Args:
        rotation_range: float. Degrees; a rotation uniform in ``[-r, r]``.
        width_shift_range: float. Horizontal shift; a fraction of the width if < 1, else pixels.
        height_shift_range: float. Vertical shift; same convention.
        zoom_range: float or (low, high). Scale factors ``[1 - z, 1 + z]`` or ``[low, high]``
            (independently for x and y, as Keras' ``ImageDataGenerator``).
        shear_range: float. Shear angle in degrees, uniform in ``[-s, s]``.
        horizontal_flip: bool. Flip left-right with probability 0.5 (not for text!).
        vertical_flip: bool. Flip up-down with probability 0.5 (not for text!).
        brightness_range: (low, high) or None. Multiply by a factor in ``[low, high]``.
        contrast_range: (low, high) or None. Scale the deviation from the image mean.
        channel_shift_range: float. Add one value uniform in ``[-r, r]`` to all channels.
        noise_stddev: float. Standard deviation of additive Gaussian noise, in pixel units (0-255).
        grayscale_probability: float. Convert to grayscale (kept at the channel count) with this
            probability.
        fill_mode: ``"constant"``, ``"nearest"``, ``"reflect"`` or ``"wrap"`` for pixels moved in
            from outside by the geometric transform.
        cval: float. Fill value for ``fill_mode="constant"``.
        interpolation: ``"bilinear"`` or ``"nearest"`` for the geometric transform.
    """

    rotation_range: float = 0.0
    width_shift_range: float = 0.0
    height_shift_range: float = 0.0
    zoom_range: float | tuple[float, float] = 0.0
    shear_range: float = 0.0
    horizontal_flip: bool = False
    vertical_flip: bool = False
    brightness_range: tuple[float, float] | None = None
    contrast_range: tuple[float, float] | None = None
    channel_shift_range: float = 0.0
    noise_stddev: float = 0.0
    grayscale_probability: float = 0.0
    fill_mode: str = "nearest"
    cval: float = 0.0
    interpolation: str = "bilinear"

    def __post_init__(self):
        if self.fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {FILL_MODES}. "
                             f"Received: fill_mode={self.fill_mode!r}")
        if self.interpolation not in ("bilinear", "nearest"):
            raise ValueError("interpolation must be 'bilinear' or 'nearest'. "
                             f"Received: interpolation={self.interpolation!r}")
        for name in ("rotation_range", "width_shift_range", "height_shift_range", "shear_range",
                     "channel_shift_range", "noise_stddev"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or v < 0:
                raise ValueError(f"{name} must be a number >= 0. Received: {name}={v!r}")
        if not 0.0 <= self.grayscale_probability <= 1.0:
            raise ValueError("grayscale_probability must be in [0, 1]. "
                             f"Received: grayscale_probability={self.grayscale_probability}")
        _pair(self.zoom_range, "zoom_range", around_one=True)
        for name in ("brightness_range", "contrast_range"):
            v = getattr(self, name)
            if v is not None:
                lo, hi = _pair(tuple(v), name)
                if lo < 0:
                    raise ValueError(f"{name} factors must be >= 0. Received: {name}={v!r}")

    @property
    def active(self) -> bool:
        """Whether any transform is turned on."""
        return any(getattr(self, f.name) != f.default for f in fields(self)
                   if f.name not in ("fill_mode", "cval", "interpolation"))

    @property
    def geometric(self) -> bool:
        """Whether a rotation / shift / zoom / shear is turned on."""
        return bool(self.rotation_range or self.width_shift_range or self.height_shift_range
                    or _pair(self.zoom_range, "zoom_range", True) or self.shear_range)

    def apply(self, image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """Transform one image ``(h, w, c)`` (float, 0-255) with a stateless seed pair.

        Args:
            image: float tensor ``(h, w, c)`` with a static channel count.
            seed: int64 tensor of shape ``(2,)``. The same seed gives the same transform.

        Returns:
            The transformed float32 image, same shape, values clipped to ``[0, 255]``.

        Example:
            >>> import tensorflow as tf
            >>> a = Augmentation(horizontal_flip=True)
            >>> x = tf.reshape(tf.range(4.0), (1, 4, 1))
            >>> sorted(a.apply(x, tf.constant([0, 1], tf.int64))[0, :, 0].numpy().tolist())
            [0.0, 1.0, 2.0, 3.0]
        """
        image = tf.convert_to_tensor(image, tf.float32)
        seed = tf.cast(seed, tf.int64)
        # Draw k's seed is (seed[0], seed[1] + 7919 k): all of them made by one add and split
        # by one op. In a tf.data map every op costs when it runs (per image) and when each
        # iterator instantiates the function (twice per Keras epoch).
        seeds = tf.unstack(seed + _DRAW_OFFSETS, num=len(_DRAW_OFFSETS))

        def u(k: int, lo: float, hi: float) -> tf.Tensor:
            return stateless_uniform(seeds[k], lo, hi)

        if self.geometric:
            image = self._affine(image, u)
        # a flip as a select, not a tf.cond (a function call per image)
        if self.horizontal_flip:
            image = tf.where(u(10, 0.0, 1.0) < 0.5, tf.reverse(image, [1]), image)
        if self.vertical_flip:
            image = tf.where(u(11, 0.0, 1.0) < 0.5, tf.reverse(image, [0]), image)
        if self.brightness_range is not None:
            lo, hi = self.brightness_range
            image = image * u(12, float(lo), float(hi))
        if self.contrast_range is not None:
            lo, hi = self.contrast_range
            mean = tf.reduce_mean(image, axis=[0, 1], keepdims=True)
            image = (image - mean) * u(13, float(lo), float(hi)) + mean
        if self.channel_shift_range:
            r = float(self.channel_shift_range)
            image = image + u(14, -r, r)
        if self.grayscale_probability:
            image = tf.where(u(15, 0.0, 1.0) < self.grayscale_probability, _gray_keep(image),
                             image)
        if self.noise_stddev:  # tf.random.stateless_normal's values, less its ops
            noise = tf.raw_ops.StatelessRandomNormal(shape=tf.shape(image), seed=seeds[16],
                                                     dtype=tf.float32)
            image = image + noise * np.float32(self.noise_stddev)
        return tf.clip_by_value(image, 0.0, 255.0)

    def _affine(self, image: tf.Tensor, u) -> tf.Tensor:
        static = image.shape[:2].is_fully_defined()
        if static:  # Python numbers: the centre and the output shape cost no ops
            h, w = float(image.shape[0]), float(image.shape[1])
            out_shape = tf.constant(image.shape[:2].as_list(), tf.int32)
        else:
            h = tf.cast(tf.shape(image)[0], tf.float32)
            w = tf.cast(tf.shape(image)[1], tf.float32)
            out_shape = tf.shape(image)[:2]
        # A range of 0 draws nothing: its value is exactly 0 (or 1), as a draw times 0 was;
        # every draw has its own seed, so the others are the same either way.
        theta = (u(1, -1.0, 1.0) * (self.rotation_range * math.pi / 180.0)
                 if self.rotation_range else 0.0)
        wsr, hsr = float(self.width_shift_range), float(self.height_shift_range)
        tx = u(2, -wsr, wsr) * (w if wsr < 1 else 1.0) if wsr else 0.0
        ty = u(3, -hsr, hsr) * (h if hsr < 1 else 1.0) if hsr else 0.0
        shear = u(4, -1.0, 1.0) * (self.shear_range * math.pi / 180.0) if self.shear_range \
            else 0.0
        zr = _pair(self.zoom_range, "zoom_range", around_one=True)
        zx, zy = (u(5, zr[0], zr[1]), u(6, zr[0], zr[1])) if zr else (1.0, 1.0)
        c, sn = _cos(theta), _sin(theta)
        sh_s, sh_c = _sin(shear), _cos(shear)
        # Output -> input mapping (as Keras' legacy ImageDataGenerator composes it):
        # M = T(centre) . R . T(shift) . Shear . Zoom . T(-centre), multiplied out:
        # M[:2, :2] = R . Shear . Zoom, M[:2, 2] = R . shift + centre - M[:2, :2] . centre
        m00, m10 = _mul(c, zx), _mul(sn, zx)
        m01 = _mul(_sub(0.0, _add(_mul(c, sh_s), _mul(sn, sh_c))), zy)
        m11 = _mul(_sub(_mul(c, sh_c), _mul(sn, sh_s)), zy)
        cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
        m02 = _add(_sub(_mul(c, tx), _mul(sn, ty)),
                   _sub(cx, _add(_mul(m00, cx), _mul(m01, cy))))
        m12 = _add(_add(_mul(sn, tx), _mul(c, ty)),
                   _sub(cy, _add(_mul(m10, cx), _mul(m11, cy))))
        flat = tf.cast(tf.stack([m00, m01, m02, m10, m11, m12, 0.0, 0.0]), tf.float32)
        out = tf.raw_ops.ImageProjectiveTransformV3(
            images=image[tf.newaxis], transforms=flat[tf.newaxis],
            output_shape=out_shape, fill_value=float(self.cval),
            interpolation=self.interpolation.upper(), fill_mode=self.fill_mode.upper())
        return out[0] if static else tf.ensure_shape(out[0], image.shape)


#: Added to an image's seed pair: draw k's seed is (seed[0], seed[1] + 7919 k).
_DRAW_OFFSETS = np.stack([np.zeros(17, np.int64), 7919 * np.arange(17, dtype=np.int64)], axis=1)


def stateless_uniform(seed: tf.Tensor, lo: float, hi: float) -> tf.Tensor:
    """``tf.random.stateless_uniform([], seed, lo, hi)``: the same float32 value from one op
    and its scaling (``tf.random``'s V2 op takes a key and counter that another op makes from
    the seed; the V1 op takes the seed itself), the range's width computed here, in float32 as
    the graph's ``Sub`` did, and no scaling at all for ``[0, 1)``.

    Example:
        >>> import tensorflow as tf
        >>> s = tf.constant([3, 4], tf.int64)
        >>> want = tf.random.stateless_uniform([], s, -0.3, 0.7)
        >>> bool(stateless_uniform(s, -0.3, 0.7) == want)
        True
    """
    lo32 = np.float32(lo)
    span = np.float32(hi) - lo32
    r = tf.raw_ops.StatelessRandomUniform(shape=[], seed=seed, dtype=tf.float32)
    if lo32 == 0 and span == 1:  # r * 1 + 0 is r
        return r
    return r * span + lo32


# Scalar arithmetic on Python floats or scalar tensors, folded where a side is a Python 0 or 1
# (no op for a rotation, shear or zoom that is off).
def _is(v, k: float) -> bool:
    return isinstance(v, float) and v == k


def _mul(a, b):
    if _is(a, 0.0) or _is(b, 0.0):
        return 0.0
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    return a * b


def _add(a, b):
    return b if _is(a, 0.0) else a if _is(b, 0.0) else a + b


def _sub(a, b):
    if _is(b, 0.0):
        return a
    return -b if _is(a, 0.0) else a - b


def _cos(v):
    return math.cos(v) if isinstance(v, float) else tf.cos(v)


def _sin(v):
    return math.sin(v) if isinstance(v, float) else tf.sin(v)


def _gray_keep(image: tf.Tensor) -> tf.Tensor:
    if image.shape[-1] == 1:
        return image
    return tf.repeat(tf.image.rgb_to_grayscale(image), image.shape[-1], axis=-1)

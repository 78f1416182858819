"""The image spec: the one data contract that training flows, evaluation, export and predict share.

An :class:`ImageSpec` says how an image becomes a model input: its size, colour mode, region crop,
aspect handling (resize mode), and value scaling (rescale, then optional per-channel
normalisation statistics). The ``generators`` flows take it (``flow_from_directory(..., spec=)``)
and every file flow reports the spec of what it yields (``flow.spec``); the run recipe stores that
spec in the model card; ``kerasdoc export`` builds the serving graph from the card's spec and
``kerasdoc predict`` reads it back. Training and serving call the same two functions,
:meth:`ImageSpec.geometry` (crop -> resize -> channels) and :meth:`ImageSpec.scale` (rescale ->
normalise), so a model trained on padded, cropped or normalised images is served exactly those.

Paper: the RVL-CDIP blog (after Das et al. 2018) rescales by 1/255 and crops page regions; the
invoice paper (Wang et al.) reads grayscale; the Persian OCR report (Kendal 2019) normalises with
data statistics: each is one spec.

Example:
    >>> import tensorflow as tf
    >>> spec = ImageSpec((20, 20), "grayscale", resize_mode="pad")
    >>> png = tf.io.encode_png(tf.fill([30, 40, 3], tf.constant(255, tf.uint8)))
    >>> x = spec.decode_and_preprocess(png)
    >>> tuple(x.shape), float(tf.reduce_max(x))
    ((20, 20, 1), 1.0)
    >>> ImageSpec.from_config(spec.get_config()) == spec
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from kerasdoc import constants
from kerasdoc.generators import crops as crops_lib
from kerasdoc.generators.limits import decoded_size_graph, guard_encoded
from kerasdoc.generators.ops import (
    INTERPOLATIONS,
    PADDING_MODES,
    RESIZE_MODES,
    decode_image,
    match_channels,
    resize_image,
    with_static_shape,
)

#: ``color_mode`` -> channels (the names: :data:`kerasdoc.constants.COLOR_MODES`).
COLOR_MODES = dict(zip(constants.COLOR_MODES, (1, 3)))
#: ``color_mode`` values of a file flow (RGBA pages keep their alpha channel).
FILE_COLOR_MODES = {**COLOR_MODES, "rgba": 4}


def _per_channel(values: Any, name: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    if isinstance(values, int | float):
        return (float(values),)
    try:
        out = tuple(float(v) for v in values)
    except TypeError:
        raise ValueError(f"{name} must be a number or one number per channel. "
                         f"Received: {name}={values!r}") from None
    if not out:
        raise ValueError(f"{name} must not be empty. Received: {name}={values!r}")
    return out


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """How an image becomes a model input: decode -> crop -> resize -> channels -> rescale ->
    normalise.

    Attributes:
        image_size: (height, width) the model takes (a flow's ``target_size``).
        color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3 channels).
        rescale: factor applied to 0-255 pixel values (``1/255`` as in the papers' Keras
            generators); None leaves them as they are.
        mean: None, or the per-channel mean subtracted after ``rescale`` (one value, or one per
            channel).
        std: None, or the per-channel standard deviation divided by after ``mean``.
        crop: None or a ``kerasdoc.generators.crops`` name (``"full" | "top" | "bottom" | "left" |
            "right"``, the RVL-CDIP region crops), applied before resizing.
        resize_mode: ``"stretch"``, ``"pad"`` or ``"crop"`` (aspect handling).
        padding_mode: ``"zeros"`` or ``"reflection"`` (for ``resize_mode="pad"``).
        interpolation: resize method (``"bilinear"``, ``"area"``, ``"nearest"``, ...).

    Example:
        >>> ImageSpec((64, 64), "rgb", mean=0.5, std=0.25).input_shape
        (64, 64, 3)
    """

    image_size: tuple[int, int]
    color_mode: str = "grayscale"
    rescale: float | None = 1.0 / 255.0
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    crop: str | None = None
    resize_mode: str = "stretch"
    padding_mode: str = "zeros"
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        try:
            size = tuple(int(s) for s in self.image_size)
        except (TypeError, ValueError):
            size = ()
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"image_size must be (height, width) of positive integers. "
                             f"Received: image_size={self.image_size}")
        object.__setattr__(self, "image_size", size)
        checks = [("color_mode", tuple(COLOR_MODES)), ("resize_mode", RESIZE_MODES),
                  ("padding_mode", PADDING_MODES), ("interpolation", INTERPOLATIONS),
                  ("crop", (None, *sorted(crops_lib.CROPS)))]
        for field, allowed in checks:
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} must be one of {allowed}. "
                                 f"Received: {field}={getattr(self, field)!r}")
        if self.rescale is not None:
            object.__setattr__(self, "rescale", float(self.rescale))
        mean, std = _per_channel(self.mean, "mean"), _per_channel(self.std, "std")
        if (mean is None) != (std is None):
            raise ValueError(f"Pass both mean and std, or neither. Received: mean={self.mean}, "
                             f"std={self.std}")
        if mean is not None:
            if {len(mean), len(std)} - {1, self.channels}:
                raise ValueError(f"mean and std need 1 or {self.channels} values for "
                                 f"color_mode={self.color_mode!r}. Received: mean={mean}, "
                                 f"std={std}")
            if min(std) <= 0:
                raise ValueError(f"std must be positive. Received: std={std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    # ------------------------------------------------------------------ facts
    @property
    def channels(self) -> int:
        """1 for grayscale, 3 for RGB."""
        return COLOR_MODES[self.color_mode]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` of the model input."""
        return (*self.image_size, self.channels)

    def replace(self, **changes: Any) -> ImageSpec:
        """A copy with some fields changed (``spec.replace(image_size=(256, 256))``)."""
        return dataclasses.replace(self, **changes)

    def get_config(self) -> dict[str, Any]:
        """JSON-safe dict; :meth:`from_config` inverts it."""
        cfg = dataclasses.asdict(self)
        cfg["image_size"] = list(self.image_size)
        for k in ("mean", "std"):
            cfg[k] = None if cfg[k] is None else list(cfg[k])
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ImageSpec:
        """Build from :meth:`get_config` output (unknown keys raise ``ValueError``)."""
        known = {f.name for f in dataclasses.fields(cls)}
        extra = set(config) - known
        if extra:
            raise ValueError(f"Unknown image spec keys {sorted(extra)}. Expected: {sorted(known)}")
        return cls(**config)

    @classmethod
    def for_model(cls, model: Any, **kwargs: Any) -> ImageSpec:
        """A spec for ``model``'s input shape (its size, and 1 / 3 channels); ``kwargs`` override.

        Raises:
            ValueError: the model has several inputs, a non-image input, or a variable size and
                no ``image_size`` is given.
        """
        shape = model.input_shape
        if isinstance(shape, list):
            raise ValueError(f"Model {model.name!r} has {len(shape)} inputs; expected one image "
                             "input.")
        if len(shape) != 4 or shape[3] not in (1, 3):
            raise ValueError(f"Model {model.name!r} takes input shape {shape}; expected "
                             "(batch, height, width, 1 or 3).")
        if (shape[1] is None or shape[2] is None) and "image_size" not in kwargs:
            raise ValueError(f"Model {model.name!r} has input shape {shape}; pass "
                             "image_size=(height, width) for variable-size inputs.")
        kwargs.setdefault("image_size", (shape[1], shape[2]))
        kwargs.setdefault("color_mode", "grayscale" if shape[3] == 1 else "rgb")
        return cls(**kwargs)

    def check_model(self, model: Any) -> None:
        """Raise ``ValueError`` if ``model``'s input does not take this spec's images."""
        shape = model.input_shape
        if isinstance(shape, list) or len(shape) != 4:
            raise ValueError(f"Model {model.name!r} takes {shape}; expected one image input.")
        want = self.input_shape
        got = tuple(shape[1:])
        if got[2] != want[2] or any(g is not None and g != w for g, w in zip(got[:2], want[:2])):
            raise ValueError(f"Model {model.name!r} takes images of shape {got}, but the image "
                             f"spec gives {want} ({self.color_mode}).")

    # ------------------------------------------------------------------ ops (training and serving)
    def geometry(self, image: tf.Tensor) -> tf.Tensor:
        """crop -> resize -> channel conversion of one decoded float image (0-255 values).

        Args:
            image: float32 [height, width, channels], channels 1 or 3 (4: alpha dropped).

        Returns:
            float32 [image_size[0], image_size[1], self.channels], still on the 0-255 scale.
        """
        return apply_geometry(image, crops_lib.get(self.crop), self.image_size, self.channels,
                              resize_mode=self.resize_mode, padding_mode=self.padding_mode,
                              interpolation=self.interpolation)

    def scale(self, images: tf.Tensor) -> tf.Tensor:
        """rescale -> normalise of images (any leading shape), as float32."""
        images = tf.cast(images, tf.float32)
        if self.rescale is not None:
            images = images * self.rescale
        if self.mean is not None:
            images = (images - tf.constant(self.mean, tf.float32)) / tf.constant(self.std,
                                                                                tf.float32)
        return images

    def preprocess(self, image: tf.Tensor) -> tf.Tensor:
        """A decoded image (0-255 scale, any size, 1-4 channels) to a model input.

        Example:
            >>> x = ImageSpec((20, 10), "rgb").preprocess(tf.fill([40, 30, 1], 255.0))
            >>> tuple(x.shape), round(float(tf.reduce_min(x)), 3)
            ((20, 10, 3), 1.0)
        """
        return self.scale(self.geometry(image))

    def preprocess_batch(self, images: tf.Tensor) -> tf.Tensor:
        """Decoded images [batch, h, w, c] (or one [h, w, c]) to model inputs."""
        images = tf.convert_to_tensor(images)
        if images.shape.rank == 3:
            return self.preprocess(images)
        sig = tf.TensorSpec(self.input_shape, tf.float32)
        return tf.map_fn(lambda img: self.preprocess(tf.cast(img, tf.float32)), images,
                         fn_output_signature=sig)

    def decode(self, data: tf.Tensor) -> tf.Tensor:
        """Encoded JPEG / PNG / BMP / GIF bytes (scalar string) to a float image (0-255 scale),
        with this spec's channels (grayscale BMP / GIF go through RGB and ``rgb_to_grayscale``,
        as the flows do).

        Every image goes through the size guard first
        (:func:`kerasdoc.generators.limits.guard_encoded`): an image that would decode to more
        pixels than the limit (``kerasdoc.generators.limits.max_image_pixels()`` when the graph
        is traced: ``$KERASDOC_MAX_PIXELS`` or PIL's default 89,478,485; for a GIF every frame
        counts, not the logical screen), a WebP, a TIFF, a non-image or an unreadable header
        fails with an ``InvalidArgumentError`` saying so, before anything is decoded, so an
        exported model cannot be made to allocate gigabytes by a small file.
        """
        data = guard_encoded(data)
        if self.channels == 3:
            return decode_image(data, 3)
        rgb_only = tf.logical_or(tf.equal(tf.strings.substr(data, 0, 3), "GIF"),
                                 tf.equal(tf.strings.substr(data, 0, 2), "BM"))
        return tf.cond(rgb_only, lambda: tf.image.rgb_to_grayscale(decode_image(data, 3)),
                       lambda: decode_image(data, 1))

    def decode_and_preprocess(self, data: tf.Tensor) -> tf.Tensor:
        """Encoded image bytes (scalar ``tf.string``) to one model input, as the flows do."""
        return self.preprocess(self.decode(data))

    def decode_batch(self, data: tf.Tensor) -> tf.Tensor:
        """A batch of encoded images (``tf.string`` [batch]) to model inputs."""
        sig = tf.TensorSpec(self.input_shape, tf.float32)
        return tf.map_fn(self.decode_and_preprocess, data, fn_output_signature=sig)


def header_pixel_count(data: tf.Tensor) -> tf.Tensor:
    """The number of pixels the decoder will allocate for encoded JPEG / PNG / GIF / BMP bytes
    (scalar ``tf.string``), as int64, without decoding (for a GIF every frame counts, not the
    logical screen: :func:`kerasdoc.generators.limits.decoded_size_graph`); 0 for other data.

    Example:
        >>> import io
        >>> from PIL import Image
        >>> buf = io.BytesIO(); Image.new("L", (30, 20)).save(buf, "PNG")
        >>> int(header_pixel_count(tf.constant(buf.getvalue())))
        600
    """
    code, _, _, pixels, _ = decoded_size_graph(data)
    return tf.where(tf.equal(code, 0), pixels, tf.zeros_like(pixels))


def apply_geometry(image: tf.Tensor, crop: Any, size: Sequence[int], channels: int, *,
                   resize_mode: str = "stretch", padding_mode: str = "zeros",
                   interpolation: str = "bilinear") -> tf.Tensor:
    """crop -> resize -> channels of one float image: the single implementation that the flows
    (any crop, named or a function) and :meth:`ImageSpec.geometry` (serving) both run."""
    image = _drop_alpha(tf.convert_to_tensor(image, tf.float32))
    if crop is not None:
        image = crop(image)
    image = resize_image(image, tuple(size), mode=resize_mode, padding_mode=padding_mode,
                         interpolation=interpolation)  # resized pixels are clipped to 0-255
    if crop is not None:  # a crop's own resize (a band, the full page) may overshoot too
        image = tf.clip_by_value(image, 0.0, 255.0)
    return with_static_shape(match_channels(image, channels), [*size, channels])


def _drop_alpha(image: tf.Tensor) -> tf.Tensor:
    c = image.shape[-1]
    if c == 4:
        return image[..., :3]
    if c is None:
        return tf.cond(tf.shape(image)[-1] >= 3, lambda: image[..., :3],
                       lambda: image[..., :1])
    return image


def crop_name(crop: Any) -> str | None:
    """The ``kerasdoc.generators.crops`` name of ``crop`` (a name or one of the named crops), else
    None."""
    if crop is None:
        return None
    if isinstance(crop, str):
        return crop if crop in crops_lib.CROPS else None
    for name, c in crops_lib.CROPS.items():
        if crop is c:
            return name
    return None


def as_spec(spec: ImageSpec | dict | None) -> ImageSpec | None:
    """An :class:`ImageSpec` from a spec, its config dict, or None."""
    if spec is None or isinstance(spec, ImageSpec):
        return spec
    if isinstance(spec, dict):
        return ImageSpec.from_config(spec)
    raise ValueError(f"spec must be an ImageSpec or its config dict. Received: {spec!r}")


__all__ = ["COLOR_MODES", "FILE_COLOR_MODES", "ImageSpec", "apply_geometry", "as_spec", "crop_name"]


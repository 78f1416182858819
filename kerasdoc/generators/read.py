"""Reading one image file of a file flow: decode -> crop -> resize, as top-level graph functions.

:func:`plan_read` decides once per flow how its files are read (:class:`ReadPlan`);
:func:`read_image` dispatches each file to one path:

- :func:`read_rgba`: 4 channels (PNG alpha kept);
- :func:`read_band`: a named band crop (``top`` ...) of a JPEG decodes only the rows / columns the
  band reads (the same pixels as a full decode: :func:`kerasdoc.generators.ops.decode_band`);
- :func:`read_reduced`: ``reduced_decode=True``: JPEGs decoded at 1/2, 1/4 or 1/8 scale when the
  reduced page still covers what the geometry needs;
- :func:`read_full`: every other file (PNG, TIFF, GIF, BMP including palette BMPs, CMYK JPEGs:
  :func:`kerasdoc.generators.ops.decode_image` handles the formats).

Example:
    >>> import os, tempfile, numpy as np, cv2, tensorflow as tf
    >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> _ = cv2.imwrite(p, np.full((6, 4), 200, np.uint8))
    >>> plan = plan_read([p], ["png"], target_size=(3, 2), channels=1, crop=None,
    ...                  resize_mode="stretch", padding_mode="zeros", interpolation="bilinear")
    >>> img = read_image(tf.constant(p), tf.constant(False), plan)
    >>> img.shape, float(img[0, 0, 0])
    (TensorShape([3, 2, 1]), 200.0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import tensorflow as tf

from kerasdoc.generators import crops as crops_lib
from kerasdoc.generators.ops import (
    decode_band,
    decode_image,
    decode_image_rgba,
    decode_reduced,
    resize_image,
)
from kerasdoc.generators.spec import apply_geometry, crop_name


@dataclasses.dataclass(frozen=True)
class ReadPlan:
    """How a flow reads its files (fixed when the flow is made).

    ``channels``: the flow's channels (1, 3 or 4); ``decode_channels`` / ``geo_channels``: what the
    decoder and the geometry give (1 when gray JPEG pages are copied to RGB once per batch:
    ``gray_to_rgb``); ``band``: a named band crop's size (decode only the band); ``need``: the
    smallest decoded size the geometry needs (``reduced_decode``); ``ratio``: the libjpeg scale
    every file shares (read from the headers) or None; ``any_tiff``: some file is a TIFF;
    ``any_bmp``: some file may be a BMP (sniffed as one, or not sniffed).
    """

    target_size: tuple[int, int]
    channels: int
    crop: Callable | None
    resize_mode: str
    padding_mode: str
    interpolation: str
    decode_channels: int
    geo_channels: int
    any_tiff: bool = False
    any_bmp: bool = True
    band: int | None = None
    need: tuple[int, int] | None = None
    ratio: int | None = None
    reduced_decode: bool = False
    gray_to_rgb: bool = False

    @property
    def named_crop(self) -> str | None:
        return crop_name(self.crop)

    def geometry(self, img: tf.Tensor, crop: Callable | None) -> tf.Tensor:
        return apply_geometry(img, crop, self.target_size, self.geo_channels,
                              resize_mode=self.resize_mode, padding_mode=self.padding_mode,
                              interpolation=self.interpolation)


def jpeg_layout(paths: Sequence[str], formats: Sequence[str],
                need: tuple[int, int]) -> tuple[int | None, bool]:
    """``(ratio, all_gray)`` of a list of files from their headers: the libjpeg scale
    denominator (8, 4, 2 or 1, as :func:`kerasdoc.generators.ops.decode_reduced` picks it for
    ``need``) when every file is a JPEG and they all share it, else None; and whether every
    file is a one-channel JPEG. Reads headers only (PIL), a few microseconds a file."""
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


def _needed_size(crop, target_size: tuple[int, int]) -> tuple[int, int] | None:
    """The smallest decoded page the geometry needs, for a reduced decode (None: any)."""
    named = crop_name(crop)
    if crop is None:
        return target_size
    if named in ("top", "bottom"):
        return (2 * crop.output_size[0], crop.output_size[1])
    if named in ("left", "right"):
        return (crop.output_size[0], 2 * crop.output_size[1])
    if named == "full":
        return crop.output_size
    return None


def plan_read(paths: Sequence[str], formats: Sequence[str], *, target_size: tuple[int, int],
              channels: int, crop: Callable | None, resize_mode: str, padding_mode: str,
              interpolation: str, reduced_decode: bool = False,
              batch_rgb_ok: bool = False) -> ReadPlan:
    """The :class:`ReadPlan` of a flow's files. ``batch_rgb_ok``: the flow finishes images per
    batch (no augmentation, ``preprocessing_function``, grayscale or standardisation), so gray
    JPEG pages of an ``"rgb"`` flow may be decoded gray and copied to RGB once per batch."""
    # A named band crop of a JPEG decodes only the rows / columns the band reads: the same
    # pixels (ops.decode_band), so it is always on; DCT scaling is opt-in.
    band = crop.output_size[0] if crop_name(crop) in crops_lib.SIDES else None
    need = _needed_size(crop, target_size) if reduced_decode else None
    # With every file a JPEG, read from the headers: the scale every file shares (no per-file
    # choice in the graph) and, for gray pages in an "rgb" flow, gray decoding with the
    # channel copy made once per batch (same values, a third of the per-image work).
    ratio, to_rgb = None, False
    if need is not None:
        ratio, all_gray = jpeg_layout(paths, formats, need)
        to_rgb = all_gray and channels == 3 and batch_rgb_ok
    decode_channels = 1 if to_rgb else (3 if channels == 4 else channels)
    return ReadPlan(tuple(target_size), channels, crop, resize_mode, padding_mode,
                    interpolation, decode_channels, 1 if to_rgb else channels,
                    any_tiff=any(f == "tiff" for f in formats),
                    any_bmp=any(f not in ("jpeg", "png", "gif", "tiff") for f in formats),
                    band=band, need=need,
                    ratio=ratio, reduced_decode=reduced_decode, gray_to_rgb=to_rgb)


def read_rgba(path: tf.Tensor, plan: ReadPlan) -> tf.Tensor:
    """RGBA: decode with alpha, crop, resize (``apply_geometry`` knows 1 and 3 channels only)."""
    img = decode_image_rgba(tf.io.read_file(path))
    if plan.crop is not None:
        img = plan.crop(img)
    img = resize_image(img, plan.target_size, mode=plan.resize_mode,
                       padding_mode=plan.padding_mode, interpolation=plan.interpolation)
    return tf.ensure_shape(img, [*plan.target_size, 4])


def read_band(path: tf.Tensor, is_tiff: tf.Tensor, plan: ReadPlan) -> tf.Tensor:
    """A JPEG band: decode only the rows / columns the band crop reads (other formats: the full
    decode, then the crop)."""
    contents, band, ch = tf.io.read_file(path), plan.band, plan.decode_channels
    if plan.ratio is not None:  # every file a JPEG
        img = decode_band(contents, plan.named_crop, band, 2 * band, ch, keep_gray=True,
                          ratio=plan.ratio)
    else:
        is_jpeg = tf.equal(tf.strings.substr(contents, 0, 3), b"\xff\xd8\xff")
        if plan.any_tiff:
            is_jpeg = tf.logical_and(is_jpeg, tf.logical_not(is_tiff))
        img = tf.cond(
            is_jpeg,
            lambda: decode_band(contents, plan.named_crop, band, 2 * band, ch, keep_gray=True,
                                scale_decode=plan.reduced_decode),
            lambda: plan.crop(decode_image(contents, ch, is_tiff if plan.any_tiff else False,
                                           keep_gray=True, maybe_bmp=plan.any_bmp)))
    return plan.geometry(img, None)


def read_reduced(path: tf.Tensor, is_tiff: tf.Tensor, plan: ReadPlan) -> tf.Tensor:
    """``reduced_decode``: a JPEG decoded at the scale the headers fixed (``plan.ratio``) or
    picked per file; a TIFF in full."""
    ch = plan.decode_channels
    if plan.ratio is not None:
        nearest = (plan.crop is None and plan.resize_mode == "stretch"
                   and plan.interpolation == "nearest")  # resized on the 8-bit page
        img = decode_reduced(tf.io.read_file(path), plan.need, ch, keep_gray=True,
                             ratio=plan.ratio, nearest=nearest)
    elif plan.any_tiff:
        img = tf.cond(is_tiff, lambda: decode_image(tf.io.read_file(path), ch, True,
                                                    keep_gray=True, maybe_bmp=plan.any_bmp),
                      lambda: decode_reduced(tf.io.read_file(path), plan.need, ch,
                                             keep_gray=True))
    else:
        img = decode_reduced(tf.io.read_file(path), plan.need, ch, keep_gray=True)
    return plan.geometry(img, plan.crop)


def read_full(path: tf.Tensor, is_tiff: tf.Tensor, plan: ReadPlan) -> tf.Tensor:
    """The full decode (any format), then crop and resize."""
    img = decode_image(tf.io.read_file(path), plan.decode_channels,
                       is_tiff if plan.any_tiff else False, keep_gray=True,
                       maybe_bmp=plan.any_bmp)
    return plan.geometry(img, plan.crop)


def read_image(path: tf.Tensor, is_tiff: tf.Tensor, plan: ReadPlan) -> tf.Tensor:
    """One file -> one image (float32, ``plan.target_size``, ``plan.geo_channels``)."""
    if plan.channels == 4:
        return read_rgba(path, plan)
    if plan.band is not None:
        return read_band(path, is_tiff, plan)
    if plan.ratio is not None or plan.need is not None:
        return read_reduced(path, is_tiff, plan)
    return read_full(path, is_tiff, plan)

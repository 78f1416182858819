"""In-graph image ops: decoding (any channel count / bit depth), aspect-aware resizing.

Paper: the Persian OCR report (seed 004) resizes with fastai's ``padding_mode`` (``zeros`` or
``reflection``); the invoice paper (seed 000) converts photos to grayscale. Everything here is
TensorFlow ops on float32 images with values in ``[0, 255]``, so it runs inside ``tf.data``.

Example:
    >>> import tensorflow as tf
    >>> img = tf.ones((10, 20, 3))
    >>> resize_image(img, (16, 16), mode="pad", padding_mode="zeros").shape
    TensorShape([16, 16, 3])
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerasdoc.constants import RESIZE_MODES

PADDING_MODES = ("zeros", "reflection")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                  "mitchellcubic", "antialias_bilinear", "antialias_bicubic", "lanczos", "box",
                  "hamming")

#: PIL's filters (Keras 2's ``interpolation`` names), antialiased when downscaling as PIL is:
#: ``method -> (tf.image.resize method or ScaleAndTranslate kernel, via ScaleAndTranslate)``.
#: Mean absolute difference from PIL on 12 RVL-CDIP pages resized to 128 x 96 (0-255 scale):
#: nearest 0.0, bilinear 0.03, bicubic 0.10, lanczos 0.23, box 0.41, hamming 0.64 (no
#: Hamming window in TensorFlow: Lanczos-1, the closest window of support 1).
_ANTIALIASED = {"antialias_bilinear": ("bilinear", False), "antialias_bicubic": ("bicubic", False),
                "lanczos": ("lanczos3", False), "box": ("box", True), "hamming": ("lanczos1", True)}


def _nearest_index(n_in: tf.Tensor, n_out: tf.Tensor) -> tf.Tensor:
    """The source index of each output row (column) in ``tf.image.resize``'s ``nearest``
    (half-pixel centres): ``min(floor((i + 0.5) * n_in / n_out), n_in - 1)`` in float32, as
    its kernel computes it."""
    scale = tf.cast(n_in, tf.float32) / tf.cast(n_out, tf.float32)
    i = tf.cast(tf.floor((tf.cast(tf.range(n_out), tf.float32) + 0.5) * scale), tf.int32)
    return tf.clip_by_value(i, 0, n_in - 1)


def _resize(image: tf.Tensor, size, interpolation: str) -> tf.Tensor:
    """``tf.image.resize`` with the PIL-like antialiased methods added, clipped to the 0-255
    source range (as PIL's uint8 resize is: cubic and Lanczos kernels overshoot, and even the
    antialiased bilinear weights give 255.00015 on a white page). ``nearest`` on one image is
    two gathers (the same pixels as ``tf.image.resize``, a few times faster; nothing to clip)."""
    if interpolation == "nearest" and image.shape.rank == 3:
        size = tf.cast(tf.convert_to_tensor(size), tf.int32)
        shape = tf.shape(image)
        image = tf.gather(image, _nearest_index(shape[0], size[0]), axis=0)
        return tf.gather(image, _nearest_index(shape[1], size[1]), axis=1)
    if interpolation not in _ANTIALIASED:
        return _clip(tf.image.resize(image, size, method=interpolation))
    kernel, raw = _ANTIALIASED[interpolation]
    if not raw:
        return _clip(tf.image.resize(image, size, method=kernel, antialias=True))
    size = tf.cast(tf.convert_to_tensor(size), tf.int32)
    in_hw = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(size, tf.float32) / in_hw
    out = tf.raw_ops.ScaleAndTranslate(images=image[tf.newaxis], size=size, scale=scale,
                                       translation=tf.zeros([2]), kernel_type=kernel,
                                       antialias=True)
    return _clip(out[0])


def _clip(image: tf.Tensor) -> tf.Tensor:
    """Resized pixels back into the 0-255 range of decoded images."""
    return tf.clip_by_value(image, 0.0, 255.0)


def _pil_decode(data: bytes, channels: int) -> np.ndarray:
    """Decode one image with PIL (used for TIFF, which tf.io cannot read)."""
    from PIL import Image

    from kerasdoc.generators.limits import open_with_pil

    with open_with_pil(bytes(data)) as im:  # the size guard first: no PIL bomb warning
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            arr = np.asarray(im, dtype=np.float64)
            top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
            im = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
        im = im.convert("L" if channels == 1 else "RGB")
        arr = np.asarray(im, dtype=np.uint8)
    return arr.reshape(arr.shape[0], arr.shape[1], channels)


def _le_int(contents: tf.Tensor, offset: int, nbytes: int) -> tf.Tensor:
    """A little-endian integer of ``nbytes`` (2 or 4) bytes at ``offset`` (int32; 2-byte values
    unsigned)."""
    raw = tf.strings.substr(contents, offset, nbytes)
    if nbytes == 2:
        return tf.cast(tf.io.decode_raw(raw, tf.uint16, little_endian=True)[0], tf.int32)
    return tf.io.decode_raw(raw, tf.int32, little_endian=True)[0]


def is_indexed_bmp(contents: tf.Tensor) -> tf.Tensor:
    """Whether encoded bytes are an uncompressed 1-, 4- or 8-bit (palette) Windows BMP: the kinds
    ``tf.io.decode_image`` rejects (1 and 4 bit) or returns as raw palette indices (8 bit)."""
    long_enough = tf.strings.length(contents) >= 54
    is_bm = tf.logical_and(long_enough, tf.equal(tf.strings.substr(contents, 0, 2), "BM"))

    def indexed():
        bpp = _le_int(contents, 28, 2)
        return tf.logical_and(tf.logical_and(_le_int(contents, 14, 4) >= 40,
                                             _le_int(contents, 30, 4) == 0),
                              tf.logical_or(tf.logical_or(bpp == 1, bpp == 4), bpp == 8))

    return tf.cond(is_bm, indexed, lambda: tf.constant(False))


def decode_indexed_bmp(contents: tf.Tensor) -> tf.Tensor:
    """Decode an uncompressed 1-, 4- or 8-bit BMP through its palette to float32 RGB
    ``(h, w, 3)`` (0-255): the real colours, not the palette indices.

    Example:
        >>> import io, numpy as np, tensorflow as tf
        >>> from PIL import Image
        >>> im = Image.fromarray(np.array([[0, 1]], np.uint8), "P")
        >>> im.putpalette([255, 0, 0, 0, 0, 255])
        >>> b = io.BytesIO(); im.save(b, "BMP")
        >>> decode_indexed_bmp(tf.constant(b.getvalue())).numpy().astype(int).tolist()
        [[[255, 0, 0], [0, 0, 255]]]
    """
    data_off = _le_int(contents, 10, 4)
    dib = _le_int(contents, 14, 4)
    w = _le_int(contents, 18, 4)
    h_signed = _le_int(contents, 22, 4)
    h = tf.abs(h_signed)
    bpp = _le_int(contents, 28, 2)
    used = _le_int(contents, 46, 4)
    n_colors = tf.where(tf.logical_and(used > 0, used <= tf.bitwise.left_shift(1, bpp)), used,
                        tf.bitwise.left_shift(1, bpp))
    palette = tf.reshape(tf.io.decode_raw(tf.strings.substr(contents, 14 + dib, 4 * n_colors),
                                          tf.uint8), [-1, 4])
    rgb_palette = tf.reverse(palette[:, :3], axis=[1])  # BGRA -> RGB
    row_bytes = (bpp * w + 31) // 32 * 4
    pix = tf.io.decode_raw(tf.strings.substr(contents, data_off, row_bytes * h), tf.uint8)
    pix = tf.reshape(pix, tf.stack([h, row_bytes]))  # fails on a short file (guarded upstream)
    pix = tf.cast(pix, tf.int32)

    def unpack(bits):
        per = 8 // bits
        shifts = tf.range(8 - bits, -1, -bits)
        vals = tf.bitwise.bitwise_and(tf.bitwise.right_shift(pix[..., tf.newaxis], shifts),
                                      (1 << bits) - 1)
        return tf.reshape(vals, tf.stack([h, row_bytes * per]))

    idx = tf.switch_case(tf.where(bpp == 1, 0, tf.where(bpp == 4, 1, 2)),
                         [lambda: unpack(1), lambda: unpack(4), lambda: pix])[:, :w]
    idx = tf.minimum(idx, tf.shape(rgb_palette)[0] - 1)
    idx = tf.cond(h_signed > 0, lambda: tf.reverse(idx, axis=[0]), lambda: idx)  # bottom-up
    return tf.ensure_shape(tf.cast(tf.gather(rgb_palette, idx), tf.float32), [None, None, 3])


def is_cmyk_jpeg(contents: tf.Tensor) -> tf.Tensor:
    """Whether encoded bytes are a 4-component (CMYK / YCCK) JPEG, which TensorFlow decodes to
    RGB but not to 1 channel."""
    is_jpeg = tf.equal(tf.strings.substr(contents, 0, 3), b"\xff\xd8\xff")
    return tf.cond(is_jpeg, lambda: tf.image.extract_jpeg_shape(contents)[2] == 4,
                   lambda: tf.constant(False))


def decode_image(contents: tf.Tensor, channels: int,
                 is_tiff: tf.Tensor | bool = False, keep_gray: bool = False,
                 maybe_bmp: bool = True) -> tf.Tensor:
    """Decode encoded image bytes to float32 ``(h, w, channels)`` with values in ``[0, 255]``.

    JPEG / PNG / GIF / BMP go through ``tf.io.decode_image`` (16-bit PNG is scaled to 8 bits,
    RGBA loses alpha, grayscale is replicated to 3 channels, RGB is converted to luminance for
    1 channel); TIFF (single page) goes through PIL in a ``tf.numpy_function``.

    Args:
        contents: scalar string tensor. The file bytes.
        channels: int. 1 (grayscale) or 3 (RGB).
        is_tiff: bool or scalar bool tensor. Whether the bytes are a TIFF.
        keep_gray: bool. With ``channels=3``, leave a grayscale file at 1 channel (the channel
            count is then dynamic: 1 or 3); resize first, then call :func:`match_channels`:
            the same result as decoding to 3 channels, at a third of the resizing work (and
            libjpeg's colour conversion skipped), which matters for scanned pages.
        maybe_bmp: bool. False when the bytes are known not to be a BMP (a flow whose files
            were sniffed): the indexed-BMP branch is left out of the graph (a smaller graph,
            traced faster; the same pixels for every other format).

    Returns:
        A float32 tensor of shape ``(h, w, channels)`` (``(h, w, None)`` with ``keep_gray``).

    Example:
        >>> import tensorflow as tf
        >>> png = tf.io.encode_png(tf.zeros((2, 3, 4), tf.uint8))
        >>> decode_image(png, 3).shape
        TensorShape([2, 3, 3])
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3. Received: channels={channels}")

    native = keep_gray and channels == 3

    def _tf():
        if channels == 1:
            # TF's BMP and GIF decoders cannot give 1 channel, nor its JPEG decoder for a CMYK
            # file: decode RGB, then luminance.
            rgb_only = tf.logical_or(tf.equal(tf.strings.substr(contents, 0, 3), "GIF"),
                                     tf.equal(tf.strings.substr(contents, 0, 2), "BM"))
            rgb_only = tf.logical_or(rgb_only, is_cmyk_jpeg(contents))
            return tf.cond(
                rgb_only,
                lambda: tf.image.rgb_to_grayscale(tf.cast(tf.io.decode_image(
                    contents, channels=3, expand_animations=False), tf.float32)),
                lambda: tf.cast(tf.io.decode_image(contents, channels=1,
                                                   expand_animations=False), tf.float32))
        img = tf.io.decode_image(contents, channels=0 if native else channels,
                                 expand_animations=False)
        img = tf.cast(img, tf.float32)
        if native:  # 1 (gray) stays, 2 (gray + alpha) -> 1, 3 stays, 4 (RGBA) -> 3
            c = tf.shape(img)[-1]
            img = tf.cond(c <= 2, lambda: img[..., :1], lambda: img[..., :3])
        return img

    def _tiff():
        img = tf.numpy_function(lambda b: _pil_decode(b, channels), [contents], tf.uint8,
                                stateful=False)
        return tf.cast(tf.reshape(img, tf.stack([tf.shape(img)[0], tf.shape(img)[1], channels])),
                       tf.float32)

    def _palette():
        rgb = decode_indexed_bmp(contents)
        return tf.image.rgb_to_grayscale(rgb) if channels == 1 else rgb

    def _not_tiff():
        img = tf.cond(is_indexed_bmp(contents), _palette, _tf) if maybe_bmp else _tf()
        return img if native else tf.ensure_shape(img, [None, None, channels])

    if isinstance(is_tiff, bool):
        img = _tiff() if is_tiff else _not_tiff()
    else:
        img = tf.cond(is_tiff, _tiff, _not_tiff)
    return tf.ensure_shape(img, [None, None, None if native else channels])


def with_static_shape(x: tf.Tensor, shape) -> tf.Tensor:
    """``x`` given the static ``shape`` it has by construction: a ``Reshape`` where ``shape``
    is fully known (a builtin op of every converter, LiteRT and ONNX included, where
    ``EnsureShape`` is TensorFlow-only), else ``tf.ensure_shape`` (a run-time check that keeps
    the known dimensions).

    Example:
        >>> import tensorflow as tf
        >>> with_static_shape(tf.zeros([2, 3]), [2, 3]).shape
        TensorShape([2, 3])
    """
    shape = tf.TensorShape(shape)
    if shape.is_fully_defined():
        return tf.reshape(x, shape.as_list())
    return tf.ensure_shape(x, shape)


def match_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """Give an image of 1 or 3 channels (possibly unknown statically) ``channels`` channels:
    gray is replicated to RGB, RGB becomes luminance.

    Example:
        >>> import tensorflow as tf
        >>> match_channels(tf.ones((2, 2, 1)), 3).shape
        TensorShape([2, 2, 3])
    """
    if image.shape[-1] == channels:
        return image
    if channels == 3:
        if image.shape[-1] == 1:
            return tf.repeat(image, 3, axis=-1)
        out = tf.cond(tf.shape(image)[-1] == 1, lambda: tf.repeat(image[..., :1], 3, axis=-1),
                      lambda: image[..., :3])
    else:
        if image.shape[-1] == 3:
            return tf.image.rgb_to_grayscale(image)
        out = tf.cond(tf.shape(image)[-1] == 1, lambda: image[..., :1],
                      lambda: tf.image.rgb_to_grayscale(image[..., :3]))
    return with_static_shape(out, [*image.shape[:-1], channels])


def _reflect_index(n_out: tf.Tensor, n_in: tf.Tensor, before: tf.Tensor) -> tf.Tensor:
    """Indices into a length-``n_in`` axis that reflect it (without repeating the edge) to
    ``n_out`` entries with ``before`` entries in front; works for any pad size."""
    k = tf.range(n_out) - before
    period = tf.maximum(2 * n_in - 2, 1)
    k = tf.math.floormod(k, period)
    return tf.where(k >= n_in, period - k, k)


def resize_image(image: tf.Tensor, size: tuple[int, int], *, mode: str = "stretch",
                 padding_mode: str = "zeros", interpolation: str = "bilinear") -> tf.Tensor:
    """Resize one image to ``size = (height, width)`` with a choice of aspect handling.

    Paper: seed 004's fastai ``transform(size=..., padding_mode='reflection')``.

    Args:
        image: float tensor ``(h, w, c)``.
        size: (int, int). Target height and width.
        mode: ``"stretch"`` (ignore aspect), ``"pad"`` (fit inside, keep aspect, pad the rest)
            or ``"crop"`` (cover, keep aspect, centre crop).
        padding_mode: ``"zeros"`` or ``"reflection"`` (mirror the image into the padding).
        interpolation: a ``tf.image.resize`` method name, e.g. ``"bilinear"``.

    Returns:
        A float32 tensor ``(height, width, c)``.

    Example:
        >>> import tensorflow as tf
        >>> resize_image(tf.ones((4, 8, 1)), (8, 8), mode="pad", padding_mode="reflection").shape
        TensorShape([8, 8, 1])
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}. Received: mode={mode!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}. "
                         f"Received: padding_mode={padding_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    th, tw = int(size[0]), int(size[1])
    image = tf.convert_to_tensor(image, tf.float32)
    if image.shape[0] == th and image.shape[1] == tw:
        return image
    if mode == "stretch":
        return with_static_shape(_resize(image, (th, tw), interpolation),
                                 [th, tw, image.shape[-1]])
    h = tf.cast(tf.shape(image)[0], tf.float32)
    w = tf.cast(tf.shape(image)[1], tf.float32)
    scale = (tf.minimum if mode == "pad" else tf.maximum)(th / h, tw / w)
    nh = tf.clip_by_value(tf.cast(tf.round(h * scale), tf.int32), 1, 1 << 30)
    nw = tf.clip_by_value(tf.cast(tf.round(w * scale), tf.int32), 1, 1 << 30)
    if mode == "pad":
        nh, nw = tf.minimum(nh, th), tf.minimum(nw, tw)
    resized = _resize(image, tf.stack([nh, nw]), interpolation)
    if mode == "crop":
        top, left = (nh - th) // 2, (nw - tw) // 2
        out = resized[top:top + th, left:left + tw]
        return with_static_shape(out, [th, tw, image.shape[-1]])
    top, left = (th - nh) // 2, (tw - nw) // 2
    if padding_mode == "zeros":
        out = tf.image.pad_to_bounding_box(resized, top, left, th, tw)
    else:
        rows = _reflect_index(th, nh, top)
        cols = _reflect_index(tw, nw, left)
        out = tf.gather(tf.gather(resized, rows, axis=0), cols, axis=1)
    return with_static_shape(out, [th, tw, image.shape[-1]])


def to_grayscale(image: tf.Tensor, keep_channels: bool = True) -> tf.Tensor:
    """Luminance of an RGB image (ITU-R 601), replicated to 3 channels when ``keep_channels``.

    Paper: seed 000 converts the invoice photos to grayscale before training.

    Args:
        image: float tensor ``(..., h, w, c)``; with ``c == 1`` it is returned as is.
        keep_channels: bool. Replicate the luminance to the input's channel count.

    Returns:
        A float tensor with 1 or ``c`` channels.

    Example:
        >>> import tensorflow as tf
        >>> float(to_grayscale(tf.constant([[[255., 0., 0.]]]))[0, 0, 1])  # doctest: +ELLIPSIS
        76.2...
    """
    if image.shape[-1] == 1:
        return image
    gray = tf.image.rgb_to_grayscale(image)
    return tf.repeat(gray, image.shape[-1], axis=-1) if keep_channels else gray


def decode_image_rgba(contents: tf.Tensor) -> tf.Tensor:
    """Decode encoded image bytes to float32 RGBA ``(h, w, 4)`` (0-255), as PIL's
    ``convert("RGBA")``: gray is replicated, a missing alpha channel is opaque (255).

    Example:
        >>> import tensorflow as tf
        >>> png = tf.io.encode_png(tf.zeros((2, 3, 1), tf.uint8))
        >>> [int(v) for v in decode_image_rgba(png)[0, 0]]
        [0, 0, 0, 255]
    """
    img = tf.cast(tf.io.decode_image(contents, channels=0, expand_animations=False), tf.float32)
    c = tf.shape(img)[-1]
    opaque = tf.fill(tf.concat([tf.shape(img)[:2], [1]], 0), 255.0)

    def gray():
        return tf.concat([tf.repeat(img[..., :1], 3, axis=-1), opaque], -1)

    def gray_alpha():
        return tf.concat([tf.repeat(img[..., :1], 3, axis=-1), img[..., 1:2]], -1)

    def rgb():
        return tf.concat([img[..., :3], opaque], -1)

    out = tf.switch_case(tf.minimum(c, 4) - 1, [gray, gray_alpha, rgb, lambda: img[..., :4]])
    return tf.ensure_shape(out, [None, None, 4])


def decode_reduced(contents: tf.Tensor, need: tuple[int, int], channels: int,
                   keep_gray: bool = False, ratio: int | None = None,
                   nearest: bool = False) -> tf.Tensor:
    """Decode an image, a JPEG at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling) when the reduced
    image is still at least ``need = (height, width)``; other formats as :func:`decode_image`.

    Faster (a 1/2-scale decode reads a quarter of the pixels) but not pixel-exact: libjpeg's
    scaled IDCT averages each 2 x 2 (4 x 4, 8 x 8) block, so the result equals a full decode
    followed by a box filter, not by the resize the flow then applies. Resizing the reduced page
    to ``need`` differs from resizing the full page by about 1-2 grey levels per pixel with
    antialiased filters; with ``nearest`` it picks other pixels.

    ``ratio`` (1, 2, 4 or 8) fixes the scale when the caller knows it for every file (a flow
    reads the headers): the bytes must then be a JPEG, and no per-file choice is made. With it,
    ``nearest=True`` also resizes to ``need`` with ``nearest`` (the pixels of
    ``tf.image.resize``), on the 8-bit page before the float conversion (less memory traffic).

    Example:
        >>> import tensorflow as tf
        >>> jpg = tf.io.encode_jpeg(tf.zeros((64, 48, 1), tf.uint8))
        >>> decode_reduced(jpg, (16, 12), 1).shape
        TensorShape([16, 12, 1])
    """
    native = keep_gray and channels == 3
    if ratio is not None:
        if ratio not in (1, 2, 4, 8):
            raise ValueError(f"ratio must be 1, 2, 4 or 8. Received: ratio={ratio}")
        if channels == 1:  # a CMYK JPEG decodes to RGB only: then luminance
            img = tf.cond(
                tf.image.extract_jpeg_shape(contents)[2] == 4,
                lambda: tf.image.rgb_to_grayscale(tf.io.decode_jpeg(contents, channels=3,
                                                                    ratio=ratio)),
                lambda: tf.io.decode_jpeg(contents, channels=1, ratio=ratio))
        else:
            img = tf.io.decode_jpeg(contents, channels=0 if native else channels, ratio=ratio)
        if nearest:
            shape = tf.shape(img)
            img = tf.gather(img, _nearest_index(shape[0], need[0]), axis=0)
            img = tf.transpose(img, [1, 0, 2])  # columns as rows: whole-row gathers
            img = tf.gather(img, _nearest_index(shape[1], need[1]), axis=0)
            img = tf.transpose(img, [1, 0, 2])
        img = tf.cast(img, tf.float32)
        if native:
            img = tf.cond(tf.shape(img)[-1] <= 2, lambda: img[..., :1], lambda: img[..., :3])
        hw = list(need) if nearest else [None, None]
        return tf.ensure_shape(img, [*hw, None if native else channels])
    is_jpeg = tf.equal(tf.strings.substr(contents, 0, 3), b"\xff\xd8\xff")

    def jpeg():
        shape = tf.image.extract_jpeg_shape(contents)
        index = _jpeg_ratio(shape[0], shape[1], need)
        ch = 0 if native else channels

        def dec(r):
            if ch == 1:  # a CMYK JPEG decodes to RGB only: then luminance
                return lambda: tf.cond(
                    shape[2] == 4, lambda: tf.image.rgb_to_grayscale(tf.cast(
                        tf.io.decode_jpeg(contents, channels=3, ratio=r), tf.float32)),
                    lambda: tf.cast(tf.io.decode_jpeg(contents, channels=1, ratio=r),
                                    tf.float32))
            return lambda: tf.cast(tf.io.decode_jpeg(contents, channels=ch, ratio=r),
                                   tf.float32)

        img = tf.switch_case(index, [dec(8), dec(4), dec(2), dec(1)])
        if native:
            img = tf.cond(tf.shape(img)[-1] <= 2, lambda: img[..., :1], lambda: img[..., :3])
        return img

    img = tf.cond(is_jpeg, jpeg, lambda: decode_image(contents, channels, keep_gray=keep_gray))
    return tf.ensure_shape(img, [None, None, None if native else channels])


def _jpeg_ratio(h: tf.Tensor, w: tf.Tensor, need: tuple[int, int]) -> tf.Tensor:
    """Index into ``(8, 4, 2, 1)`` of the largest libjpeg scale denominator whose reduced page
    (``ceil(h / r) x ceil(w / r)``) still covers ``need = (height, width)``."""
    ok = [tf.logical_and((h + r - 1) // r >= need[0], (w + r - 1) // r >= need[1])
          for r in (8, 4, 2)]
    return tf.where(ok[0], 0, tf.where(ok[1], 1, tf.where(ok[2], 2, 3)))


def decode_band(contents: tf.Tensor, side: str, size: int, long: int, channels: int, *,
                keep_gray: bool = False, scale_decode: bool = True,
                ratio: int | None = None) -> tf.Tensor:
    """The half-page band of :func:`kerasdoc.generators.crops.band` (``side``, ``size``, ``long``,
    bilinear)
    from a JPEG, decoding only the rows (``top`` / ``bottom``) or columns (``left`` / ``right``)
    that the band's resize reads.

    A band reads about half the page. libjpeg stops after the last row it is asked for (the
    rest of a ``top`` band's file is not even entropy-decoded) and skips the inverse DCT of rows
    and columns it is asked to skip, so the decode costs about half of a full one for ``top``,
    less of a saving for the other sides (their skipped part is still entropy-decoded). The
    decoded part is put back in place in a page of zeros (uint8, cheap) that ``tf.image.resize``
    then resizes as the band does: its bilinear taps never reach the zeros, so the result is
    the full decode's band, bit for bit, unless ``scale_decode`` also decodes at 1/2, 1/4 or
    1/8 scale (libjpeg's DCT scaling, when the reduced page still covers the ``long x size``
    resize): then it is close, not exact (see :func:`decode_reduced`).

    Args:
        contents: scalar string tensor. JPEG bytes (callers send other formats elsewhere).
        side: ``"top"``, ``"bottom"``, ``"left"`` or ``"right"``.
        size, long: ints. The band's side and the length of the cropped axis after resizing.
        channels: 1 or 3.
        keep_gray: bool. As in :func:`decode_image`: a grayscale JPEG stays at 1 channel.
        scale_decode: bool. Also use DCT scaling when the reduced page covers the resize.
        ratio: 1, 2, 4, 8 or None. A scale known for every file (a flow reads the headers):
            no per-file choice is made.

    Returns:
        float32 ``(size, size, channels)`` (``(size, size, None)`` with ``keep_gray``).

    Example:
        >>> import tensorflow as tf
        >>> jpg = tf.io.encode_jpeg(tf.zeros((100, 80, 1), tf.uint8))
        >>> decode_band(jpg, "top", 16, 32, 1).shape
        TensorShape([16, 16, 1])
    """
    if side not in ("top", "bottom", "left", "right"):
        raise ValueError(f"side must be top, bottom, left or right. Received: side={side!r}")
    native = keep_gray and channels == 3
    ch = 0 if native else channels
    vertical = side in ("top", "bottom")
    first = side in ("top", "left")
    shape = tf.image.extract_jpeg_shape(contents)
    out_hw = (long, size) if vertical else (size, long)

    def branch(r):
        def run():
            h, w = (shape[0] + r - 1) // r, (shape[1] + r - 1) // r
            n = h if vertical else w  # the cropped axis, in decoded pixels
            # the first (last) `size` of `long` outputs read input rows up to
            # (size - 0.5) * n / long - 0.5 and the next one: decode those, plus one of margin
            k = tf.cast(tf.math.ceil((size - 0.5) * tf.cast(n, tf.float32) / long + 0.5),
                        tf.int32) + 1
            k = tf.clip_by_value(k, 1, n)
            start = 0 if first else n - k
            window = tf.stack([start, 0, k, w]) if vertical else tf.stack([0, start, h, k])
            if ch == 1:  # a CMYK JPEG decodes to RGB only: then luminance
                img = tf.cond(
                    shape[2] == 4,
                    lambda: tf.image.rgb_to_grayscale(tf.image.decode_and_crop_jpeg(
                        contents, window, channels=3, ratio=r)),
                    lambda: tf.image.decode_and_crop_jpeg(contents, window, channels=1,
                                                          ratio=r))
            else:
                img = tf.image.decode_and_crop_jpeg(contents, window, channels=ch, ratio=r)
            if native:
                img = tf.cond(tf.shape(img)[-1] <= 2, lambda: img[..., :1],
                              lambda: img[..., :3])
            pad = [[0, 0], [0, 0], [0, 0]]
            pad[0 if vertical else 1] = [0, n - k] if first else [n - k, 0]
            return tf.pad(img, pad)  # the page again, zeros where nothing is read
        return run

    if ratio is not None:
        if ratio not in (1, 2, 4, 8):
            raise ValueError(f"ratio must be 1, 2, 4 or 8. Received: ratio={ratio}")
        page = branch(ratio)()
    elif scale_decode:
        index = _jpeg_ratio(shape[0], shape[1], out_hw)
        page = tf.switch_case(index, [branch(8), branch(4), branch(2), branch(1)])
    else:
        page = branch(1)()
    img = tf.image.resize(page, out_hw, method="bilinear")  # uint8 in, float32 out, as a cast
    if vertical:
        img = img[:size] if first else img[-size:]
    else:
        img = img[:, :size] if first else img[:, -size:]
    return tf.ensure_shape(img, [size, size, None if native else channels])

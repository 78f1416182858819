"""One image-size guard for every path that decodes: what the decoder will allocate, before it does.

A decompression bomb is a small file that decodes to a huge image (a 98 kB GIF to 12000 x 12000
pixels, a 30-byte WebP to 16383 x 16383). The guard reads, without decoding, the size that
TensorFlow's (and, for TIFF, PIL's) decoder will actually allocate, and refuses an image above
one limit, :func:`max_image_pixels` (``$KERASDOC_MAX_PIXELS`` or PIL's default 89,478,485), with
one message (:func:`too_large`). The same rules run in Python (:func:`decoded_size`: the flows'
file checks, ``kerasdoc predict``) and in the TensorFlow graph (:func:`guard_encoded`: the
exported ``serving_default``), and are tested to agree on every crafted file.

What each format's decoder allocates (checked by experiment on TensorFlow 2.21):

* JPEG: the first start-of-frame marker, found the way libjpeg finds it (bytes before a marker
  skipped, fill bytes skipped); in the graph ``tf.io.extract_jpeg_shape`` (libjpeg itself).
* PNG: the IHDR chunk, which must come first (libpng refuses anything else).
* BMP: the int32 width and height at bytes 18 and 22 (a negative height is a top-down image).
* GIF: NOT the logical screen. TensorFlow decodes onto a canvas as high as the highest frame and as
  wide as the widest (a 10 x 10 screen can hold a 12000 x 12000 frame), and giflib holds every
  frame's pixels (1 byte each) at once. The guard walks every image descriptor and counts
  ``max(screen, canvas, sum of the frames' areas)``.
* TIFF (flows and ``predict`` only; PIL decodes it): the first page's ImageWidth / ImageLength;
  more than one page is refused elsewhere.
* WebP is refused everywhere (flows, ``predict``, the serving graph), with a message saying so:
  the training flows never read it, and TensorFlow's WebP decoder cannot give one channel.

Anything else, or a header the guard cannot read, is refused, not decoded.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("L", (30, 20)).save(buf, "GIF")
    >>> decoded_size(buf.getvalue())
    Decoded(fmt='gif', height=20, width=30, pixels=600, note='')
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from typing import BinaryIO

#: Largest decoded image (pixels, height x width) any path accepts: PIL's own default
#: ``Image.MAX_IMAGE_PIXELS`` (Keras 2 read images with PIL). Override with the environment
#: variable ``KERASDOC_MAX_PIXELS`` (read when a flow checks its files, when ``predict`` reads a
#: file, and when a model is exported: the serving graph keeps the limit it was exported with).
MAX_IMAGE_PIXELS = 89_478_485

#: The formats the guard knows, by magic bytes (the same tests in Python and in the graph).
FORMATS = ("jpeg", "png", "gif", "bmp", "tiff")

WEBP_REFUSED = ("WebP is not supported (kerasdoc reads JPEG, PNG, GIF, BMP and TIFF; convert it "
                "first, e.g. with PIL: Image.open(path).save(png_path))")
NOT_AN_IMAGE = "not a JPEG, PNG, GIF, BMP or TIFF image"
_HINT = "a decompression bomb? raise KERASDOC_MAX_PIXELS if the image is real"
#: A GIF may hold at most this many records and data sub-blocks shorter than 255 bytes (every
#: encoder writes full 255-byte blocks, which cost nothing); more is refused as unreadable, so a
#: file of 1-byte blocks cannot keep the graph's walk busy for minutes.
GIF_MAX_STEPS = 20_000


def max_image_pixels() -> int:
    """The pixel limit in force: ``$KERASDOC_MAX_PIXELS`` or :data:`MAX_IMAGE_PIXELS`.

    Raises:
        ValueError: ``KERASDOC_MAX_PIXELS`` is not a positive integer (the message says so).
    """
    env = os.environ.get("KERASDOC_MAX_PIXELS", "").strip()
    if not env:
        return int(MAX_IMAGE_PIXELS)
    try:
        value = int(env)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"KERASDOC_MAX_PIXELS must be a positive whole number of pixels. "
                         f"Received: {env!r}")
    return value


class UnreadableHeader(ValueError):
    """The guard cannot read the decoded size from the file's header (the file is refused)."""


@dataclass(frozen=True)
class Decoded:
    """What the decoder will allocate: ``height`` x ``width`` (the decoded image or canvas) and
    ``pixels`` (the count the limit bounds; more than ``height * width`` for a GIF whose frames
    together hold more); ``note`` says why they differ from the header's first numbers."""

    fmt: str
    height: int
    width: int
    pixels: int
    note: str = ""


def too_large(decoded: Decoded, limit: int) -> str:
    """The one message for an image above the limit (every path words it this way)."""
    note = f"; {decoded.note}" if decoded.note else ""
    return (f"image too large: {decoded.height}x{decoded.width} = {decoded.pixels:,} pixels "
            f"(height x width{note}) is above the limit of {limit:,} ({_HINT})")


def check_decoded(decoded: Decoded, limit: int | None = None) -> str | None:
    """The refusal reason for ``decoded`` (:func:`too_large`), or None when it is within the
    limit (``limit`` defaults to :func:`max_image_pixels`)."""
    limit = max_image_pixels() if limit is None else int(limit)
    return too_large(decoded, limit) if decoded.pixels > limit else None


# --------------------------------------------------------------------------------------------
# Python readers (a file object or bytes; headers only)
# --------------------------------------------------------------------------------------------

def sniff_format(head: bytes) -> str:
    """``"jpeg"``, ``"png"``, ``"gif"``, ``"bmp"``, ``"tiff"``, ``"webp"`` or ``""`` from the
    first 12 bytes (the graph's :func:`guard_encoded` classifies the same way)."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return ""


def decoded_size(source: bytes | BinaryIO) -> Decoded:
    """What the decoder will allocate for an encoded image (bytes or a binary file object),
    read from its headers only.

    Raises:
        UnreadableHeader: not a format the guard knows (WebP: :data:`WEBP_REFUSED`), or a
            header it cannot read.
    """
    f = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
    f.seek(0)
    head = f.read(32)
    fmt = sniff_format(head)
    if fmt == "webp":
        raise UnreadableHeader(WEBP_REFUSED)
    if not fmt:
        raise UnreadableHeader(f"{NOT_AN_IMAGE} (starts with {head[:12].hex()})")
    reader = {"jpeg": _jpeg, "png": _png, "gif": _gif, "bmp": _bmp, "tiff": _tiff}[fmt]
    return reader(f, head)


def _plain(fmt: str, h: int, w: int) -> Decoded:
    return Decoded(fmt, int(h), int(w), int(h) * int(w))


def _png(f: BinaryIO, head: bytes) -> Decoded:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise UnreadableHeader("PNG without its IHDR chunk first (the size cannot be read)")
    return _plain("png", int.from_bytes(head[20:24], "big"), int.from_bytes(head[16:20], "big"))


def _bmp(f: BinaryIO, head: bytes) -> Decoded:
    if len(head) < 26:
        raise UnreadableHeader(f"BMP header of {len(head)} bytes (the size cannot be read)")
    if int.from_bytes(head[14:18], "little") < 40:  # TensorFlow reads Windows headers only
        raise UnreadableHeader("BMP with an OS/2 core header (the decoder reads the size at the "
                               "offsets of a Windows BMP header: the size cannot be read)")
    w = abs(int.from_bytes(head[18:22], "little", signed=True))
    return _plain("bmp", abs(int.from_bytes(head[22:26], "little", signed=True)), w)


def _jpeg(f: BinaryIO, head: bytes) -> Decoded:
    """The first SOF as libjpeg's ``next_marker`` finds it: bytes before a 0xFF are skipped
    (libjpeg warns "extraneous bytes" and goes on), 0xFF fill bytes are skipped."""
    f.seek(2)
    buf, pos = f.read(4096), 0

    def byte() -> int:
        nonlocal buf, pos
        if pos >= len(buf):
            buf, pos = f.read(4096), 0
            if not buf:
                raise UnreadableHeader("JPEG without a start-of-frame marker (the size cannot "
                                       "be read)")
        pos += 1
        return buf[pos - 1]

    def take(n: int) -> bytes:
        return bytes(byte() for _ in range(n))

    for _ in range(100_000):
        c = byte()
        while c != 0xFF:  # extraneous bytes before a marker
            nxt = buf.find(b"\xff", pos)
            pos = len(buf) if nxt < 0 else nxt
            c = byte()
        while c == 0xFF:
            c = byte()
        if c == 0x00 or 0xD0 <= c <= 0xD7 or c == 0x01:  # stuffed zero, RSTn, TEM: no length
            continue
        if c in (0xD8, 0xD9, 0xDA):  # SOI again, EOI or SOS before any frame: libjpeg fails
            break
        length = int.from_bytes(take(2), "big")
        if 0xC0 <= c <= 0xCF and c not in (0xC4, 0xC8, 0xCC):
            sof = take(5)
            return _plain("jpeg", int.from_bytes(sof[1:3], "big"), int.from_bytes(sof[3:5], "big"))
        if length < 2:
            break
        skip = length - 2
        if pos + skip <= len(buf):
            pos += skip
        else:
            f.seek(skip - (len(buf) - pos), 1)
            buf, pos = b"", 0
    raise UnreadableHeader("JPEG without a start-of-frame marker (the size cannot be read)")


def _gif(f: BinaryIO, head: bytes) -> Decoded:
    """Every image descriptor (giflib holds every frame; TensorFlow's canvas is the largest
    frame, not the logical screen)."""
    f.seek(0)
    data = f.read()
    return _gif_result(*_walk_gif(data))


def _walk_gif(data: bytes) -> tuple[int, int, int, int, int, int, bool]:
    n = len(data)
    if n < 13:
        return 0, 0, 0, 0, 0, 0, False
    sw, sh, flags = (int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little"),
                     data[10])
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    total = max_w = max_h = frames = steps = 0
    in_blocks = False
    while pos < n:
        b = data[pos]
        if in_blocks and b == 255:  # a full data sub-block: free
            pos += 256
            continue
        steps += 1
        if steps > GIF_MAX_STEPS:
            return sw, sh, max_w, max_h, total, frames, False
        if in_blocks:
            pos += 1 + b
            in_blocks = b != 0
        elif b == 0x2C:
            d = data[pos:pos + 10].ljust(10, b"\0")
            fw, fh = int.from_bytes(d[5:7], "little"), int.from_bytes(d[7:9], "little")
            total += fw * fh
            max_w, max_h, frames = max(max_w, fw), max(max_h, fh), frames + 1
            pos += 11 + (3 << ((d[9] & 7) + 1) if d[9] & 0x80 else 0)
            in_blocks = True
        elif b == 0x21:
            pos += 2
            in_blocks = True
        elif b == 0x3B:
            break
        else:
            return sw, sh, max_w, max_h, total, frames, False
    return sw, sh, max_w, max_h, total, frames, True


def _gif_result(sw, sh, max_w, max_h, total, frames, ok) -> Decoded:
    if not ok:
        raise UnreadableHeader(f"GIF with an unknown block or more than {GIF_MAX_STEPS:,} short "
                               "blocks (its frames cannot be read)")
    if frames == 0:
        raise UnreadableHeader("GIF without any image (nothing to decode)")
    pixels = max(sw * sh, max_w * max_h, total)
    if pixels == max_w * max_h and (max_w, max_h) == (sw, sh):
        return Decoded("gif", max_h, max_w, pixels)
    if pixels == sw * sh:
        return Decoded("gif", sh, sw, pixels)
    note = (f"{frames} frames of up to that size, all held by the decoder"
            if pixels == total and frames > 1
            else f"the GIF logical screen says {sh}x{sw}; a frame is larger")
    return Decoded("gif", max_h, max_w, pixels, note)


def _tiff(f: BinaryIO, head: bytes) -> Decoded:
    """The first page's ImageLength x ImageWidth (what PIL decodes); BigTIFF is refused."""
    endian = "little" if head[:2] == b"II" else "big"
    f.seek(4)
    f.seek(int.from_bytes(f.read(4), endian))
    raw = f.read(2)
    count = int.from_bytes(raw, endian) if len(raw) == 2 else 0
    entries = f.read(12 * count)
    size = {}
    for i in range(0, len(entries) - 11, 12):
        tag, typ = int.from_bytes(entries[i:i + 2], endian), int.from_bytes(entries[i + 2:i + 4],
                                                                            endian)
        if tag in (256, 257) and typ in (3, 4):  # SHORT or LONG
            value = entries[i + 8:i + 10] if typ == 3 else entries[i + 8:i + 12]
            size[tag] = int.from_bytes(value, endian)
    if 256 not in size or 257 not in size:
        raise UnreadableHeader("TIFF without ImageWidth / ImageLength in its first directory")
    return _plain("tiff", size[257], size[256])


# --------------------------------------------------------------------------------------------
# PIL, never unguarded
# --------------------------------------------------------------------------------------------

_PIL_LOCK = threading.Lock()


def open_with_pil(data: bytes, name: str = "image"):
    """``PIL.Image.open`` of encoded bytes after the guard, so that PIL's own
    ``DecompressionBombWarning`` / ``Error`` never reach the user: the image is refused with
    :func:`too_large` (``ValueError``) first; with ``KERASDOC_MAX_PIXELS`` above PIL's limit,
    PIL's check is lifted for this open only."""
    from PIL import Image

    limit = max_image_pixels()
    reason = check_decoded(decoded_size(data), limit)
    if reason:
        raise ValueError(f"{name}: {reason}")
    pil_limit = Image.MAX_IMAGE_PIXELS
    if pil_limit is None or limit <= pil_limit:
        return Image.open(io.BytesIO(data))
    with _PIL_LOCK:
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(io.BytesIO(data))
        finally:
            Image.MAX_IMAGE_PIXELS = pil_limit


# --------------------------------------------------------------------------------------------
# The same guard in the TensorFlow graph (serving)
# --------------------------------------------------------------------------------------------

def decoded_size_graph(data):
    """:func:`decoded_size` as TensorFlow ops on a scalar ``tf.string``: ``(code, height, width,
    pixels, note)``, int64 scalars and a string; ``code`` is 0 (read), 1 (not an image), 2
    (WebP), 3 (header unreadable) or 4 (TIFF: the serving graph does not decode it)."""
    import tensorflow as tf

    data = tf.convert_to_tensor(data, tf.string)
    padded = tf.strings.join([tf.strings.substr(data, 0, 32), b"\0" * 32])  # the header only
    b = tf.cast(tf.io.decode_raw(tf.strings.substr(padded, 0, 32), tf.uint8), tf.int64)

    def le(i, n, src=b):
        value = tf.constant(0, tf.int64)
        for k in reversed(range(n)):
            value = value * 256 + src[i + k]
        return value

    def be32(i):
        return ((b[i] * 256 + b[i + 1]) * 256 + b[i + 2]) * 256 + b[i + 3]

    def out(code, h, w, pixels=None, note=""):
        h, w = tf.cast(h, tf.int64), tf.cast(w, tf.int64)
        return (tf.constant(code, tf.int64), h, w, h * w if pixels is None else pixels,
                tf.constant(note) if isinstance(note, str) else note)

    def signed_abs(v):  # an int32 read as unsigned, made absolute
        return tf.where(v >= 2**31, 2**32 - v, v)

    def png():
        ihdr = tf.equal(tf.strings.substr(padded, 12, 4), b"IHDR")
        return tf.cond(ihdr, lambda: out(0, be32(20), be32(16)), lambda: out(3, 0, 0))

    def jpeg():
        shape = tf.cast(tf.io.extract_jpeg_shape(data), tf.int64)  # libjpeg reads the header
        return out(0, shape[0], shape[1])

    def gif():
        return _gif_graph(data, b, le)

    def bmp():
        return tf.cond(le(14, 4) < 40, lambda: out(3, 0, 0),
                       lambda: out(0, signed_abs(le(22, 4)), signed_abs(le(18, 4))))

    s = tf.strings.substr
    tests = [
        (tf.equal(s(padded, 0, 3), b"\xff\xd8\xff"), jpeg),
        (tf.equal(s(padded, 0, 8), b"\x89PNG\r\n\x1a\n"), png),
        (tf.logical_or(tf.equal(s(padded, 0, 6), b"GIF87a"), tf.equal(s(padded, 0, 6), b"GIF89a")),
         gif),
        (tf.equal(s(padded, 0, 2), b"BM"), bmp),
        (tf.logical_or(tf.equal(s(padded, 0, 4), b"II*\0"), tf.equal(s(padded, 0, 4), b"MM\0*")),
         lambda: out(4, 0, 0)),
        (tf.logical_and(tf.equal(s(padded, 0, 4), b"RIFF"), tf.equal(s(padded, 8, 4), b"WEBP")),
         lambda: out(2, 0, 0)),
    ]
    return tf.case(tests, default=lambda: out(1, 0, 0), exclusive=True)


def _gif_graph(data, b, le):
    """:func:`_walk_gif` + :func:`_gif_result` as a ``tf.while_loop``: one record or short
    sub-block per step, or a jump over up to 65 full (255-byte) sub-blocks."""
    import tensorflow as tf

    arr = tf.cast(tf.io.decode_raw(data, tf.uint8), tf.int64)  # the one copy of the file
    n = tf.size(arr, out_type=tf.int64)
    sw, sh, flags = le(6, 2), le(8, 2), b[10]

    def at(idx):  # bytes at positions idx (0 past the end)
        return tf.where(idx < n, tf.gather(arr, tf.minimum(idx, tf.maximum(n - 1, 0))),
                        tf.zeros_like(idx))

    def table(fl):  # the size of a colour table announced by a flags byte
        return tf.where(fl >= 128, 3 * tf.bitwise.left_shift(tf.constant(2, tf.int64), fl % 8),
                        tf.constant(0, tf.int64))

    zero = tf.constant(0, tf.int64)
    ten, probes = tf.range(10, dtype=tf.int64), 256 * tf.range(1, 65, dtype=tf.int64)
    init = (13 + table(flags), tf.constant(False), zero, zero, zero, zero, zero, zero)

    def cond(pos, in_blocks, total, max_w, max_h, frames, steps, state):
        return tf.logical_and(tf.equal(state, 0), pos < n)

    def body(pos, in_blocks, total, max_w, max_h, frames, steps, state):
        d = at(pos + ten)
        rec = d[0]
        full = tf.logical_and(in_blocks, tf.equal(rec, 255))
        # full sub-blocks: jump past this one and the full ones that follow it (up to 64)
        more = tf.reduce_sum(tf.math.cumprod(tf.cast(tf.equal(at(pos + probes), 255), tf.int64)))
        fw, fh = d[5] + 256 * d[6], d[7] + 256 * d[8]
        step = tf.logical_not(full)
        image = tf.logical_and(tf.logical_not(in_blocks), tf.equal(rec, 0x2C))
        ext = tf.logical_and(tf.logical_not(in_blocks), tf.equal(rec, 0x21))
        end = tf.logical_and(tf.logical_not(in_blocks), tf.equal(rec, 0x3B))
        bad = tf.logical_not(tf.reduce_any(tf.stack([in_blocks, image, ext, end])))
        steps = steps + tf.cast(step, tf.int64)
        new_pos = tf.where(full, pos + 256 * (1 + more),
                           tf.where(in_blocks, pos + 1 + rec,
                                    tf.where(image, pos + 11 + table(d[9]), pos + 2)))
        new_in = tf.where(in_blocks, tf.not_equal(rec, 0), tf.logical_or(image, ext))
        image = tf.logical_and(image, steps <= GIF_MAX_STEPS)
        state = tf.where(steps > GIF_MAX_STEPS, tf.constant(2, tf.int64),
                         tf.where(end, tf.constant(1, tf.int64),
                                  tf.where(bad, tf.constant(2, tf.int64), zero)))
        return (new_pos, new_in, total + tf.where(image, fw * fh, zero),
                tf.where(image, tf.maximum(max_w, fw), max_w),
                tf.where(image, tf.maximum(max_h, fh), max_h),
                frames + tf.cast(image, tf.int64), steps, state)

    most = tf.cast(GIF_MAX_STEPS + 2 + n // (256 * 65), tf.int32)  # never reached: a bound
    pos, in_blocks, total, max_w, max_h, frames, steps, state = tf.while_loop(
        cond, body, init, maximum_iterations=most)
    unreadable = tf.logical_or(tf.equal(state, 2), tf.equal(frames, 0))
    canvas = max_w * max_h
    pixels = tf.maximum(tf.maximum(sw * sh, canvas), total)
    plain = tf.logical_and(tf.equal(pixels, canvas),
                           tf.logical_and(tf.equal(max_w, sw), tf.equal(max_h, sh)))
    screen = tf.logical_and(tf.logical_not(plain), tf.equal(pixels, sw * sh))
    all_frames = tf.logical_and(tf.equal(pixels, total), frames > 1)
    note = tf.where(tf.logical_or(plain, screen), tf.constant(""),
                    tf.where(all_frames,
                             tf.strings.format("{} frames of up to that size, all held by "
                                               "the decoder", frames),
                             tf.strings.format("the GIF logical screen says {}x{}; a frame is "
                                               "larger", [sh, sw])))
    h, w = tf.where(screen, sh, max_h), tf.where(screen, sw, max_w)
    code = tf.where(unreadable, tf.constant(3, tf.int64), tf.constant(0, tf.int64))
    return code, h, w, pixels, note


def _thousands(n):
    """An int64 scalar as text with thousands separators, as Python's ``f"{n:,}"``."""
    import tensorflow as tf

    groups = [tf.strings.as_string(n // 10**k % 1000, width=3, fill="0")
              for k in range(18, -1, -3)]
    text = tf.strings.regex_replace(tf.strings.reduce_join(groups, separator=","), "^[0,]*", "")
    return tf.where(tf.equal(text, ""), tf.constant("0"), text)


def guard_encoded(data, limit: int | None = None):
    """``data`` (a scalar ``tf.string`` of encoded image bytes) with a control dependency on the
    guard: an ``InvalidArgumentError`` carrying :func:`too_large`'s message (or the refusal of
    WebP, a non-image, an unreadable header) instead of a decode. ``limit`` defaults to
    :func:`max_image_pixels` when the graph is traced."""
    import tensorflow as tf

    limit = max_image_pixels() if limit is None else int(limit)
    code, h, w, pixels, note = decoded_size_graph(data)
    note = tf.where(tf.equal(note, ""), note, tf.strings.join(["; ", note]))
    big = tf.strings.join([
        "image too large: ", tf.strings.as_string(h), "x", tf.strings.as_string(w), " = ",
        _thousands(pixels), " pixels (height x width", note, f") is above the limit of "
        f"{limit:,} ({_HINT}; the serving graph keeps the limit it was exported with)"])
    messages = tf.stack([
        big, tf.constant("not a JPEG, PNG, GIF or BMP image (the formats the serving graph "
                         "decodes)"),
        tf.constant(WEBP_REFUSED.replace("GIF, BMP and TIFF", "GIF and BMP")),
        tf.constant("the header of the image cannot be read (its decoded size is unknown), so "
                    "it is not decoded"),
        tf.constant("TIFF is not decoded by the serving graph (it decodes JPEG, PNG, GIF and "
                    "BMP)")])
    ok = tf.logical_and(tf.equal(code, 0), pixels <= limit)
    check = tf.debugging.Assert(ok, [tf.gather(messages, code)], summarize=1)
    with tf.control_dependencies([check]):
        return tf.identity(data)


__all__ = ["FORMATS", "MAX_IMAGE_PIXELS", "Decoded", "UnreadableHeader", "check_decoded",
           "decoded_size", "decoded_size_graph", "guard_encoded", "max_image_pixels",
           "open_with_pil", "sniff_format", "too_large"]

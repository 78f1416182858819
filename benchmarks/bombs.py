"""Crafted decompression bombs, and the peak memory of a serving call on each.

Every file here is small and decodes (or declares that it decodes) to a huge image. The
``declares small, decodes huge`` ones get around a check that reads only the first header
numbers: a GIF whose logical screen is 10 x 10 holds a 12000 x 12000 frame (TensorFlow's canvas
is the largest frame); two thin frames make a 12000 x 12000 canvas; an honest 9000 x 9000 GIF of
10 frames makes giflib hold 810 million pixels; a 30-byte lossless WebP is 16383 x 16383; a JPEG
with two stray bytes before its start-of-frame marker hid its size from the old Python reader.
The ``plain`` ones declare their huge size.

Usage::

    python -m benchmarks.bombs write DIR                  # the crafted files
    flock /tmp/kd-heavy.lock python -m benchmarks.bombs peak --code-root ROOT [--out J.json]

``peak`` exports a small RGB model with the code under ``ROOT`` (a checkout: before / after),
then, for each file, a fresh process loads the SavedModel, calls ``serving_default`` on a small
PNG (the baseline), then on the file, and reports the growth of its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and whether the call was refused.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------

def _lzw_constant(n_pixels: int, min_code: int = 2) -> bytes:
    """GIF LZW data for ``n_pixels`` of colour 0: each code is the longest run so far, so the
    codes cover 1, 2, 3 ... pixels (about 1,400 pixels a byte once the table is full)."""
    clear, eoi = 1 << min_code, (1 << min_code) + 1
    out, acc, nbits = bytearray(), 0, 0
    width, next_code, run_len, left = min_code + 1, eoi + 1, 1, n_pixels

    def emit(code: int) -> None:
        nonlocal acc, nbits
        acc |= code << nbits
        nbits += width
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8

    emit(clear)
    while left > 0:
        k = min(run_len, left)
        emit(0 if k == 1 else eoi + k - 1)
        left -= k
        if next_code >= (1 << width) and width < 12:
            width += 1
        if left == 0:
            break
        if next_code < 4095:  # the decoder adds the run one longer
            run_len += k == run_len
            next_code += 1
        else:
            emit(clear)
            width, next_code, run_len = min_code + 1, eoi + 1, 1
    emit(eoi)
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def gif(screen: tuple[int, int], frames: list[tuple[int, ...]]) -> bytes:
    """A GIF with logical screen ``(width, height)`` and one black frame per ``(width, height[,
    left, top])``."""
    body = bytearray(b"GIF89a" + struct.pack("<HHBBB", *screen, 0x81, 0, 0))
    body += bytes([0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0])  # 4-colour global table
    for fr in frames:
        fw, fh, left, top = (*fr, 0, 0)[:4]
        body += b"\x2c" + struct.pack("<HHHHB", left, top, fw, fh, 0) + b"\x02"
        data = _lzw_constant(fw * fh)
        for i in range(0, len(data), 255):
            body += bytes([len(data[i:i + 255])]) + data[i:i + 255]
        body += b"\x00"
    return bytes(body + b"\x3b")


def png(width: int, height: int) -> bytes:
    """A 1-bit black PNG (about 1,000:1 compressed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row, z = b"\0" * (1 + (width + 7) // 8), zlib.compressobj(9)
    raw = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0,
                                                              0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def jpeg(width: int, height: int, stray: bytes = b"") -> bytes:
    """A black baseline grayscale JPEG whose Huffman codes are one bit each (2 bits a block);
    ``stray`` bytes go before the start-of-frame marker (libjpeg skips them with a warning)."""
    def seg(marker: int, data: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data

    one_code = bytes([1] + [0] * 15)
    blocks = -(-height // 8) * -(-width // 8)
    return (b"\xff\xd8" + seg(0xDB, b"\x00" + b"\x01" * 64) + stray
            + seg(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
            + seg(0xC4, b"\x00" + one_code + b"\x00") + seg(0xC4, b"\x10" + one_code + b"\x00")
            + seg(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\0" * -(-blocks // 4) + b"\xff\xd9")


def bmp(width: int, height: int) -> bytes:
    """A 24-bit BMP header declaring ``width x height`` with almost no pixel data."""
    body = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    data = b"\0" * 64
    size = 14 + len(body) + len(data)
    return b"BM" + struct.pack("<IHHI", size, 0, 0, 54) + body + data


def tiff(width: int, height: int) -> bytes:
    """An 8-bit grayscale TIFF header declaring ``width x height`` with one strip of 64 bytes
    (PIL reads the size without decoding)."""
    entries = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
               (273, 4, 8 + 2 + 12 * 9 + 4), (277, 3, 1), (278, 4, height), (279, 4, 64)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3
                                              else struct.pack("<I", value))
        for tag, kind, value in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0" * 64


def webp_lossless(width: int, height: int) -> bytes:
    """A lossless (VP8L) WebP whose five prefix codes have one symbol each: 0 bits a pixel."""
    bits = nb = 0

    def put(value: int, n: int) -> None:
        nonlocal bits, nb
        bits, nb = bits | value << nb, nb + n

    put(0x2F, 8), put(width - 1, 14), put(height - 1, 14), put(0, 1), put(0, 3)
    put(0, 3)  # no transform, no colour cache, no meta prefix codes
    for symbol, wide in ((0, False), (0, False), (0, False), (255, True), (0, False)):
        put(1, 1), put(0, 1), put(int(wide), 1), put(symbol, 8 if wide else 1)
    data = bits.to_bytes((nb + 7) // 8, "little")
    data += b"\0" * (len(data) % 2)
    chunk = b"VP8L" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


#: name -> (what it is, builder). "declares small" files get around a first-header check.
CASES = {
    "gif_screen_10x10_frame_12000x12000": (
        "GIF, logical screen 10x10, one 12000x12000 frame (declares small)",
        lambda: gif((10, 10), [(12000, 12000)])),
    "gif_two_thin_frames": (
        "GIF, screen 10x10, frames 12000x1 and 1x12000: a 12000x12000 canvas (declares small)",
        lambda: gif((10, 10), [(12000, 1), (1, 12000)])),
    "gif_10_frames_9000x9000": (
        "GIF, screen and 10 frames of 9000x9000 (81M pixels each, 810M held; declares 81M)",
        lambda: gif((9000, 9000), [(9000, 9000)] * 10)),
    "webp_lossless_16383x16383": (
        "lossless WebP (VP8L) 16383x16383 (header never read before)",
        lambda: webp_lossless(16383, 16383)),
    "jpeg_stray_bytes_10000x10000": (
        "JPEG 10000x10000 with 2 stray bytes before its SOF (the Python reader gave up)",
        lambda: jpeg(10000, 10000, stray=b"\0\0")),
    "png_1bit_30000x30000": ("PNG 1-bit 30000x30000 (plain, declares it)",
                             lambda: png(30000, 30000)),
    "gif_plain_12000x12000": ("GIF, screen and frame 12000x12000 (plain)",
                              lambda: gif((12000, 12000), [(12000, 12000)])),
    "jpeg_plain_10000x10000": ("JPEG 10000x10000 (plain)", lambda: jpeg(10000, 10000)),
    "bmp_plain_20000x20000": ("BMP header 20000x20000, 64 bytes of pixels (plain)",
                              lambda: bmp(20000, 20000)),
}


def write(out: str | Path, names=None) -> dict[str, Path]:
    """Write the crafted files (``name.bin``) under ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names or CASES:
        paths[name] = out / f"{name}.bin"
        paths[name].write_bytes(CASES[name][1]())
    return paths


# --------------------------------------------------------------------------------------------
# Peak memory of a serving call
# --------------------------------------------------------------------------------------------

_EXPORT = """
import sys, keras
from kerasdoc.export import export_for_serving
from kerasdoc.generators.spec import ImageSpec
keras.utils.set_random_seed(0)
inp = keras.Input((32, 32, 3))
x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(inp))
model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))
print(export_for_serving(model, "bombs", sys.argv[1], class_names=["a", "b", "c"],
                         spec=ImageSpec((32, 32), "rgb")))
"""

_PEAK = """
import io, json, resource, sys, time, warnings
import numpy as np, tensorflow as tf
from PIL import Image
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
buf = io.BytesIO(); Image.fromarray(np.full((64, 48, 3), 200, np.uint8)).save(buf, "PNG")
serve(images=tf.constant([buf.getvalue()]))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = open(sys.argv[2], "rb").read()
t = time.perf_counter()
try:
    serve(images=tf.constant([data])); outcome, msg = "decoded", ""
except tf.errors.InvalidArgumentError as e:
    outcome, msg = "refused", e.message.split("\\n")[0]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"bytes": len(data), "baseline_mb": base // 1024, "peak_mb": peak // 1024,
                  "growth_mb": (peak - base) // 1024, "seconds": round(time.perf_counter() - t, 2),
                  "outcome": outcome, "message": msg[:300]}))
"""


def peak(code_root: str | Path, names=None, timeout: float = 300) -> dict:
    """Export with the code under ``code_root``, then measure each crafted file's serving call
    in a fresh process. Returns ``{name: {bytes, baseline_mb, peak_mb, growth_mb, seconds,
    outcome, message}}``."""
    env = dict(os.environ, PYTHONPATH=str(Path(code_root).resolve()), TF_CPP_MIN_LOG_LEVEL="3")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        saved = subprocess.run([sys.executable, "-c", _EXPORT, f"{tmp}/models"], env=env,
                               capture_output=True, text=True, check=True,
                               cwd=tmp).stdout.strip().splitlines()[-1]
        files = write(f"{tmp}/files", names)
        for name, path in files.items():
            try:
                run = subprocess.run([sys.executable, "-c", _PEAK, saved, str(path)], env=env,
                                     capture_output=True, text=True, timeout=timeout, cwd=tmp)
                results[name] = (json.loads(run.stdout.strip().splitlines()[-1]) if
                                 run.returncode == 0 else
                                 {"outcome": f"crashed (exit {run.returncode})",
                                  "message": run.stderr.strip().splitlines()[-1:]})
            except subprocess.TimeoutExpired:
                results[name] = {"outcome": f"timed out after {timeout} s"}
            print(name, json.dumps(results[name]), flush=True)
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("out")
    p = sub.add_parser("peak")
    p.add_argument("--code-root", default=".")
    p.add_argument("--out")
    p.add_argument("--only", nargs="*")
    args = parser.parse_args(argv)
    if args.cmd == "write":
        for name, path in write(args.out).items():
            print(f"{path}\t{path.stat().st_size}\t{CASES[name][0]}")
        return
    results = peak(args.code_root, args.only)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

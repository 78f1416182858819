"""MNIST-C corruptions: identity and the 15 corruptions of Mu & Gilmer (2019), vectorised, seeded.

Paper: Gutierrez & Sze, "How Deep Can We Go? A Case Study on Image Classification" (2023) take
their distorted digits from MNIST-C (Mu & Gilmer, "MNIST-C: A Robustness Benchmark for Computer
Vision", 2019; TensorFlow Datasets ``mnist_corrupted/<name>``). MNIST-C cannot be downloaded on
every machine, so this module re-implements its definitions (kerasdoc's own code) and applies
them to any grayscale digit set (white ink on black, as MNIST), at any size:

* each corruption uses the parameters of the published definition at the severity MNIST-C was
  built with (:data:`MNIST_C_SEVERITY`); the severity-1..5 tables of the definition are kept
  (:data:`SEVERITY_TABLES`) for the corruptions that have one;
* every function works on a whole batch at once with NumPy / SciPy (one random draw per image,
  from one ``numpy.random.Generator``): seeded, reproducible, and much faster than a per-image
  Python loop (``benchmark_corruptions``);
* geometric parameters are defined at 28x28: an image of another size scales them by
  ``min(height, width) / 28`` (blur radii, line widths, shifts), so a 56x56 digit corrupts like a
  28x28 one seen twice as large;
* ``uint8`` input gives ``uint8`` output (rounded, as MNIST-C stores it); float input is read in
  [0, 1] (or [0, 255] with ``value_range=255``) and returned in the same range as float32.

Use it standalone (:func:`corrupt`, :func:`corrupt_mixed`), as an ``ImageDataGenerator``
``preprocessing_function`` (:class:`CorruptionAugment`), or as a dataset of (noisy, clean) pairs
for denoising autoencoders (:func:`corruption_pair_dataset`); :func:`plot_gallery` draws the
paper's Figure 2.

Where the definitions lean on libraries this package does not use, the same operation is written
out here: ImageMagick's motion blur (a one-sided Gaussian line kernel of ``2 * radius + 1`` taps
along a random angle), scikit-image's ``AffineTransform`` (its 2019 shear convention
``[[1, -sin s], [0, cos s]]``) and bilinear ``warp`` with zero fill, scikit-image's Canny
(Gaussian smoothing with edge compensation, Sobel gradients, interpolated non-maximum
suppression, hysteresis at 0.1 / 0.2).

Example:
    >>> import numpy as np
    >>> x = np.zeros((4, 28, 28), np.uint8); x[:, 8:20, 12:16] = 255
    >>> y = corrupt(x, "shot_noise", seed=0)
    >>> y.shape, y.dtype.name, bool((corrupt(x, "shot_noise", seed=0) == y).all())
    ((4, 28, 28), 'uint8', True)
    >>> corrupt(x, "stripe")[0, 0, :8].tolist()
    [255, 255, 255, 255, 255, 255, 255, 0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from kerasdoc.generators.sources import MNIST_C_CORRUPTIONS

#: Every corruption, in MNIST-C's order (``identity`` first).
CORRUPTIONS: tuple[str, ...] = MNIST_C_CORRUPTIONS

#: The severity each MNIST-C corruption was generated with (the default of its definition);
#: ``None``: the corruption has no severity table.
MNIST_C_SEVERITY: dict[str, int | None] = {
    "identity": None, "shot_noise": 5, "impulse_noise": 4, "glass_blur": 1, "motion_blur": 1,
    "shear": 2, "scale": 3, "rotate": 2, "brightness": 5, "translate": 3, "stripe": None,
    "fog": 5, "spatter": 4, "dotted_line": None, "zigzag": None, "canny_edges": None,
}

#: The published severity tables (severity 1..5), parameters at 28x28 (lengths in pixels).
SEVERITY_TABLES: dict[str, tuple[Any, ...]] = {
    # Poisson rate scale: x -> Poisson(x * c) / c
    "shot_noise": (60, 25, 12, 5, 3),
    # salt-and-pepper share of pixels
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
    # (Gaussian sigma, largest local pixel shift, shuffle passes)
    "glass_blur": ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
    # (kernel radius, Gaussian sigma); angle uniform in [-45, 45) degrees
    "motion_blur": ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15)),
    # shear angle in radians, random sign
    "shear": (0.2, 0.4, 0.6, 0.8, 1.0),
    # inverse zoom factor (the digit shrinks to 0.9 .. 0.5 of its size)
    "scale": (1 / 0.9, 1 / 0.8, 1 / 0.7, 1 / 0.6, 1 / 0.5),
    # rotation in radians, random sign
    "rotate": (0.2, 0.4, 0.6, 0.8, 1.0),
    # added to the HSV value channel (for grey images: to the intensity)
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    # shift in pixels along each axis, random signs
    "translate": (1, 2, 3, 4, 5),
    # (fog strength, plasma-fractal wibble decay)
    "fog": ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)),
    # (mean, std of the liquid layer, its blur sigma, threshold, mask blur sigma, mud flag)
    "spatter": ((0.65, 0.3, 4, 0.69, 0.6, 0), (0.65, 0.3, 3, 0.68, 0.6, 0),
                (0.65, 0.3, 2, 0.68, 0.5, 0), (0.65, 0.3, 1, 0.65, 1.5, 1),
                (0.67, 0.4, 1, 0.65, 1.5, 1)),
}

_Seed = int | np.random.Generator | None


# --------------------------------------------------------------------------- input / output
def _rng(seed: _Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _to_unit(images: Any, value_range: float | None) -> tuple[np.ndarray, Callable]:
    """``images`` as float64 (n, h, w) in [0, 1] and a function restoring the caller's layout."""
    arr = np.asarray(images)
    if arr.ndim not in (2, 3, 4):
        raise ValueError(f"Expected grayscale images (h, w), (n, h, w) or (n, h, w, 1). "
                         f"Received: shape {arr.shape}")
    if arr.ndim == 4 and arr.shape[-1] != 1:
        raise ValueError(f"Expected one channel (grayscale digits). Received: shape {arr.shape}; "
                         "convert to grayscale first.")
    if arr.size == 0:
        raise ValueError(f"Expected at least one image. Received: shape {arr.shape}")
    shape, dtype = arr.shape, arr.dtype
    batch = arr.reshape((1,) + shape) if arr.ndim == 2 else arr
    batch = batch[..., 0] if batch.ndim == 4 else batch
    if dtype == np.uint8:
        scale = 255.0
    elif value_range is not None:
        if value_range not in (1, 1.0, 255, 255.0):
            raise ValueError(f"value_range must be 1 or 255. Received: value_range={value_range}")
        scale = float(value_range)
    elif np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer):
        scale = 255.0 if float(np.max(batch)) > 1.0 else 1.0
    else:
        raise ValueError(f"Expected uint8 or float images. Received: dtype {dtype}")
    unit = batch.astype(np.float64) / scale

    def restore(out: np.ndarray) -> np.ndarray:
        out = np.clip(out, 0.0, 1.0) * scale
        out = np.rint(out).astype(np.uint8) if dtype == np.uint8 else out.astype(np.float32)
        return out.reshape(shape)

    return unit, restore


def _factor(x: np.ndarray) -> float:
    """Size factor: parameters are defined at 28x28."""
    return min(x.shape[1], x.shape[2]) / 28.0


def _gauss(x: np.ndarray, sigma: float, mode: str = "nearest") -> np.ndarray:
    """Gaussian blur of each image of a batch (scikit-image's defaults: truncate 4)."""
    return ndimage.gaussian_filter(x, sigma=(0.0, sigma, sigma), mode=mode, truncate=4.0)


def _signs(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=n)


def _bilinear(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample each image ``x[i]`` at float ``(rows[i], cols[i])``; zero outside the image."""
    n, h, w = x.shape
    pad = np.zeros((n, h + 4, w + 4), x.dtype)
    pad[:, 2:-2, 2:-2] = x
    r = np.clip(rows, -1.5, h + 0.5) + 2
    c = np.clip(cols, -1.5, w + 0.5) + 2
    r0, c0 = np.floor(r).astype(np.intp), np.floor(c).astype(np.intp)
    fr, fc = r - r0, c - c0
    idx = np.arange(n).reshape((n,) + (1,) * (rows.ndim - 1))
    return ((1 - fr) * (1 - fc) * pad[idx, r0, c0] + (1 - fr) * fc * pad[idx, r0, c0 + 1]
            + fr * (1 - fc) * pad[idx, r0 + 1, c0] + fr * fc * pad[idx, r0 + 1, c0 + 1])


def _affine(x: np.ndarray, mats: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """scikit-image ``warp(x, inverse_map=A)`` for a batch: output pixel ``p = (col, row)`` reads
    input ``A @ (p - centre) + centre + shift`` (bilinear, zero fill). ``mats``: (n, 2, 2)."""
    n, h, w = x.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    dx, dy = cols - cx, rows - cy
    sx = mats[:, 0, 0, None, None] * dx + mats[:, 0, 1, None, None] * dy + cx
    sy = mats[:, 1, 0, None, None] * dx + mats[:, 1, 1, None, None] * dy + cy
    if shift is not None:
        sx, sy = sx + shift[:, 0, None, None], sy + shift[:, 1, None, None]
    return _bilinear(x, sy, sx)


# --------------------------------------------------------------------------- noise
def _identity(x, rng, sev):
    return x.copy()


def _shot_noise(x, rng, sev):
    c = SEVERITY_TABLES["shot_noise"][sev - 1]
    return np.clip(rng.poisson(x * c) / float(c), 0, 1)


def _impulse_noise(x, rng, sev):
    amount = SEVERITY_TABLES["impulse_noise"][sev - 1]
    flipped = rng.random(x.shape) <= amount
    salted = rng.random(x.shape) <= 0.5
    out = x.copy()
    out[flipped & salted] = 1.0
    out[flipped & ~salted] = 0.0
    return out


# --------------------------------------------------------------------------- blur
def _glass_blur(x, rng, sev):
    sigma, delta, passes = SEVERITY_TABLES["glass_blur"][sev - 1]
    f = _factor(x)
    sigma, delta = sigma * f, max(1, int(round(delta * f)))
    n, h, w = x.shape
    # blur, quantise to 8 bits (the definition goes through uint8), shuffle locally, blur again
    y = np.floor(_gauss(x, sigma) * 255.0)
    idx = np.arange(n)
    for _ in range(passes):
        for r in range(h - delta, delta, -1):
            for c in range(w - delta, delta, -1):
                move = rng.random(n) < 0.5
                dr, dc = rng.integers(-delta, delta, size=(2, n))
                k, r2, c2 = idx[move], r + dr[move], c + dc[move]
                a = y[k, r, c]
                y[k, r, c] = y[k, r2, c2]
                y[k, r2, c2] = a
    return np.clip(_gauss(y / 255.0, sigma), 0, 1)


def motion_blur_kernel(radius: float, sigma: float) -> np.ndarray:
    """ImageMagick's one-sided motion-blur weights: ``2 * ceil(radius) + 1`` taps of a Gaussian
    of ``sigma`` at distances 0, 1, 2, ... pixels, normalised to sum 1.

    Example:
        >>> k = motion_blur_kernel(10, 3)
        >>> len(k), round(float(k.sum()), 6), bool(k[0] > k[5])
        (21, 1.0, True)
    """
    width = int(2 * math.ceil(radius) + 1)
    i = np.arange(width, dtype=np.float64)
    k = np.exp(-(i * i) / (2.0 * sigma * sigma))
    return k / k.sum()


def _motion_blur(x, rng, sev):
    radius, sigma = SEVERITY_TABLES["motion_blur"][sev - 1]
    f = _factor(x)
    kernel = motion_blur_kernel(radius * f, sigma * f)
    n, h, w = x.shape
    angle = np.deg2rad(rng.uniform(-45.0, 45.0, size=n))
    taps = np.arange(len(kernel))[:, None]
    # offsets along the angle, rounded as ImageMagick does (ceil(v - 0.5))
    oc = np.ceil(taps * np.cos(angle)[None] - 0.5).astype(np.intp)
    orow = np.ceil(taps * np.sin(angle)[None] - 0.5).astype(np.intp)
    p = len(kernel)
    pad = np.pad(x, ((0, 0), (p, p), (p, p)), mode="edge")
    rows = np.arange(h)[None, :, None] + p
    cols = np.arange(w)[None, None, :] + p
    idx = np.arange(n)[:, None, None]
    out = np.zeros_like(x)
    for t, wt in enumerate(kernel):
        out += wt * pad[idx, rows + orow[t][:, None, None], cols + oc[t][:, None, None]]
    return np.clip(out, 0, 1)


# --------------------------------------------------------------------------- geometry
def _shear(x, rng, sev):
    s = SEVERITY_TABLES["shear"][sev - 1] * _signs(rng, len(x))
    mats = np.zeros((len(x), 2, 2))
    mats[:, 0, 0] = 1.0
    mats[:, 0, 1] = -np.sin(s)
    mats[:, 1, 1] = np.cos(s)
    return np.clip(_affine(x, mats), 0, 1)


def _rotate(x, rng, sev):
    a = SEVERITY_TABLES["rotate"][sev - 1] * _signs(rng, len(x))
    mats = np.stack([np.stack([np.cos(a), -np.sin(a)], -1),
                     np.stack([np.sin(a), np.cos(a)], -1)], 1)
    return np.clip(_affine(x, mats), 0, 1)


def _scale(x, rng, sev):
    z = SEVERITY_TABLES["scale"][sev - 1]
    mats = np.tile(np.eye(2) * z, (len(x), 1, 1))
    return np.clip(_affine(x, mats), 0, 1)


def _translate(x, rng, sev):
    c = SEVERITY_TABLES["translate"][sev - 1] * _factor(x)
    shift = c * np.stack([_signs(rng, len(x)), _signs(rng, len(x))], 1)
    mats = np.tile(np.eye(2), (len(x), 1, 1))
    return np.clip(_affine(x, mats, shift), 0, 1)


# --------------------------------------------------------------------------- intensity
def _brightness(x, rng, sev):
    # grey -> RGB -> HSV, value + c, -> RGB -> grey is x + c for a grey image
    return np.clip(x + SEVERITY_TABLES["brightness"][sev - 1], 0, 1)


def _stripe(x, rng, sev):
    w = x.shape[2]
    out = x.copy()
    left, right = int(round(w * 7 / 28)), int(round(w * 21 / 28))
    out[:, :, :left] = 1.0 - out[:, :, :left]
    out[:, :, right:] = 1.0 - out[:, :, right:]
    return out


def plasma_fractal(n: int = 1, mapsize: int = 256, wibbledecay: float = 3.0,
                   seed: _Seed = None) -> np.ndarray:
    """``n`` diamond-square height maps of side ``mapsize`` (a power of two) in [0, 1].

    MNIST-C's fog adds one of these (top-left corner) to the image. The random offsets of level
    ``k`` are ``wibble * U(-wibble, wibble)`` with ``wibble = 100 / wibbledecay**k``.

    Example:
        >>> m = plasma_fractal(2, 32, 1.4, seed=0)
        >>> m.shape, float(m[0].min()), float(m[0].max())
        ((2, 32, 32), 0.0, 1.0)
    """
    if mapsize < 2 or mapsize & (mapsize - 1):
        raise ValueError(f"mapsize must be a power of two. Received: mapsize={mapsize}")
    rng = _rng(seed)
    # float32 and the caller's small chunks keep the maps in cache (values reach ~1e4, the finest
    # offsets ~1e1: float32's 7 digits are plenty)
    m = np.zeros((n, mapsize, mapsize), np.float32)
    step, wibble = mapsize, 100.0

    def wibbled(a):
        return a * 0.25 + (wibble * wibble) * (2 * rng.random(a.shape, dtype=np.float32) - 1)

    while step >= 2:
        half = step // 2
        corners = m[:, 0::step, 0::step]
        sq = corners + np.roll(corners, -1, axis=1)
        sq = sq + np.roll(sq, -1, axis=2)
        m[:, half::step, half::step] = wibbled(sq)
        centres = m[:, half::step, half::step]
        corners = m[:, 0::step, 0::step]
        m[:, 0::step, half::step] = wibbled(centres + np.roll(centres, 1, axis=1)
                                            + corners + np.roll(corners, -1, axis=2))
        m[:, half::step, 0::step] = wibbled(centres + np.roll(centres, 1, axis=2)
                                            + corners + np.roll(corners, -1, axis=1))
        step //= 2
        wibble /= wibbledecay
    m -= m.min(axis=(1, 2), keepdims=True)
    return m / m.max(axis=(1, 2), keepdims=True)


def _fog(x, rng, sev):
    strength, decay = SEVERITY_TABLES["fog"][sev - 1]
    n, h, w = x.shape
    f = _factor(x)
    ch, cw = max(1, int(math.ceil(h / f))), max(1, int(math.ceil(w / f)))
    size = max(256, 1 << int(math.ceil(math.log2(max(ch, cw)))))
    layers = []
    for start in range(0, n, 8):
        m = plasma_fractal(min(8, n - start), size, decay, rng)[:, :ch, :cw].astype(np.float64)
        if (ch, cw) != (h, w):
            m = ndimage.zoom(m, (1, h / ch, w / cw), order=1)[:, :h, :w]
        layers.append(m)
    fog = np.concatenate(layers)
    top = x.max(axis=(1, 2), keepdims=True)
    return np.clip((x + strength * fog) * top / (top + strength), 0, 1)


def _spatter(x, rng, sev):
    loc, scale, sigma, thresh, mask_sigma, _ = SEVERITY_TABLES["spatter"][sev - 1]
    f = _factor(x)
    liquid = _gauss(rng.normal(loc, scale, x.shape), sigma * f)
    liquid[liquid < thresh] = 0
    mask = _gauss((liquid > thresh).astype(np.float64), mask_sigma * f)
    mask[mask < 0.8] = 0
    return np.clip(x * (1 - mask) + 63 / 255.0 * mask, 0, 1)


# --------------------------------------------------------------------------- lines
def _lines(shape: tuple[int, int, int], c0, r0, c1, r1, width: float) -> np.ndarray:
    """MNIST-C's anti-aliased line through (c0, r0), (c1, r1), drawn over columns
    ``floor(c0) .. ceil(c1) - 1``: intensity ``log(1 - d / width) + 1`` of the vertical distance
    ``d`` to the line. ``c0 .. r1``: arrays (n, k) of k segments per image; returns their sum
    (n, h, w); a vertical segment (``c0 == c1``) draws nothing."""
    _, h, w = shape
    rr = np.arange(h, dtype=np.float64)[None, None, :, None]
    cc = np.arange(w, dtype=np.float64)[None, None, None, :]
    c0, r0, c1, r1 = (np.asarray(v, np.float64)[..., None, None] for v in (c0, r0, c1, r1))
    vertical = c1 == c0
    slope = np.where(vertical, 0.0, (r1 - r0) / np.where(vertical, 1.0, c1 - c0))
    dist = np.clip(np.abs(rr - (slope * (cc - c0) + r0)), 0, width - 1e-10)
    line = np.clip(np.log(1 - dist / width) + 1, 0, 1)
    inside = (cc >= np.floor(c0)) & (cc < np.ceil(c1)) & ~vertical
    return np.where(inside, line, 0.0).sum(axis=1)


def _dotted_line(x, rng, sev):
    n, h, w = x.shape
    f = _factor(x)
    r0, r1 = rng.integers(0, h - 1, size=(2, n, 1))
    line = _lines(x.shape, np.zeros((n, 1)), r0, np.full((n, 1), w - 1.0), r1, 2.3 * f)
    dash = max(1, int(round(2 * f)))
    gaps = (np.arange(w) // dash) % 2 == 0
    line[:, :, gaps] = 0
    return np.clip(x + line, 0, 1)


def _zigzag(x, rng, sev):
    n, h, w = x.shape
    f = _factor(x)
    a = b = 2.0 * f  # length and amplitude of a zig
    c0, c1 = 2.0 * w / 28, 25.0 * w / 28
    r0 = rng.integers(0, h - 1, size=n).astype(np.float64)
    r1 = r0 + rng.integers(-5, 5, size=n) * f
    theta = np.arctan((r1 - r0) / (c1 - c0))
    d = (c1 - c0) / np.cos(theta)
    count = ((d - a) // (2 * a)).astype(int) + 1  # zig points after the start
    kmax = int(count.max())
    i = np.arange(kmax)[None]
    pc = np.where(i < count[:, None], (2 * i + 1) * a, np.nan)
    pr = np.where(i < count[:, None], np.where(i % 2 == 0, b, -b), np.nan)
    last_r = np.where((count - 1) % 2 == 0, b, -b)
    full = 2 * a * (d // (2 * a))
    # the definition ends with (d, r / (2 (d - full))) when d is not a whole number of zigs
    with np.errstate(divide="ignore", invalid="ignore"):
        end_r = np.where(d != full, last_r / (2 * (d - full)), np.nan)
    end_c = np.where(d != full, d, np.nan)
    cols = np.concatenate([np.zeros((n, 1)), pc, np.full((n, 1), np.nan)], 1)
    rows = np.concatenate([np.zeros((n, 1)), pr, np.full((n, 1), np.nan)], 1)
    cols[np.arange(n), count + 1], rows[np.arange(n), count + 1] = end_c, end_r
    cos, sin = np.cos(theta)[:, None], np.sin(theta)[:, None]
    cs, rs = cos * cols - sin * rows + c0, sin * cols + cos * rows + r0[:, None]
    ok = ~(np.isnan(cs[:, :-1]) | np.isnan(cs[:, 1:]))
    seg = [np.where(ok, v, 0.0) for v in (cs[:, :-1], rs[:, :-1], cs[:, 1:], rs[:, 1:])]
    seg[2] = np.where(ok, seg[2], seg[0])  # an unused segment is vertical: draws nothing
    return np.clip(x + _lines(x.shape, *seg, 2.3 * f), 0, 1)


# --------------------------------------------------------------------------- edges
def _sobel(x: np.ndarray, axis: int) -> np.ndarray:
    """Sobel derivative of each image along ``axis`` (1 rows, 2 columns), smoothing [1, 2, 1] along
    the other image axis only (``ndimage.sobel`` would smooth across the batch too)."""
    other = 3 - axis
    d = ndimage.correlate1d(x, [-1.0, 0.0, 1.0], axis=axis, mode="reflect")
    return ndimage.correlate1d(d, [1.0, 2.0, 1.0], axis=other, mode="reflect")


def _canny(x, rng, sev, sigma: float = 1.0, low: float = 0.1, high: float = 0.2):
    f = _factor(x)
    n, h, w = x.shape
    # Gaussian smoothing that does not darken the border (smoothed image / smoothed mask)
    smoothed = _gauss(x, sigma * f, mode="constant") / _gauss(np.ones((1, h, w)), sigma * f,
                                                               mode="constant")
    gr, gc = _sobel(smoothed, 1), _sobel(smoothed, 2)  # along rows, along columns
    mag = np.hypot(gr, gc)
    # non-maximum suppression: compare with the magnitude one step either way along the
    # gradient, interpolated on the 3x3 neighbourhood's square
    big = np.maximum(np.abs(gr), np.abs(gc))
    step = np.where(big > 0, 1.0 / np.where(big > 0, big, 1.0), 0.0)
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    fwd = _bilinear(mag, rows + gr * step, cols + gc * step)
    bwd = _bilinear(mag, rows - gr * step, cols - gc * step)
    border = np.zeros((h, w), bool)
    border[1:-1, 1:-1] = True
    maxima = border & (mag > 0) & (mag >= fwd) & (mag >= bwd)
    # hysteresis: keep weak edges connected (8-neighbourhood, within each image) to a strong one
    weak = maxima & (mag >= low)
    strong = maxima & (mag >= high)
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = True
    labels, count = ndimage.label(weak, structure=structure)
    keep = np.zeros(count + 1, bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    return keep[labels].astype(np.float64)


_FUNCS: dict[str, Callable[[np.ndarray, np.random.Generator, int | None], np.ndarray]] = {
    "identity": _identity, "shot_noise": _shot_noise, "impulse_noise": _impulse_noise,
    "glass_blur": _glass_blur, "motion_blur": _motion_blur, "shear": _shear, "scale": _scale,
    "rotate": _rotate, "brightness": _brightness, "translate": _translate, "stripe": _stripe,
    "fog": _fog, "spatter": _spatter, "dotted_line": _dotted_line, "zigzag": _zigzag,
    "canny_edges": _canny,
}


def _check_name(name: str) -> str:
    if name not in _FUNCS:
        raise ValueError(f"Unknown corruption {name!r}. Expected one of: {', '.join(CORRUPTIONS)}")
    return name


def _severity(name: str, severity: int | None) -> int | None:
    if severity is None:
        return MNIST_C_SEVERITY[name]
    if name not in SEVERITY_TABLES:
        raise ValueError(f"Corruption {name!r} has no severity levels (MNIST-C defines one form). "
                         f"Received: severity={severity}")
    if int(severity) not in (1, 2, 3, 4, 5):
        raise ValueError(f"severity must be 1..5. Received: severity={severity}")
    return int(severity)


def corrupt(images: Any, corruption: str = "shot_noise", *, severity: int | None = None,
            seed: _Seed = None, value_range: float | None = None) -> np.ndarray:
    """Apply one MNIST-C corruption to a batch of grayscale images.

    Paper: the MNIST-C distortions (Mu & Gilmer 2019) behind Gutierrez & Sze's breakouts.

    Args:
        images: array (h, w), (n, h, w) or (n, h, w, 1); uint8 in [0, 255] or float in [0, 1]
            (float with a maximum above 1 is read as [0, 255]; see ``value_range``).
        corruption: str. One of :data:`CORRUPTIONS`. Defaults to ``"shot_noise"``.
        severity: int 1..5 or None. None: MNIST-C's own (:data:`MNIST_C_SEVERITY`).
        seed: int, ``numpy.random.Generator`` or None. The random draws (one set per image).
        value_range: 1, 255 or None. The scale of float input (None: inferred).

    Returns:
        The corrupted images, same shape; uint8 for uint8 input, float32 otherwise (same range).

    Raises:
        ValueError: an unknown corruption, a bad severity, or images that are not grayscale.

    Example:
        >>> x = np.zeros((2, 28, 28), np.float32); x[:, 10:18, 10:18] = 1
        >>> y = corrupt(x, "brightness")
        >>> float(y.min()), float(y.max()), y.dtype.name
        (0.5, 1.0, 'float32')
    """
    name = _check_name(corruption)
    sev = _severity(name, severity)
    unit, restore = _to_unit(images, value_range)
    return restore(_FUNCS[name](unit, _rng(seed), sev))


def corrupt_mixed(images: Any, corruptions: Sequence[str], *, p: Sequence[float] | None = None,
                  seed: _Seed = None, severity: int | None = None,
                  value_range: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt each image with one corruption drawn at random from ``corruptions``.

    Paper: Gutierrez & Sze train the denoiser on images "corrupted by either motion blur or shot
    noise, randomly choosing between the two for each image".

    Args:
        images: as for :func:`corrupt`.
        corruptions: names to draw from (``"identity"`` leaves an image clean).
        p: probabilities, one per name (default: uniform).
        seed: int, Generator or None.
        severity: None (MNIST-C's) or 1..5 for every name that has levels.
        value_range: as for :func:`corrupt`.

    Returns:
        ``(corrupted, choice)``: the images (layout and dtype of the input) and, per image, the
        index into ``corruptions`` it got.

    Example:
        >>> x = np.zeros((6, 28, 28), np.uint8)
        >>> y, which = corrupt_mixed(x, ["identity", "brightness"], seed=1)
        >>> bool(all(y[i].max() == (128 if w else 0) for i, w in enumerate(which)))
        True
    """
    names = [_check_name(c) for c in corruptions]
    if not names:
        raise ValueError("corruptions must name at least one corruption.")
    rng = _rng(seed)
    unit, restore = _to_unit(images, value_range)
    if p is not None:
        p = np.asarray(p, np.float64)
        if p.shape != (len(names),) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
            raise ValueError(f"p must hold {len(names)} non-negative probabilities summing to 1. "
                             f"Received: p={p.tolist()}")
    choice = rng.choice(len(names), size=len(unit), p=p)
    out = unit.copy()
    for k, name in enumerate(names):
        sel = np.flatnonzero(choice == k)
        if sel.size:
            sev = _severity(name, severity if name in SEVERITY_TABLES else None)
            out[sel] = _FUNCS[name](unit[sel], rng, sev)
    return restore(out), choice


class CorruptionAugment:
    """A TensorFlow-graph augmentation: corrupt one image with a random MNIST-C corruption.

    Paper: MNIST-C corruptions (Mu & Gilmer 2019) as training-time augmentation, after
    Gutierrez & Sze's data-centric robustness pipeline.

    Usable as ``ImageDataGenerator(preprocessing_function=CorruptionAugment(...))`` (one float32
    image (h, w, 1) in 0-255) or mapped over batches of a ``tf.data.Dataset`` (it accepts (h, w, 1)
    or (n, h, w, 1) tensors, any range given by ``value_range``). Each call draws a fresh seed
    from ``tf.random`` (seeded by ``keras.utils.set_random_seed``), so runs are reproducible for a
    sequential pipeline; a parallel ``map`` may hand the seeds out in another order.

    Args:
        corruptions: names to draw from. Defaults to the 15 MNIST-C corruptions.
        p: float. Share of images corrupted (the rest pass unchanged). Defaults to 0.5.
        severity: None (MNIST-C's) or 1..5.
        value_range: 255 (the generator's 0-255 floats) or 1.

    Example:
        >>> import tensorflow as tf
        >>> aug = CorruptionAugment(["brightness"], p=1.0, value_range=255)
        >>> float(tf.reduce_min(aug(tf.zeros((28, 28, 1)))))
        127.5
    """

    def __init__(self, corruptions: Sequence[str] | None = None, p: float = 0.5, *,
                 severity: int | None = None, value_range: float = 255.0):
        self.corruptions = [_check_name(c) for c in (corruptions or CORRUPTIONS[1:])]
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1]. Received: p={p}")
        if value_range not in (1, 1.0, 255, 255.0):
            raise ValueError(f"value_range must be 1 or 255. Received: value_range={value_range}")
        self.p, self.severity, self.value_range = float(p), severity, float(value_range)

    def numpy(self, images: np.ndarray, seed: int) -> np.ndarray:
        """The NumPy body: corrupt a (n, h, w, 1) or (h, w, 1) float array with ``seed``."""
        arr = np.asarray(images, np.float32)
        batch = arr[None] if arr.ndim == 3 else arr
        rng = np.random.default_rng(int(seed))
        names = ["identity"] + self.corruptions
        probs = [1.0 - self.p] + [self.p / len(self.corruptions)] * len(self.corruptions)
        out, _ = corrupt_mixed(batch, names, p=probs, seed=rng, severity=self.severity,
                               value_range=self.value_range)
        return out.reshape(arr.shape).astype(np.float32)

    def __call__(self, image):
        import tensorflow as tf

        image = tf.convert_to_tensor(image, tf.float32)
        seed = tf.random.uniform([], 0, 2**31 - 1, dtype=tf.int64)
        out = tf.numpy_function(self.numpy, [image, seed], tf.float32, stateful=True)
        return tf.ensure_shape(out, image.shape)


def corruption_pair_dataset(images: Any, corruptions: Sequence[str] = ("motion_blur",
                                                                         "shot_noise"),
                            *, batch_size: int = 32, p: Sequence[float] | None = None,
                            severity: int | None = None, shuffle: bool = True, seed: int = 0,
                            labels: Any = None, drop_remainder: bool = False):
    """A ``tf.data.Dataset`` of ``(noisy, clean)`` float32 batches for denoising autoencoders.

    Paper: Gutierrez & Sze's denoiser is trained noisy -> clean on digits corrupted by motion
    blur or shot noise, chosen at random per image (the default here).

    Each epoch reshuffles and re-draws the corruptions (a seeded stream: the same ``seed`` gives
    the same epochs); the corruption of a whole batch runs vectorised in one NumPy call.

    Args:
        images: clean grayscale images (n, h, w[, 1]), uint8 or float in [0, 1].
        corruptions: names to draw from (include ``"identity"`` to keep some inputs clean).
        batch_size: int. Defaults to 32.
        p: probabilities per name (default uniform).
        severity: None (MNIST-C's) or 1..5.
        shuffle: bool. Shuffle every epoch. Defaults to True.
        seed: int. Shuffling and corruption seed.
        labels: optional per-image labels; each element is then ``(noisy, clean, label)``.
        drop_remainder: bool. Drop a last short batch.

    Returns:
        A ``tf.data.Dataset`` of ``(noisy, clean)`` (or ``(noisy, clean, label)``) batches,
        float32 in [0, 1], shape (batch, h, w, 1).

    Example:
        >>> x = np.zeros((10, 28, 28), np.uint8); x[:, 9:19, 12:16] = 255
        >>> ds = corruption_pair_dataset(x, batch_size=4, seed=0)
        >>> noisy, clean = next(iter(ds))
        >>> tuple(noisy.shape), float(clean.numpy().max()), bool((noisy != clean).numpy().any())
        ((4, 28, 28, 1), 1.0, True)
    """
    import tensorflow as tf

    unit, _ = _to_unit(images, None)
    clean = unit.astype(np.float32)[..., None]
    names = [_check_name(c) for c in corruptions]
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    parts = (clean,) if labels is None else (clean, np.asarray(labels))
    if labels is not None and len(parts[1]) != len(clean):
        raise ValueError(f"labels ({len(parts[1])}) and images ({len(clean)}) differ in length.")
    ds = tf.data.Dataset.from_tensor_slices(parts if labels is not None else clean)
    if shuffle:
        ds = ds.shuffle(len(clean), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def noisy_of(batch: np.ndarray, s: np.int64) -> np.ndarray:
        out, _ = corrupt_mixed(batch, names, p=p, seed=int(s) % (2**63), severity=severity,
                               value_range=1.0)
        return out.astype(np.float32)

    def pair(el, s):
        x = el[0] if labels is not None else el
        noisy = tf.numpy_function(noisy_of, [x, s], tf.float32, stateful=False)
        noisy = tf.ensure_shape(noisy, x.shape)
        return (noisy, x) if labels is None else (noisy, x, el[1])

    return tf.data.Dataset.zip((ds, seeds)).map(pair, num_parallel_calls=tf.data.AUTOTUNE,
                                                deterministic=True).prefetch(tf.data.AUTOTUNE)


def plot_gallery(images: Any, path: str | Path, *, corruptions: Sequence[str] | None = None,
                 seed: int = 0, title: str = "MNIST-C corruptions beside their clean digits"
                 ) -> Path:
    """Save the paper's Figure 2: each corruption's output beside the clean digit it came from.

    Args:
        images: clean grayscale digits; the i-th corruption uses image ``i % len(images)``.
        path: the PNG to write.
        corruptions: names (default: all 15 corruptions).
        seed: int.
        title: figure title.

    Returns:
        The PNG path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # generators sits below kerasdoc: no import of kerasdoc.reporting here
    def save_figure(fig, path):
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    names = [_check_name(c) for c in (corruptions or CORRUPTIONS[1:])]
    unit, _ = _to_unit(images, None)
    cols = 4
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, 2 * cols, figsize=(2 * cols * 1.15, rows * 1.35))
    axes = np.atleast_2d(axes)
    for ax in axes.ravel():
        ax.axis("off")
    for i, name in enumerate(names):
        clean = unit[i % len(unit)][None]
        bad = _FUNCS[name](clean, np.random.default_rng(seed + i), MNIST_C_SEVERITY[name])[0]
        r, c = divmod(i, cols)
        axes[r, 2 * c].imshow(clean[0], cmap="gray", vmin=0, vmax=1)
        axes[r, 2 * c].set_title("clean", fontsize=7)
        axes[r, 2 * c + 1].imshow(bad, cmap="gray", vmin=0, vmax=1)
        axes[r, 2 * c + 1].set_title(name.replace("_", " "), fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def benchmark_corruptions(images: Any, corruptions: Sequence[str] | None = None, *,
                          loop_images: int = 64, seed: int = 0) -> list[dict[str, Any]]:
    """Throughput of each corruption (images/s): one vectorised batch call against a per-image
    Python loop over the same function, in the same run.

    Args:
        images: a batch of grayscale digits (e.g. 1,000 at 28x28).
        corruptions: names (default: all 16).
        loop_images: how many images the per-image loop times (it is slow).
        seed: int.

    Returns:
        One dict per corruption: ``name, batch_ips, loop_ips, speedup``.
    """
    import time

    unit, _ = _to_unit(images, None)
    rows = []
    for name in corruptions or CORRUPTIONS:
        sev = MNIST_C_SEVERITY[name]
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        _FUNCS[name](unit, rng, sev)
        batch_s = time.perf_counter() - t0
        sub = unit[:loop_images]
        t0 = time.perf_counter()
        for img in sub:
            _FUNCS[name](img[None], rng, sev)
        loop_s = time.perf_counter() - t0
        rows.append({"name": name, "batch_ips": len(unit) / max(batch_s, 1e-9),
                     "loop_ips": len(sub) / max(loop_s, 1e-9),
                     "speedup": (len(unit) / max(batch_s, 1e-9)) / (len(sub) / max(loop_s, 1e-9))})
    return rows

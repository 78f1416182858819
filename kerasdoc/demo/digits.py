"""Generated demo data: digits 0-9 rendered with OpenCV's Hershey fonts (not real handwriting).

Used by ``kerasdoc reproduce persian-ocr`` when no ``--data`` is given, so that the workflow of
seeds/004 (Kendal, Persian OCR) runs on a fresh machine; every result made from it says
"generated demo data". Each image is white ink on black like the Hoda digits, with a random font,
scale, stroke width, position, small rotation and pixel noise.

Example:
    >>> (x, y), _, names = make_rendered_digits(20, 10, size=32, seed=0)
    >>> x.shape, x.dtype, names[:3]
    ((20, 32, 32, 3), dtype('float32'), ['0', '1', '2'])
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
         cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX)
CLASS_NAMES = [str(i) for i in range(10)]
DATA_LABEL = "generated demo data (digits rendered with OpenCV fonts)"


def render_digit(digit: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One (size, size) float32 image in [0, 1] of ``digit`` in a random style."""
    if not 0 <= digit <= 9:
        raise ValueError(f"digit must be in 0..9. Received: digit={digit}")
    canvas = 64
    img = np.zeros((canvas, canvas), np.uint8)
    font = FONTS[rng.integers(len(FONTS))]
    scale = rng.uniform(1.4, 2.0) * (1.6 if font == cv2.FONT_HERSHEY_PLAIN else 1.0)
    thickness = int(rng.integers(2, 6))
    (tw, th), _ = cv2.getTextSize(str(digit), font, scale, thickness)
    x0 = (canvas - tw) // 2 + int(rng.integers(-5, 6))
    y0 = (canvas + th) // 2 + int(rng.integers(-5, 6))
    cv2.putText(img, str(digit), (x0, y0), font, scale, 255, thickness, cv2.LINE_AA)
    rot = cv2.getRotationMatrix2D((canvas / 2, canvas / 2), float(rng.uniform(-12, 12)),
                                  float(rng.uniform(0.85, 1.1)))
    img = cv2.warpAffine(img, rot, (canvas, canvas))
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype("float32") / 255
    img += rng.normal(0, 0.05, img.shape).astype("float32")
    return np.clip(img, 0, 1)


def make_rendered_digits(n_train: int = 2000, n_valid: int = 500, *, size: int = 32,
                         channels: int = 3, seed: int = 0):
    """A balanced train / valid set of rendered digits.

    Args:
        n_train: int. Training images. Defaults to 2000.
        n_valid: int. Validation images. Defaults to 500.
        size: int. Image side in pixels. Defaults to 32.
        channels: int. 1, or 3 (grey copied to RGB, as fastai opens images). Defaults to 3.
        seed: int. Random seed.

    Returns:
        ``((x_train, y_train), (x_valid, y_valid), class_names)``: float32 images in [0, 1] of
        shape (n, size, size, channels) and int labels 0-9.
    """
    if n_train < 1 or n_valid < 1 or size < 8:
        raise ValueError(f"Expected n_train >= 1, n_valid >= 1 and size >= 8. Received: "
                         f"n_train={n_train}, n_valid={n_valid}, size={size}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3. Received: channels={channels}")
    rng = np.random.default_rng(seed)

    def make(n):
        y = np.arange(n) % 10
        rng.shuffle(y)
        x = np.stack([render_digit(int(d), size, rng) for d in y])[..., None]
        return np.repeat(x, channels, axis=-1), y.astype("int64")

    return make(n_train), make(n_valid), list(CLASS_NAMES)


def array_batches(x: np.ndarray, y: np.ndarray, *, size: int | None = None, batch_size: int = 32,
                  shuffle: bool = False, seed: int = 0):
    """A batched ``tf.data.Dataset`` of ``(image, label)`` from in-memory demo arrays, resized
    to ``size`` (bilinear) in the pipeline, for progressive resizing on the demo set.

    Example:
        >>> (x, y), _, _ = make_rendered_digits(8, 2, size=16)
        >>> next(iter(array_batches(x, y, size=24, batch_size=4)))[0].shape
        TensorShape([4, 24, 24, 3])
    """
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} images, {len(y)} labels.")
    ds = tf.data.Dataset.from_tensor_slices((x.astype("float32"), y.astype("int64")))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if size is not None and size != x.shape[1]:
        ds = ds.map(lambda a, b: (tf.image.resize(a, (size, size)), b),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def write_digit_folders(root: str | Path, n_train: int, n_valid: int, seed: int = 0, *,
                        size: int = 48) -> Path:
    """Write rendered digits as ImageNet-style folders ``root/{train,valid}/<digit>/<i>.png``
    (grayscale PNGs), the layout of the Hoda archive.

    Example:
        >>> import tempfile
        >>> root = write_digit_folders(tempfile.mkdtemp(), 20, 10, size=16)
        >>> sorted(p.name for p in (root / "valid").iterdir())[:3]
        ['0', '1', '2']

    Args:
        root: str or Path. The folder to write (created).
        n_train: int. Training images (balanced over the ten digits).
        n_valid: int. Validation images.
        seed: int. Random seed. Defaults to 0.
        size: int. Image side in pixels. Defaults to 48.

    Returns:
        ``root`` as a Path.
    """
    root = Path(root)
    (x, y), (xv, yv), names = make_rendered_digits(n_train, n_valid, size=size, channels=1,
                                                   seed=seed)
    for part, xs, ys in (("train", x, y), ("valid", xv, yv)):
        for i, (img, label) in enumerate(zip(xs, ys)):
            d = root / part / names[label]
            d.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(d / f"{i}.png"), (img[..., 0] * 255).round().astype("uint8"))
    return root

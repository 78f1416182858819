"""The paper's quality breakouts (Tables 1-2) and the distortion / denoising training sets.

Example:
    >>> import numpy as np
    >>> x = np.zeros((40, 28, 28, 1), np.float32); y = np.arange(40) % 10
    >>> [b.name for b in make_breakouts(x, y, n=20, seed=0)][2]
    '50% clean, 50% motion blur'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from kerasdoc.generators.corruptions import CORRUPTIONS, corrupt_mixed

#: The paper's breakouts: name -> {corruption: share}.
BREAKOUTS: dict[str, dict[str, float]] = {
    "100% clean": {"identity": 1.0},
    "50% clean, 50% shot noise": {"identity": 0.5, "shot_noise": 0.5},
    "50% clean, 50% motion blur": {"identity": 0.5, "motion_blur": 0.5},
    "50% clean, 50% fog": {"identity": 0.5, "fog": 0.5},
    "25% clean, 25% shot noise, 25% motion blur, 25% fog": {
        "identity": 0.25, "shot_noise": 0.25, "motion_blur": 0.25, "fog": 0.25},
}

#: Table 1 (before denoising) and Table 2 (after; the label-using proxy), accuracy in %, with
#: the paper's classifier (vit-base-mnist, a PyTorch ViT-Base/16 fine-tuned on MNIST) on MNIST-C.
PAPER_TABLE1 = dict(zip(BREAKOUTS, (99.00, 97.93, 83.86, 80.86, 82.06)))
PAPER_TABLE2 = dict(zip(BREAKOUTS, (99.00, 97.93, 84.06, 81.46, 82.86)))
#: The paper's denoiser: MSE loss after 50 epochs.
PAPER_DENOISER_LOSS = 0.1365
PAPER_DENOISER_EPOCHS = 50

#: What the denoiser learns to undo (the paper: "either motion blur or shot noise").
DENOISER_CORRUPTIONS = ("motion_blur", "shot_noise")
#: What the detector learns to flag: every MNIST-C corruption that degrades image quality. The
#: four affine ones (shear, scale, rotate, translate) are left out: a sheared or shifted
#: handwritten digit is still a clean image, and no denoiser can "repair" it.
DETECTOR_CORRUPTIONS = tuple(c for c in CORRUPTIONS[1:]
                             if c not in ("shear", "scale", "rotate", "translate"))


@dataclasses.dataclass
class Breakout:
    """One quality breakout: images (float32 [n, h, w, 1] in [0, 1]), labels, which corruption
    each image got (index into ``corruptions``) and the clean originals."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    corruption: np.ndarray
    corruptions: tuple[str, ...]
    clean: np.ndarray

    @property
    def distorted(self) -> np.ndarray:
        """Boolean per image: did it get a corruption other than identity?"""
        names = np.asarray(self.corruptions)
        return names[self.corruption] != "identity"

    def counts(self) -> dict[str, int]:
        """Images per corruption."""
        return {c: int((self.corruption == i).sum()) for i, c in enumerate(self.corruptions)}


def as_unit_images(x: np.ndarray) -> np.ndarray:
    """Grayscale images as float32 [n, h, w, 1] in [0, 1] (uint8 or 0-255 floats divided)."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"Expected grayscale images (n, h, w) or (n, h, w, 1). "
                         f"Received: shape {x.shape}")
    if x.dtype == np.uint8 or float(x.max(initial=0)) > 1.0:
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32)


def make_breakout(x: np.ndarray, y: np.ndarray, mix: dict[str, float], *, n: int = 1500,
                  seed: int = 0, name: str = "") -> Breakout:
    """Draw ``n`` images from a clean pool and corrupt exact shares of them.

    Paper: Gutierrez & Sze, Table 1: 1,500 test images per quality breakout.

    Args:
        x: clean grayscale images (uint8, or float in [0, 1]).
        y: their labels.
        mix: ``{corruption: share}``; shares sum to 1; ``"identity"`` is clean.
        n: int. Images in the breakout (drawn without replacement when the pool is large enough,
            with replacement otherwise). Defaults to 1500.
        seed: int.
        name: str. Defaults to a name made of the shares.

    Returns:
        A :class:`Breakout`; its images are shuffled, each share rounded to whole images.
    """
    x, y = as_unit_images(x), np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and of the same length. "
                         f"Received: {len(x)} images, {len(y)} labels")
    shares = np.asarray(list(mix.values()), np.float64)
    if (shares < 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"The shares of a breakout must be non-negative and sum to 1. "
                         f"Received: mix={mix}")
    names = tuple(mix)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(x), size=n, replace=n > len(x))
    counts = np.floor(shares * n).astype(int)
    counts[np.argmax(shares)] += n - counts.sum()
    which = rng.permutation(np.repeat(np.arange(len(names)), counts))
    clean = x[idx]
    images = clean.copy()
    for k, c in enumerate(names):
        sel = np.flatnonzero(which == k)
        if sel.size and c != "identity":
            images[sel], _ = corrupt_mixed(clean[sel], [c], seed=rng)
    label = name or ", ".join(
        f"{round(100 * s)}% {'clean' if c == 'identity' else c.replace('_', ' ')}"
        for c, s in mix.items())
    return Breakout(label, images, y[idx], which, names, clean)


def make_breakouts(x: np.ndarray, y: np.ndarray, *, n: int = 1500, seed: int = 0,
                   breakouts: dict[str, dict[str, float]] | None = None) -> list[Breakout]:
    """The paper's five breakouts (:data:`BREAKOUTS`), each of ``n`` images, seeded.

    Args:
        x, y: the clean test pool.
        n: int. Images per breakout. Defaults to 1500.
        seed: int. Breakout ``i`` uses ``seed + i``.
        breakouts: other ``{name: mix}`` definitions.

    Returns:
        A list of :class:`Breakout`.
    """
    return [make_breakout(x, y, mix, n=n, seed=seed + i, name=name)
            for i, (name, mix) in enumerate((breakouts or BREAKOUTS).items())]


def warp_digits(x: np.ndarray, size: int = 224, channels: int = 3) -> np.ndarray:
    """The paper's "dimension warping": 28x28 grey -> ``size`` x ``size`` x 3, bilinear.

    Paper: Gutierrez & Sze, section 3.1.1 (normalise by 255, bilinear resize to 224, copy the
    grey channel 3 times; the PyTorch steps that move the channel axis are not needed in Keras).
    ``build_digits_vit(warp=True)`` does the same inside a model.

    Example:
        >>> warp_digits(np.zeros((2, 28, 28), np.uint8), 56).shape
        (2, 56, 56, 3)
    """
    import tensorflow as tf

    x = tf.image.resize(as_unit_images(x), (size, size), method="bilinear").numpy()
    return np.repeat(x, channels, axis=-1) if channels > 1 else x


# --------------------------------------------------------------------------- datasets
def distortion_dataset(x: np.ndarray, corruptions: Sequence[str] = DETECTOR_CORRUPTIONS, *,
                       clean_share: float = 0.5, batch_size: int = 64, seed: int = 0,
                       shuffle: bool = True):
    """A ``tf.data.Dataset`` of ``(image, distorted)`` batches for the distortion detector.

    Each epoch reshuffles and re-draws: an image stays clean with probability ``clean_share``,
    else gets one of ``corruptions`` at random; the label is 1 for a distorted image.

    Returns:
        A dataset of ``(float32 [b, h, w, 1], int32 [b])``.
    """
    import tensorflow as tf

    names = ["identity", *corruptions]
    p = [clean_share] + [(1 - clean_share) / len(corruptions)] * len(corruptions)
    ds = tf.data.Dataset.from_tensor_slices(as_unit_images(x))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def draw(batch: np.ndarray, s: np.int64):
        out, which = corrupt_mixed(batch, names, p=p, seed=int(s) % (2**63), value_range=1.0)
        return out.astype(np.float32), (which > 0).astype(np.int32)

    def pair(b, s):
        img, lab = tf.numpy_function(draw, [b, s], (tf.float32, tf.int32), stateful=False)
        return tf.ensure_shape(img, b.shape), tf.ensure_shape(lab, b.shape[:1])

    return tf.data.Dataset.zip((ds, seeds)).map(pair, num_parallel_calls=tf.data.AUTOTUNE,
                                                deterministic=True).prefetch(tf.data.AUTOTUNE)


def fixed_distortion_set(x: np.ndarray, corruptions: Sequence[str] = DETECTOR_CORRUPTIONS, *,
                         clean_share: float = 0.5, seed: int = 0
                         ) -> tuple[np.ndarray, np.ndarray]:
    """One seeded draw of :func:`distortion_dataset` as arrays (for validation)."""
    names = ["identity", *corruptions]
    p = [clean_share] + [(1 - clean_share) / len(corruptions)] * len(corruptions)
    out, which = corrupt_mixed(as_unit_images(x), names, p=p, seed=seed, value_range=1.0)
    return out.astype(np.float32), (which > 0).astype(np.int32)

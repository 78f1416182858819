"""Quality breakouts, distortion detection, denoising and re-classification (the robustness paper).

Paper: Gutierrez & Sze, "How Deep Can We Go? A Case Study on Image Classification" (2023). Their
pipeline (Figure 1): classify raw images as distorted or clean, run the distorted ones through a
denoising autoencoder, put the "cleaned" images back beside the clean ones, and classify all of
them. Their own code was a proxy: it denoised the images the classifier had got *wrong* (it used
the labels), which can only raise accuracy. Both are here:

* :func:`run_pipeline` (the honest default): classify -> detect -> denoise what the detector
  flags -> re-classify the flagged images; no label is looked at;
* :func:`oracle_pipeline`: the paper's proxy, labelled as an oracle everywhere it is reported.

Data: :func:`make_breakouts` builds the paper's quality breakouts (Tables 1-2): 1,500 images
each, seeded, from a clean test pool: 100% clean; 50% clean + 50% shot noise / motion blur / fog;
25% each of clean, shot noise, motion blur and fog (MNIST-C corruptions from
:mod:`kerasdoc.generators.corruptions`).

Training (through :class:`kerasdoc.runs.Run`): :func:`train_denoiser` (noisy -> clean with MSE on
images corrupted by motion blur or shot noise chosen at random per image, the paper's recipe),
:func:`train_detector` (clean vs distorted), :func:`train_classifier`.

Figures: :func:`plot_reconstructions` (the paper's Figure 5: noisy / reconstructed / clean rows),
:func:`plot_loss_curve` (Figure 6).

Example:
    >>> import numpy as np
    >>> x = np.zeros((40, 28, 28, 1), np.float32); y = np.arange(40) % 10
    >>> bo = make_breakouts(x, y, n=20, seed=0)
    >>> [b.name for b in bo][1], bo[4].counts()
    ('50% clean, 50% shot noise', {'identity': 5, 'shot_noise': 5, 'motion_blur': 5, 'fog': 5})
"""

from __future__ import annotations

import dataclasses
import json
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.generators.corruptions import CORRUPTIONS, corrupt_mixed, corruption_pair_dataset

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


# --------------------------------------------------------------------------- training
def train_classifier(run, x: np.ndarray, y: np.ndarray, *, model: str = "robust_cnn",
                     epochs: int = 8, validation: tuple[np.ndarray, np.ndarray] | None = None,
                     folder: str | Path | None = None, class_names: Sequence[str] | None = None,
                     lr: float = 1e-3, **model_kwargs: Any):
    """Train a digit classifier on clean images with the run recipe; returns (model, history).

    Paper: the pipeline's classifier (theirs: ``vit-base-mnist``, trained on clean MNIST).
    """
    import keras

    x = as_unit_images(x)
    num = int(np.max(y)) + 1
    clf = run.build(model, input_shape=x.shape[1:], num_classes=num, **model_kwargs)
    run.compile(clf, keras.optimizers.Adam(lr))
    val = None if validation is None else (as_unit_images(validation[0]), np.asarray(validation[1]))
    hist = run.fit(clf, x, np.asarray(y), epochs=epochs, validation_data=val, folder=folder)
    if folder is not None:
        run.finish(clf, list(class_names or [str(i) for i in range(num)]),
                   _spec(x.shape[1:3]), hist, folder=folder, model=model, paper="robustness",
                   data="clean digits")
    return clf, hist


def train_detector(run, x: np.ndarray, *, corruptions: Sequence[str] = DETECTOR_CORRUPTIONS,
                   epochs: int = 5, validation: np.ndarray | None = None,
                   folder: str | Path | None = None, seed: int = 0, **model_kwargs: Any):
    """Train ``distortion_detector`` (clean 0 / distorted 1) on fresh corruptions every epoch.

    Paper: Gutierrez & Sze, Figure 1's first step. Returns ``(model, history)``.
    """
    import keras

    x = as_unit_images(x)
    det = run.build("distortion_detector", input_shape=x.shape[1:], num_classes=2, **model_kwargs)
    run.compile(det, keras.optimizers.Adam(1e-3))
    ds = distortion_dataset(x, corruptions, batch_size=run.batch_size, seed=seed)
    val = None if validation is None else fixed_distortion_set(validation, corruptions,
                                                               seed=seed + 1)
    hist = run.fit(det, ds, epochs=epochs, validation_data=val, folder=folder)
    if folder is not None:
        run.finish(det, ["clean", "distorted"], _spec(x.shape[1:3]), hist, folder=folder,
                   model="distortion_detector", paper="robustness",
                   data=f"clean vs {', '.join(corruptions)}")
    return det, hist


def train_denoiser(run, x: np.ndarray, *, corruptions: Sequence[str] = DENOISER_CORRUPTIONS,
                   epochs: int = PAPER_DENOISER_EPOCHS, validation: np.ndarray | None = None,
                   folder: str | Path | None = None, seed: int = 0, **model_kwargs: Any):
    """Train ``conv_denoiser`` noisy -> clean with MSE; each image gets one of ``corruptions``
    at random, re-drawn every epoch.

    Paper: Gutierrez & Sze, section 4.1.1 ("randomly choosing between the two for each image";
    loss 0.1365 after 50 epochs). Returns ``(model, history)``.
    """
    import keras

    x = as_unit_images(x)
    den = run.build("conv_denoiser", input_shape=x.shape[1:], **model_kwargs)
    run.compile(den, keras.optimizers.Adam(1e-3), loss="mse", metrics=None)
    ds = corruption_pair_dataset(x, corruptions, batch_size=run.batch_size, seed=seed)
    val = None
    if validation is not None:
        clean = as_unit_images(validation)
        noisy, _ = corrupt_mixed(clean, corruptions, seed=seed + 1, value_range=1.0)
        val = (noisy, clean)
    hist = run.fit(den, ds, epochs=epochs, validation_data=val, folder=folder)
    if folder is not None:
        run.finish(den, ["reconstruction"], _spec(x.shape[1:3]), hist, folder=folder,
                   model="conv_denoiser", paper="robustness",
                   data=f"noisy ({' or '.join(corruptions)}) -> clean")
    return den, hist


def _spec(size):
    from kerasdoc.generators.spec import ImageSpec

    return ImageSpec(tuple(int(s) for s in size), "grayscale", rescale=1 / 255)


# --------------------------------------------------------------------------- the pipeline
_INFER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_batches(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Inference in batches through one traced function per model (``model.predict`` retraces
    for every new subset size, which costs seconds per call in the pipeline)."""
    import tensorflow as tf

    fn = _INFER.get(model)
    if fn is None:
        sig = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        fn = tf.function(lambda t: model(t, training=False), input_signature=[sig])
        _INFER[model] = fn
    x = np.asarray(x, np.float32)
    outs = [np.asarray(fn(tf.constant(x[i:i + batch_size])))
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0, *model.output_shape[1:]), np.float32)


def run_pipeline(classifier, detector, denoiser, images: np.ndarray, *,
                 threshold: float = 0.5, batch_size: int = 256) -> dict[str, np.ndarray]:
    """Classify -> detect -> denoise what the detector flags -> re-classify (no labels used).

    Paper: Gutierrez & Sze, Figure 1 (the framework they propose; their code ran a proxy, see
    :func:`oracle_pipeline`).

    Args:
        classifier, detector, denoiser: Keras models (detector: softmax over clean / distorted).
        images: float32 [n, h, w, 1] in [0, 1].
        threshold: float. Flag an image when P(distorted) >= threshold. Defaults to 0.5.
        batch_size: int.

    Returns:
        ``before`` (class ids without the pipeline), ``after`` (class ids with it), ``flagged``
        (bool), ``p_distorted``, ``denoised`` (the images the classifier saw after: denoised where
        flagged, original elsewhere).
    """
    images = as_unit_images(images)
    before = predict_batches(classifier, images, batch_size).argmax(-1)
    p_dist = predict_batches(detector, images, batch_size)[:, 1]
    flagged = p_dist >= threshold
    seen = images.copy()
    after = before.copy()
    if flagged.any():
        seen[flagged] = predict_batches(denoiser, images[flagged], batch_size)
        after[flagged] = predict_batches(classifier, seen[flagged], batch_size).argmax(-1)
    return {"before": before, "after": after, "flagged": flagged, "p_distorted": p_dist,
            "denoised": seen}


def oracle_pipeline(classifier, denoiser, images: np.ndarray, labels: np.ndarray, *,
                    batch_size: int = 256, before: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """ORACLE (uses the labels): denoise only the images the classifier got wrong, re-classify.

    Paper: Gutierrez & Sze's own proxy in ``Pipeline.py`` ("the images that were not classified
    correctly are then passed to a DNN denoiser"), which produced their Table 2. It looks at the
    labels, so it can only raise accuracy and is no deployable pipeline; kerasdoc reports it
    beside, never instead of, :func:`run_pipeline`.

    Args:
        classifier, denoiser: Keras models.
        images: float32 [n, h, w, 1] in [0, 1].
        labels: the true class ids (this is what makes it an oracle).
        batch_size: int.
        before: the classifier's class ids when already computed.

    Returns:
        ``before``, ``after`` (class ids), ``flagged`` (the misclassified images).
    """
    images, labels = as_unit_images(images), np.asarray(labels)
    if before is None:
        before = predict_batches(classifier, images, batch_size).argmax(-1)
    wrong = before != labels
    after = before.copy()
    if wrong.any():
        den = predict_batches(denoiser, images[wrong], batch_size)
        after[wrong] = predict_batches(classifier, den, batch_size).argmax(-1)
    return {"before": before, "after": after, "flagged": wrong}


def evaluate_breakouts(classifier, detector, denoiser, breakouts: Sequence[Breakout], *,
                       threshold: float = 0.5) -> list[dict[str, Any]]:
    """Tables 1-2 rows: accuracy before, after the detector-gated pipeline and after the oracle,
    with the detector's accuracy and flag rates per breakout (accuracies in %)."""
    rows = []
    for b in breakouts:
        gated = run_pipeline(classifier, detector, denoiser, b.images, threshold=threshold)
        oracle = oracle_pipeline(classifier, denoiser, b.images, b.labels,
                                 before=gated["before"])
        dist = b.distorted
        flagged = gated["flagged"]
        rows.append({
            "breakout": b.name, "n": int(len(b.labels)), "counts": b.counts(),
            "before": 100 * float((gated["before"] == b.labels).mean()),
            "after_gated": 100 * float((gated["after"] == b.labels).mean()),
            "after_oracle": 100 * float((oracle["after"] == b.labels).mean()),
            "flagged_pct": 100 * float(flagged.mean()),
            "detector_accuracy": 100 * float((flagged == dist).mean()),
            "clean_flagged_pct": 100 * float(flagged[~dist].mean()) if (~dist).any() else None,
            "distorted_flagged_pct": 100 * float(flagged[dist].mean()) if dist.any() else None,
            "paper_before": PAPER_TABLE1.get(b.name), "paper_after": PAPER_TABLE2.get(b.name),
        })
    return rows


def denoiser_mse(denoiser, clean: np.ndarray, corruptions: Sequence[str] = DENOISER_CORRUPTIONS,
                 *, seed: int = 0) -> dict[str, float]:
    """Test MSE of the denoiser per corruption, beside the MSE of doing nothing."""
    clean = as_unit_images(clean)
    out = {}
    for c in corruptions:
        noisy, _ = corrupt_mixed(clean, [c], seed=seed, value_range=1.0)
        rec = predict_batches(denoiser, noisy)
        out[c] = {"denoised_mse": float(np.mean((rec - clean) ** 2)),
                  "noisy_mse": float(np.mean((noisy - clean) ** 2))}
    return out


# --------------------------------------------------------------------------- figures
def plot_reconstructions(noisy: np.ndarray, reconstructed: np.ndarray, clean: np.ndarray,
                         path: str | Path, *, k: int = 10,
                         title: str = "Denoising autoencoder: noisy / reconstructed / clean"
                         ) -> Path:
    """The paper's Figure 5: ``k`` noisy inputs (top), their reconstructions, the clean images."""
    from kerasdoc.reporting import _pyplot, save_figure

    plt = _pyplot()
    k = min(k, len(noisy))
    fig, axes = plt.subplots(3, k, figsize=(1.1 * k, 3.6))
    axes = np.asarray(axes).reshape(3, k)
    for r, (row, label) in enumerate(((noisy, "noisy"), (reconstructed, "reconstructed"),
                                      (clean, "clean"))):
        for i in range(k):
            ax = axes[r, i]
            ax.imshow(np.asarray(row[i]).squeeze(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_loss_curve(history: dict[str, Sequence[float]], path: str | Path, *,
                    paper_loss: float | None = PAPER_DENOISER_LOSS,
                    title: str = "Denoising autoencoder: MSE loss per epoch") -> Path:
    """The paper's Figure 6: training (and validation) loss per epoch, the paper's final loss
    as a dotted line."""
    from kerasdoc.reporting import _pyplot, save_figure

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for key in ("loss", "val_loss"):
        if key in history:
            ax.plot(range(1, len(history[key]) + 1), history[key], label=key,
                    linestyle="--" if key.startswith("val") else "-")
    if paper_loss is not None:
        ax.axhline(paper_loss, color="grey", linestyle=":",
                   label=f"paper: {paper_loss} after {PAPER_DENOISER_EPOCHS} epochs")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_breakouts(rows: Sequence[dict[str, Any]], path: str | Path, *, title: str) -> Path:
    """Bars per breakout: before, after (detector-gated), after (oracle), and the paper's."""
    from kerasdoc.reporting import grouped_bar_plot

    cats = [f"B{i + 1}" for i in range(len(rows))]
    series = {"before": [r["before"] for r in rows],
              "after (detector-gated)": [r["after_gated"] for r in rows],
              "after (oracle)": [r["after_oracle"] for r in rows],
              "paper before": [r["paper_before"] or 0 for r in rows],
              "paper after (oracle)": [r["paper_after"] or 0 for r in rows]}
    return grouped_bar_plot(path, cats, series, title=title, xlabel="breakout (B1..B5)",
                            ylabel="accuracy (%)")


def save_rows(path: str | Path, rows: Any) -> Path:
    """JSON dump (for intermediate results)."""
    path = Path(path)
    path.write_text(json.dumps(rows, indent=2, default=float))
    return path


# --------------------------------------------------------------------------- real digit sets
def mnist_style(image: np.ndarray, size: int = 28) -> np.ndarray:
    """One grey digit (white ink on black, any size) the MNIST way: fit its ink box into
    ``20/28`` of the side keeping the aspect ratio, centre it on a black ``size`` x ``size``
    canvas. Returns uint8.

    Example:
        >>> mnist_style(np.full((30, 10), 255, np.uint8)).shape
        (28, 28)
    """
    import cv2

    img = np.asarray(image)
    if img.ndim == 3:
        img = img[..., 0]
    ys, xs = np.nonzero(img > 0)
    if len(ys):
        img = img[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    box = int(round(size * 20 / 28))
    h, w = img.shape
    scale = box / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    small = cv2.resize(img.astype(np.uint8), (nw, nh), interpolation=cv2.INTER_AREA)
    out = np.zeros((size, size), np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out


def load_digit_folder(root: str | Path, *, size: int = 28, limit: int | None = None,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read an ImageNet-style folder of grey digits (``root/<class>/*.png``) MNIST-style.

    Used for the Hoda Persian digits (``hoda-digits/{train,valid}``), white ink on black.

    Args:
        root: the folder with one sub-folder per class.
        size: int. Output side. Defaults to 28.
        limit: int or None. A seeded random subset of this many files.
        seed: int.

    Returns:
        ``(x uint8 [n, size, size, 1], y int64, class_names)``.

    Raises:
        FileNotFoundError: ``root`` is not a folder or holds no class folders with images.
    """
    import cv2

    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    files = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir())
             if f.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp")]
    if not files:
        raise FileNotFoundError(f"{root}: expected class folders of digit images.")
    if limit is not None and limit < len(files):
        pick = np.sort(np.random.default_rng(seed).choice(len(files), limit, replace=False))
        files = [files[i] for i in pick]
    from kerasdoc.generators.files import sniff_image

    x = np.zeros((len(files), size, size, 1), np.uint8)
    for k, (f, _) in enumerate(files):
        sniff_image(f)  # the size guard of every path (BadImageFile names the file)
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ValueError(f"{f}: not a readable image.")
        x[k, ..., 0] = mnist_style(img, size)
    return x, np.array([i for _, i in files], np.int64), classes


# --------------------------------------------------------------------------- deployment
def _load(model_or_path):
    if isinstance(model_or_path, str | Path):
        from kerasdoc.models.weights import load_keras_model

        return load_keras_model(model_or_path, compile=False)
    return model_or_path


def classify_folder(folder: str | Path, classifier, detector, denoiser, *,
                    class_names: Sequence[str] | None = None, spec: Any = None,
                    threshold: float = 0.5, batch_size: int = 256) -> list[dict[str, Any]]:
    """Run the detector-gated pipeline on every image file under ``folder``.

    Paper: Gutierrez & Sze's Figure 1 as a tool: a user's folder of (possibly distorted) digit
    images in, per image the class, whether it was flagged and denoised, and the class the
    classifier gave before denoising.

    Args:
        folder: str or Path. Searched recursively for PNG / JPEG / BMP / GIF files.
        classifier, detector, denoiser: Keras models or ``.keras`` paths (trained runs).
        class_names: names per class id (default: from the classifier's model card when a path
            is given, else the ids).
        spec: the :class:`kerasdoc.generators.spec.ImageSpec` (default: grayscale at the
        classifier's
            input size, rescale 1/255).
        threshold: float. The detector's flag threshold.
        batch_size: int.

    Returns:
        One dict per file: ``file, class_id, class_name, flagged, p_distorted, class_id_before``.

    Raises:
        FileNotFoundError: ``folder`` is missing or holds no images.
    """
    import tensorflow as tf

    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in
                   (".png", ".jpg", ".jpeg", ".bmp", ".gif")) if folder.is_dir() else []
    if not files:
        raise FileNotFoundError(f"{folder}: no image files (PNG, JPEG, BMP, GIF) found.")
    if class_names is None and isinstance(classifier, str | Path):
        from kerasdoc.card import read_card

        try:
            class_names = read_card(classifier).class_names
        except (FileNotFoundError, ValueError):
            class_names = None
    clf, det, den = _load(classifier), _load(detector), _load(denoiser)
    spec = spec or _spec(clf.input_shape[1:3])
    x = np.concatenate([spec.decode_batch(tf.constant([p.read_bytes() for p in
                                                       files[i:i + batch_size]])).numpy()
                        for i in range(0, len(files), batch_size)])
    out = run_pipeline(clf, det, den, x, threshold=threshold, batch_size=batch_size)
    names = list(class_names) if class_names else None
    return [{"file": str(f), "class_id": int(a),
             "class_name": names[int(a)] if names else str(int(a)),
             "flagged": bool(fl), "p_distorted": float(p), "class_id_before": int(b)}
            for f, a, b, fl, p in zip(files, out["after"], out["before"], out["flagged"],
                                      out["p_distorted"])]


def export_pipeline(classifier, detector, denoiser, name: str = "robust_pipeline",
                    base_dir: str | Path = "saved_models", *,
                    class_names: Sequence[str] | None = None, spec: Any = None,
                    threshold: float = 0.5, version: int | None = None) -> Path:
    """Export detect -> denoise -> classify as ONE SavedModel for TF Serving.

    Paper: Gutierrez & Sze's Figure 1 pipeline, deployable: encoded image bytes in, the three
    models inside, named outputs.

    Signatures:

    * ``serving_default``: ``images`` (``tf.string`` [batch], PNG / JPEG / BMP / GIF bytes),
      decoded and preprocessed by ``spec`` inside the graph;
    * ``predict_tensor``: ``images`` (float32 [batch, h, w, c] on the 0-255 scale, any size).

    Both return ``probabilities``, ``class_ids``, ``class_names`` (after the pipeline),
    ``flagged`` (bool: the detector flagged it and it was denoised), ``distortion_probability``,
    ``probabilities_before`` and ``class_ids_before`` (the classifier on the raw image).

    Args:
        classifier, detector, denoiser: Keras models or ``.keras`` paths.
        name: str. Folder name under ``base_dir``.
        base_dir: str or Path. Defaults to ``saved_models``.
        class_names: names per class (default: the ids).
        spec: the ImageSpec (default: grayscale at the classifier's input, rescale 1/255).
        threshold: float. Detector threshold baked into the graph.
        version: int or None. Next free version by default; never overwritten.

    Returns:
        The version folder written.
    """
    import keras
    import tensorflow as tf

    from kerasdoc.export import claim_version, publish_version

    clf, det, den = _load(classifier), _load(detector), _load(denoiser)
    spec = spec or _spec(clf.input_shape[1:3])
    k = clf.output_shape[-1]
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(names) != k:
        raise ValueError(f"Got {len(names)} class names for a classifier with {k} outputs.")
    model_dir = Path(base_dir) / name
    version, auto_version = claim_version(model_dir, None if version is None else int(version))
    table = tf.constant(names)
    thr = float(threshold)

    def outputs(x):
        p_dist = tf.cast(det(x, training=False), tf.float32)[:, 1]
        flagged = p_dist >= thr
        cleaned = tf.cast(den(x, training=False), x.dtype)
        seen = tf.where(flagged[:, None, None, None], cleaned, x)
        probs = tf.cast(clf(seen, training=False), tf.float32)
        before = tf.cast(clf(x, training=False), tf.float32)
        ids = tf.argmax(probs, -1)
        return {"probabilities": probs, "class_ids": ids, "class_names": tf.gather(table, ids),
                "flagged": flagged, "distortion_probability": p_dist,
                "probabilities_before": before, "class_ids_before": tf.argmax(before, -1)}

    archive = keras.export.ExportArchive()
    for m in (clf, det, den):
        archive.track(m)
    archive.add_endpoint("serving_default", lambda images: outputs(spec.decode_batch(images)),
                         input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    archive.add_endpoint("predict_tensor", lambda images: outputs(spec.preprocess_batch(images)),
                         input_signature=[tf.TensorSpec([None, None, None, None], tf.float32,
                                                        name="images")])
    # written under a temporary name (TF Serving ignores non-numeric folders) and renamed into
    # place, so a server polling model_dir never loads a half-written version
    import shutil
    import tempfile

    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir))
    try:
        archive.write_out(str(staging / "model"), verbose=False)
        final = publish_version(staging / "model", model_dir, version, auto_version, {
            "name": name, "version": version, "class_names": names, "threshold": thr,
            "image_spec": [spec.get_config()], "models": [clf.name, det.name, den.name],
            "pipeline": "detect -> denoise flagged -> classify",
            "signatures": ["serving_default", "predict_tensor"]})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


# --------------------------------------------------------------------------- SVHN comparison
#: The paper's SVHN results (accuracy %): baseline CNN and the denoising-autoencoder CNN.
PAPER_SVHN = {"svhn_cnn": 77.0, "svhn_denoising_cnn": 79.5}
#: The paper's SVHN training settings.
SVHN_SETTINGS = {"batch_size": 16, "validation_split": 0.2, "epochs": 15, "n_train": 10_000,
                 "n_test": 2_000}


def to_svhn_shape(x: np.ndarray, size: int = 32) -> np.ndarray:
    """Grey digits -> ``size`` x ``size`` x 3 float32 in [0, 1] (a stand-in for SVHN crops).

    Example:
        >>> to_svhn_shape(np.zeros((2, 28, 28), np.uint8)).shape
        (2, 32, 32, 3)
    """
    return warp_digits(x, size=size, channels=3)


def svhn_comparison(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    y_test: np.ndarray, *, seeds: Sequence[int] = (0, 1, 2),
                    epochs: int = SVHN_SETTINGS["epochs"],
                    batch_size: int = SVHN_SETTINGS["batch_size"],
                    n_train: int = SVHN_SETTINGS["n_train"], n_test: int = SVHN_SETTINGS["n_test"],
                    out: str | Path | None = None) -> dict[str, Any]:
    """Baseline ``svhn_cnn`` against ``svhn_denoising_cnn``, the paper's recipe, several seeds.

    Paper: Gutierrez & Sze, section 4.2: 10,000 training / 2,000 test images sampled at random,
    batch 16, ``validation_split=0.2``, 15 epochs; 77.0% (CNN) against 79.5% (autoencoder CNN).

    Args:
        x_train, y_train, x_test, y_test: images [n, 32, 32, 3] in [0, 1] (SVHN, or a stand-in
            from :func:`to_svhn_shape`) and labels.
        seeds: one sampling + training run per seed.
        epochs, batch_size, n_train, n_test: the paper's by default.
        out: a folder for the Run recipe's files, or None.

    Returns:
        ``{"runs": [{seed, model, test_accuracy, history, correct_probability}], "summary":
        {model: (mean, std)}}``.
    """
    import keras

    from kerasdoc.reporting import mean_std
    from kerasdoc.runs import Run

    runs = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        tr = rng.choice(len(x_train), min(n_train, len(x_train)), replace=False)
        te = rng.choice(len(x_test), min(n_test, len(x_test)), replace=False)
        xtr, ytr, xte, yte = x_train[tr], y_train[tr], x_test[te], y_test[te]
        for name in ("svhn_cnn", "svhn_denoising_cnn"):
            folder = None if out is None else Path(out) / f"{name}_seed{seed}"
            with Run(folder, batch_size=batch_size, seed=seed, tensorboard=False) as run:
                model = run.build(name, input_shape=xtr.shape[1:], num_classes=10)
                run.compile(model, keras.optimizers.Adam(1e-3))
                hist = run.fit(model, xtr, ytr, epochs=epochs,
                               validation_split=SVHN_SETTINGS["validation_split"])
            probs = predict_batches(model, xte)
            runs.append({"seed": int(seed), "model": name,
                         "test_accuracy": 100 * float((probs.argmax(-1) == yte).mean()),
                         "history": hist,
                         "correct_probability": probs[np.arange(len(yte)), yte].tolist()})
    summary = {m: mean_std([r["test_accuracy"] for r in runs if r["model"] == m])
               for m in ("svhn_cnn", "svhn_denoising_cnn")}
    return {"runs": runs, "summary": summary}


def plot_svhn(result: dict[str, Any], out: str | Path) -> list[Path]:
    """Figures 7-9 of the paper: the autoencoder CNN's loss / accuracy per epoch (first seed),
    the correct-label probability of each test image (first seed, both models), and the test
    accuracy of both models per seed."""
    from kerasdoc.reporting import _pyplot, grouped_bar_plot, plot_history, save_figure

    out = Path(out)
    first = {r["model"]: r for r in result["runs"] if r["seed"] == result["runs"][0]["seed"]}
    paths = [plot_history(first["svhn_denoising_cnn"]["history"], out / "fig7_svhn_curves.png",
                          title="Figure 7: denoising-autoencoder CNN, loss and accuracy")]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for m, r in first.items():
        ax.plot(r["correct_probability"], ".", markersize=2, alpha=0.6, label=m)
    ax.set_xlabel("test image")
    ax.set_ylabel("probability of the correct label")
    ax.set_title("Figure 8: correct-label probabilities per test image", fontsize=9)
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out / "fig8_svhn_probabilities.png"))
    seeds = sorted({r["seed"] for r in result["runs"]})
    series = {m: [next(r["test_accuracy"] for r in result["runs"]
                       if r["seed"] == s and r["model"] == m) for s in seeds]
              for m in ("svhn_cnn", "svhn_denoising_cnn")}
    paths.append(grouped_bar_plot(out / "fig9_svhn_scores.png", [f"seed {s}" for s in seeds],
                                  series, title="Figure 9: test accuracy, CNN vs autoencoder CNN",
                                  xlabel="run", ylabel="accuracy (%)"))
    return paths

"""Classify -> detect -> denoise -> re-classify (:func:`run_pipeline`), the paper's label-using
proxy (:func:`oracle_pipeline`), and their evaluation on the breakouts."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from kerasdoc.generators.corruptions import corrupt_mixed
from kerasdoc.robustness.breakouts import (
    DENOISER_CORRUPTIONS,
    PAPER_TABLE1,
    PAPER_TABLE2,
    Breakout,
    as_unit_images,
)

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

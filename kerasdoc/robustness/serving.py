"""The detect -> denoise -> classify pipeline exported as one SavedModel
(``kerasdoc robust export``), through :mod:`kerasdoc.export`'s one versioning path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kerasdoc.robustness.folders import _load
from kerasdoc.robustness.training import _spec


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

    from kerasdoc.export import claim_version, drop_staging, make_staging, publish_version
    from kerasdoc.keras_internals import write_export_archive

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
    staging = make_staging(model_dir, version)
    try:
        write_export_archive(archive, str(staging / "model"))
        final = publish_version(staging / "model", model_dir, version, auto_version, {
            "name": name, "version": version, "class_names": names, "threshold": thr,
            "image_spec": [spec.get_config()], "models": [clf.name, det.name, den.name],
            "pipeline": "detect -> denoise flagged -> classify",
            "signatures": ["serving_default", "predict_tensor"]})
    finally:
        drop_staging(staging)
    return final

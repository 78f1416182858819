"""Training glue for the robustness models (through :class:`kerasdoc.runs.Run`):
the classifier, the distortion detector and the denoising autoencoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.generators.corruptions import corrupt_mixed, corruption_pair_dataset
from kerasdoc.robustness.breakouts import (
    DENOISER_CORRUPTIONS,
    DETECTOR_CORRUPTIONS,
    PAPER_DENOISER_EPOCHS,
    as_unit_images,
    distortion_dataset,
    fixed_distortion_set,
)


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

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

One module per concern, all re-exported here (``from kerasdoc import robustness as R``):
:mod:`~kerasdoc.robustness.breakouts` (the breakouts and training sets),
:mod:`~kerasdoc.robustness.training`, :mod:`~kerasdoc.robustness.pipeline`,
:mod:`~kerasdoc.robustness.plots`, :mod:`~kerasdoc.robustness.folders` (real digit folders),
:mod:`~kerasdoc.robustness.serving` (the pipeline as one SavedModel) and
:mod:`~kerasdoc.robustness.svhn` (the paper's SVHN comparison).

Example:
    >>> import numpy as np
    >>> x = np.zeros((40, 28, 28, 1), np.float32); y = np.arange(40) % 10
    >>> bo = make_breakouts(x, y, n=20, seed=0)
    >>> [b.name for b in bo][1], bo[4].counts()
    ('50% clean, 50% shot noise', {'identity': 5, 'shot_noise': 5, 'motion_blur': 5, 'fog': 5})
"""

from kerasdoc.robustness.breakouts import (
    BREAKOUTS,
    DENOISER_CORRUPTIONS,
    DETECTOR_CORRUPTIONS,
    PAPER_DENOISER_EPOCHS,
    PAPER_DENOISER_LOSS,
    PAPER_TABLE1,
    PAPER_TABLE2,
    Breakout,
    as_unit_images,
    distortion_dataset,
    fixed_distortion_set,
    make_breakout,
    make_breakouts,
    warp_digits,
)
from kerasdoc.robustness.folders import classify_folder, load_digit_folder, mnist_style
from kerasdoc.robustness.pipeline import (
    denoiser_mse,
    evaluate_breakouts,
    oracle_pipeline,
    predict_batches,
    run_pipeline,
)
from kerasdoc.robustness.plots import plot_breakouts, plot_loss_curve, plot_reconstructions
from kerasdoc.robustness.serving import export_pipeline
from kerasdoc.robustness.svhn import (
    PAPER_SVHN,
    SVHN_SETTINGS,
    plot_svhn,
    svhn_comparison,
    to_svhn_shape,
)
from kerasdoc.robustness.training import train_classifier, train_denoiser, train_detector

__all__ = [
    "BREAKOUTS", "DENOISER_CORRUPTIONS", "DETECTOR_CORRUPTIONS", "PAPER_DENOISER_EPOCHS",
    "PAPER_DENOISER_LOSS", "PAPER_SVHN", "PAPER_TABLE1", "PAPER_TABLE2", "SVHN_SETTINGS",
    "Breakout", "as_unit_images", "classify_folder", "denoiser_mse", "distortion_dataset",
    "evaluate_breakouts", "export_pipeline", "fixed_distortion_set", "load_digit_folder",
    "make_breakout", "make_breakouts", "mnist_style", "oracle_pipeline", "plot_breakouts",
    "plot_loss_curve", "plot_reconstructions", "plot_svhn", "predict_batches", "run_pipeline",
    "svhn_comparison", "to_svhn_shape", "train_classifier", "train_denoiser", "train_detector",
    "warp_digits",
]

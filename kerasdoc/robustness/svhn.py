"""The paper's SVHN comparison: the baseline CNN against the denoising-autoencoder CNN."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.robustness.breakouts import warp_digits
from kerasdoc.robustness.pipeline import predict_batches

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

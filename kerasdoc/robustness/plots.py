"""The paper's figures: reconstructions (Figure 5), the denoiser's loss curve (Figure 6), and
the breakout bars beside the paper's Tables 1-2."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kerasdoc.robustness.breakouts import PAPER_DENOISER_EPOCHS, PAPER_DENOISER_LOSS


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

"""The five published methods kerasdoc mirrors, named by author and title (no TensorFlow import).

Models (``register_model(paper=...)``) and experiments (``PAPER = ...``) refer to a paper by its key
here; every output a user reads (``kerasdoc list``, result tables, model cards) names the paper
with :func:`cite`, never by an internal file name.

Example:
    >>> cite("numeric-loss").split(",")[0]
    'Suzuki et al.'
    >>> cite("persian-ocr", short=True)
    'Kendal (2019)'
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Paper:
    """One source publication: who wrote it, its title and year, and what kerasdoc takes from it."""

    key: str
    authors: str
    title: str
    year: int | None
    contributes: str

    def cite(self, short: bool = False) -> str:
        """``"Authors, Title (year)"``, or ``"Authors (year)"`` with ``short=True``."""
        year = f" ({self.year})" if self.year else ""
        return f"{self.authors}{year}" if short else f"{self.authors}, {self.title}{year}"


PAPERS: dict[str, Paper] = {p.key: p for p in (
    Paper("invoice", "Wang et al.",
          "Lightweight Deep Learning Model for Invoice Image Classification", None,
          "invoice_resnet and the Table 1 baselines (AlexNet, ZFNet, VGG-16, ResNet-18)"),
    Paper("rvl-cdip", "Das et al.",
          "Document Image Classification with Intra-Domain Transfer Learning and Stacked "
          "Generalization of Deep Convolutional Neural Networks", 2018,
          "holistic and region models on RVL-CDIP and their stacking, as rebuilt in the blog "
          "'How I Built A Document Classification System using Deep Convolutional Neural "
          "Networks'"),
    Paper("numeric-loss", "Suzuki et al.",
          "An Image Classification Model that Learns Image Features and Numerical Information",
          2021, "NumericLoss, the three indicators, the DNN / CNN / RNN digit models"),
    Paper("robustness", "Gutierrez & Sze",
          "How Deep Can We Go? A Case Study on Image Classification", 2023,
          "MNIST-C corruptions, breakouts, distortion detection, denoising autoencoder"),
    Paper("persian-ocr", "Kendal",
          "How can recent advances in Convolutional Neural Networks and Deep Learning improve the "
          "Optical Character Recognition of Persian text? (MSc report, City University London)",
          2019,
          "ResNet-34/50 transfer learning, one-cycle, LR finder, discriminative rates"),
)}


def get_paper(key: str) -> Paper:
    """The :class:`Paper` for ``key`` (``ValueError`` naming the known keys otherwise)."""
    if key not in PAPERS:
        raise ValueError(f"Unknown paper {key!r}. Expected one of: {', '.join(PAPERS)}.")
    return PAPERS[key]


def cite(key: str, short: bool = False) -> str:
    """How outputs name paper ``key``: authors, title, year (``""`` for an empty key)."""
    return get_paper(key).cite(short) if key else ""

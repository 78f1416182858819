"""Generated RVL-CDIP-style pages: 16 classes, each page region carrying one bit of the class.

Used by ``kerasdoc reproduce rvl-cdip`` when no ``--data`` is given, so that the whole recipe of
seeds/001 (holistic model, region models, stacking) runs on a fresh machine; every result made
from it says "generated demo pages". The folder has RVL-CDIP's layout: ``labels/{train,val}.txt``
(``<path> <label>`` per line) and the images under ``images/<class>/``.

Example:
    >>> import tempfile
    >>> root = make_demo_pages(tempfile.mkdtemp(), train_per_class=1, val_per_class=1)
    >>> (root / "labels" / "train.txt").read_text().splitlines()[:2]
    ['images/letter/train_0.jpg 0', 'images/form/train_0.jpg 1']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA_LABEL = "generated demo pages (16 classes; each page region carries one bit of the class)"


def _page(c: int, rng: np.random.Generator) -> np.ndarray:
    """One noisy grey page with random text lines and the bars of class ``c``'s four bits."""
    h, w = int(rng.integers(150, 210)), int(rng.integers(110, 160))
    page = np.clip(rng.normal(225, 12, (h, w)), 0, 255).astype(np.uint8)
    for _ in range(8):
        y0, x0 = int(rng.integers(0, h - 4)), int(rng.integers(0, w // 2))
        page[y0:y0 + 2, x0:x0 + int(rng.integers(10, w // 2))] = 90
    if c & 1:
        page[h // 16: h // 5, w // 5: 4 * w // 5] = 20
    if c & 2:
        page[4 * h // 5: 15 * h // 16, w // 5: 4 * w // 5] = 20
    if c & 4:
        page[h // 5: 4 * h // 5, w // 16: w // 5] = 20
    if c & 8:
        page[h // 5: 4 * h // 5, 4 * w // 5: 15 * w // 16] = 20
    return page


def make_demo_pages(root: str | Path, *, train_per_class: int = 4, val_per_class: int = 4,
                    seed: int = 0) -> Path:
    """Write an RVL-CDIP-style folder of generated pages (``labels/{train,val}.txt``).

    Class ``c`` (0-15) sets 4 bits, one per region: a dark bar in the top band (bit 0), the
    bottom band (bit 1), the left band (bit 2), the right band (bit 3), on a noisy page with
    random text lines, so each region model sees one bit and the stack can combine them.

    Args:
        root: str or Path. The folder to write (created).
        train_per_class: int. Training pages per class. Defaults to 4.
        val_per_class: int. Validation pages per class. Defaults to 4.
        seed: int. Random seed: the same seed writes the same pages.

    Returns:
        ``root`` as a Path.
    """
    import cv2

    from kerasdoc.generators import RVL_CDIP_CLASSES

    root = Path(root)
    rng = np.random.default_rng(seed)
    for split, n in (("train", train_per_class), ("val", val_per_class)):
        lines = []
        for c, cname in enumerate(RVL_CDIP_CLASSES):
            (root / "images" / cname).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                rel = f"images/{cname}/{split}_{i}.jpg"
                cv2.imwrite(str(root / rel), _page(c, rng))
                lines.append(f"{rel} {c}")
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return root

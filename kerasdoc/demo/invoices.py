"""A generated demo set of three invoice-like layouts ("vat", "train", "taxi"), as image folders.

Paper: seeds/000 (Wang et al.) classifies phone photos of three invoice types: value-added tax,
train and taxi invoices. Their images are not public, so ``kerasdoc reproduce invoice`` without
``--data`` runs on this generated stand-in; every output made from it says "generated demo data".

Each class is a page layout drawn with OpenCV, then photographed badly at random (position,
scale, small rotation, perspective, lighting, blur, sensor noise):

- ``vat``: an A5-like landscape page with a header box, a seal circle and a ruled item table;
- ``train``: a small ticket with a thick top band, large text blocks and a barcode strip;
- ``taxi``: a narrow portrait slip with a few short text lines and a big fare number.

Example:
    >>> import tempfile
    >>> root = make_invoice_demo(tempfile.mkdtemp(), per_class=2, test_per_class=1)
    >>> sorted(p.name for p in (root / "train").iterdir())
    ['taxi', 'train', 'vat']
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CLASSES = ("vat", "train", "taxi")
DATA_LABEL = "generated demo data (kerasdoc.demo.invoices: three invoice-like layouts)"


def _text_line(img: np.ndarray, x: int, y: int, length: int, height: int, rng) -> None:
    """Draw a run of word-like dark blobs (a line of text) from (x, y)."""
    cx = x
    while cx < x + length:
        w = int(rng.integers(max(2, height), max(3, 4 * height)))
        w = min(w, x + length - cx)
        if w <= 1:
            break
        cv2.rectangle(img, (cx, y), (cx + w, y + height), int(rng.integers(10, 70)), -1)
        cx += w + int(rng.integers(max(2, height // 2), max(3, height + 2)))


def _draw_vat(rng) -> np.ndarray:
    h, w = 300, 440
    img = np.full((h, w), 245, np.uint8)
    cv2.rectangle(img, (20, 15), (w - 20, 70), 40, 2)
    _text_line(img, 120, 30, 200, 10, rng)
    _text_line(img, 150, 50, 140, 6, rng)
    cv2.circle(img, (60, 42), 20, 60, 2)
    top, rows = 90, int(rng.integers(5, 8))
    row_h = (h - top - 40) // rows
    cv2.rectangle(img, (20, top), (w - 20, top + rows * row_h), 40, 1)
    for r in range(1, rows):
        cv2.line(img, (20, top + r * row_h), (w - 20, top + r * row_h), 90, 1)
    for cx in (150, 260, 340):
        cv2.line(img, (cx, top), (cx, top + rows * row_h), 90, 1)
    for r in range(rows):
        _text_line(img, 28, top + r * row_h + row_h // 3, 110, 5, rng)
        _text_line(img, 350, top + r * row_h + row_h // 3, 60, 5, rng)
    _text_line(img, 30, h - 28, 250, 7, rng)
    return img


def _draw_train(rng) -> np.ndarray:
    h, w = 220, 380
    img = np.full((h, w), 225, np.uint8)
    cv2.rectangle(img, (0, 0), (w, 38), 110, -1)
    _text_line(img, 20, 12, 160, 12, rng)
    cv2.putText(img, "G" + str(int(rng.integers(10, 999))), (30, 95),
                cv2.FONT_HERSHEY_SIMPLEX, 1.3, 30, 3)
    cv2.arrowedLine(img, (150, 82), (230, 82), 40, 3, tipLength=0.3)
    _text_line(img, 250, 70, 100, 16, rng)
    _text_line(img, 25, 120, 150, 9, rng)
    _text_line(img, 210, 120, 140, 9, rng)
    _text_line(img, 25, 145, 300, 7, rng)
    x = 30
    while x < w - 40:
        bw = int(rng.integers(1, 4))
        cv2.rectangle(img, (x, 172), (x + bw, 205), 20, -1)
        x += bw + int(rng.integers(1, 4))
    return img


def _draw_taxi(rng) -> np.ndarray:
    h, w = 420, 200
    img = np.full((h, w), 250, np.uint8)
    _text_line(img, 40, 20, 120, 12, rng)
    cv2.line(img, (10, 45), (w - 10, 45), 60, 1)
    y = 65
    for _ in range(int(rng.integers(6, 10))):
        _text_line(img, 15, y, 70, 6, rng)
        _text_line(img, 110, y, 70, 6, rng)
        y += 22
    cv2.putText(img, f"{rng.uniform(8, 99):.2f}", (30, y + 50), cv2.FONT_HERSHEY_DUPLEX, 1.4, 20,
                3)
    cv2.line(img, (10, y + 70), (w - 10, y + 70), 60, 1)
    _text_line(img, 30, y + 85, 140, 6, rng)
    return img


_DRAW = {"vat": _draw_vat, "train": _draw_train, "taxi": _draw_taxi}


def _photograph(page: np.ndarray, size: tuple[int, int], rng) -> np.ndarray:
    """Put the page on a background at a random pose, light and blur it, add noise: BGR uint8."""
    out_h, out_w = size
    bg = np.full((out_h, out_w), rng.integers(60, 160), np.float32)
    bg += rng.normal(0, 8, (out_h, out_w))
    ph, pw = page.shape
    scale = rng.uniform(0.65, 0.9) * min(out_h / ph, out_w / pw)
    cx, cy = out_w / 2 + rng.uniform(-0.08, 0.08) * out_w, out_h / 2 + rng.uniform(-0.08, 0.08) * \
        out_h
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), rng.uniform(-12, 12), scale)
    m[:, 2] += (cx - pw / 2, cy - ph / 2)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    dst = cv2.transform(src[None], m)[0]
    dst += rng.uniform(-0.03, 0.03, dst.shape).astype(np.float32) * min(out_h, out_w)
    persp = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(page.astype(np.float32), persp, (out_w, out_h), borderValue=-1)
    mask = cv2.warpPerspective(np.ones_like(page, np.float32), persp, (out_w, out_h))
    img = np.where(mask > 0.5, warped, bg)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    gx, gy = rng.uniform(-0.4, 0.4, 2)
    light = 1.0 + gx * (xx / out_w - 0.5) + gy * (yy / out_h - 0.5)
    img = img * light * rng.uniform(0.75, 1.1)
    k = int(rng.choice([1, 3, 5]))
    if k > 1:
        img = cv2.GaussianBlur(img, (k, k), 0)
    img += rng.normal(0, rng.uniform(2, 10), img.shape)
    gray = np.clip(img, 0, 255).astype(np.uint8)
    tint = rng.uniform(0.85, 1.15, 3)
    return np.clip(gray[..., None] * tint, 0, 255).astype(np.uint8)


def make_invoice_demo(directory: str | Path, per_class: int = 40, *, test_per_class: int = 0,
                      size: tuple[int, int] = (192, 160), seed: int = 0) -> Path:
    """Write the generated three-layout invoice demo set as JPEG class folders.

    Paper: seeds/000 (three invoice types photographed by phone); a generated stand-in.

    Args:
        directory: str or Path. Root to write; ``train/<class>/`` (and ``test/<class>/``) are
            created in it.
        per_class: int. Training images per class (>= 2). Defaults to 40.
        test_per_class: int. Test images per class, 0 for no test folder. Defaults to 0.
        size: (height, width) of the photographs. Defaults to (192, 160).
        seed: int. Random seed: the same seed writes the same images.

    Returns:
        ``Path(directory)``; read ``root / "train"`` and ``root / "test"``.

    Example:
        >>> import tempfile
        >>> root = make_invoice_demo(tempfile.mkdtemp(), per_class=2, size=(64, 48))
        >>> len(list((root / "train" / "vat").glob("*.jpg")))
        2
    """
    if per_class < 2:
        raise ValueError(f"per_class must be >= 2. Received: per_class={per_class}")
    if test_per_class < 0:
        raise ValueError(f"test_per_class must be >= 0. Received: test_per_class={test_per_class}")
    if len(size) != 2 or min(size) < 16:
        raise ValueError(f"size must be (height, width), each >= 16. Received: size={size!r}")
    root = Path(directory)
    rng = np.random.default_rng(seed)
    for split, n in (("train", per_class), ("test", test_per_class)):
        for cls in CLASSES:
            if n == 0:
                continue
            folder = root / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = _photograph(_DRAW[cls](rng), tuple(size), rng)
                path = folder / f"{cls}_{i:04d}.jpg"
                if not cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90]):
                    raise OSError(f"Could not write {path}")
    return root

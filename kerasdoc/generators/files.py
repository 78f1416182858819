"""Image files: cheap validity checks (sniffing), header sizes, and ImageNet-style folder lists.

Every listed file is checked cheaply (existence, magic bytes, truncation, multi-page TIFF, the
decoded size) before any TensorFlow op sees it, so a bad file gives an error that names it.
Label files and saved path / label lists live in :mod:`kerasdoc.generators.label_files`,
archives in :mod:`kerasdoc.generators.archives`.

Example:
    >>> check_files([], [], on_bad="skip")
    ([], [], [], [])
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

# The pixel limit and the size guard live in kerasdoc.generators.limits (one guard for the flows,
# predict and the serving graph); re-exported here, where they used to be.
from kerasdoc.generators.limits import (
    MAX_IMAGE_PIXELS,  # noqa: F401 - re-exported
    UnreadableHeader,
    check_decoded,
    decoded_size,
    max_image_pixels,  # noqa: F401 - re-exported
    open_with_pil,
)

#: File name endings listed by ``list_image_folder`` (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


class BadImageFile(ValueError):
    """A listed image cannot be read correctly; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: {reason}")


def sniff_image(path: str | Path, *, limit: int | None = None) -> str:
    """The image format of a file from its bytes, after cheap checks for damage.

    Reads the first 32 and last 1024 bytes (and, for JPEG, the marker headers; for GIF, every
    block header; for TIFF, the page directory), so it costs microseconds per file: it catches
    missing, empty, non-image (WebP included: refused) and truncated JPEG / PNG / GIF files,
    multi-page TIFFs and images that decode to more pixels than the limit
    (:func:`kerasdoc.generators.limits.decoded_size`: what the decoder will allocate, so a
    decompression bomb is never decoded), not every corruption inside the compressed data (the
    flows catch those when decoding).

    Args:
        path: str or Path. The image file.
        limit: int or None. The pixel limit (default :func:`max_image_pixels`).

    Returns:
        One of ``"jpeg"``, ``"png"``, ``"gif"``, ``"bmp"``, ``"tiff"``.

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
        BadImageFile: (a ``ValueError``) the file is empty, not an image, truncated, a
            multi-page TIFF or too large; ``.reason`` says which.

    Example:
        >>> import tempfile
        >>> p = tempfile.mktemp(suffix=".png")
        >>> _ = open(p, "wb").write(b"not an image")
        >>> try:
        ...     sniff_image(p)
        ... except ValueError as e:
        ...     print(e.reason)
        not a JPEG, PNG, GIF, BMP or TIFF image (starts with 6e6f7420616e20696d616765)
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise BadImageFile(path, "is not a regular file")
        with open(path, "rb") as f:
            head = f.read(32)
            f.seek(max(0, size - 1024))
            tail = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"image file not found: {path}") from None
    if size == 0:
        raise BadImageFile(path, "empty file (0 bytes)")
    if head[:3] == b"\xff\xd8\xff" and b"\xff\xd9" not in tail:
        raise BadImageFile(path, f"truncated JPEG: no end-of-image marker ({size} bytes)")
    if head[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in tail[-64:]:
        raise BadImageFile(path, f"truncated PNG: no IEND chunk ({size} bytes)")
    if head[:6] in (b"GIF87a", b"GIF89a") and not tail.rstrip(b"\x00").endswith(b"\x3b"):
        raise BadImageFile(path, f"truncated GIF: no trailer byte ({size} bytes)")
    if head[:2] == b"BM" and int.from_bytes(head[2:6], "little") > size:
        raise BadImageFile(path, f"truncated BMP: header says {int.from_bytes(head[2:6], 'little')}"
                                 f" bytes, file has {size}")
    decoded = _decoded(path)  # what the decoder will allocate (kerasdoc.generators.limits)
    reason = check_decoded(decoded, limit)
    if reason:
        raise BadImageFile(path, reason)
    if decoded.fmt == "tiff":
        pages = _tiff_pages(path)
        if pages != 1:
            raise BadImageFile(path, f"multi-page TIFF ({pages} pages); expected a single page "
                                     "(split it, e.g. with PIL ImageSequence)")
    return decoded.fmt


def _decoded(path: Path):
    try:
        with open(path, "rb") as f:
            return decoded_size(f)
    except UnreadableHeader as e:
        raise BadImageFile(path, str(e)) from None


def _tiff_pages(path: Path) -> int:
    try:
        with open_with_pil(path.read_bytes(), str(path)) as im:
            return int(getattr(im, "n_frames", 1))
    except Exception as e:  # PIL raises many types on damaged TIFFs
        raise BadImageFile(path, f"unreadable TIFF ({type(e).__name__}: {e})") from e


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of an image read from its header only (no decoding): the size the
    decoder will produce (:func:`kerasdoc.generators.limits.decoded_size`; for a GIF the
    canvas TensorFlow decodes onto, which can be larger than the header's logical screen).

    Args:
        path: str or Path. The image file.

    Returns:
        ``(height, width)`` in pixels.

    Raises:
        FileNotFoundError: no such file.
        BadImageFile: not an image the guard reads (WebP among them), or an unreadable header.

    Example:
        >>> import tempfile, numpy as np, cv2
        >>> p = tempfile.mktemp(suffix=".png")
        >>> _ = cv2.imwrite(p, np.zeros((3, 5), np.uint8))
        >>> image_size(p)
        (3, 5)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image file not found: {path}")
    decoded = _decoded(path)
    return decoded.height, decoded.width


def check_files(paths: Sequence[str], labels: Sequence[int] | None = None, *,
                on_bad: str = "raise", min_size: tuple[int, int] | None = None,
                what: str = "image") -> tuple[list[str], list[int] | None, list[str], list[tuple]]:
    """Check every file with :func:`sniff_image`; raise on the first bad one or skip with a warning.

    Args:
        paths: sequence of str. Image paths.
        labels: sequence of int or None. Labels aligned with ``paths``; filtered the same way.
        on_bad: ``"raise"`` (default) or ``"skip"``. With ``"skip"`` bad files are dropped and one
            ``UserWarning`` says how many were skipped and why (first few named).
        min_size: ``(height, width)`` or None. Files smaller than this (read from the header)
            are bad, e.g. an image smaller than a fixed crop.
        what: str. Word used in messages.

    Returns:
        ``(paths, labels, formats, skipped)``: kept paths, their labels (or None), their formats,
        and ``(path, reason)`` for each skipped file.

    Example:
        >>> check_files([], [], on_bad="skip")
        ([], [], [], [])
    """
    if on_bad not in ("raise", "skip"):
        raise ValueError(f"on_bad must be 'raise' or 'skip'. Received: on_bad={on_bad!r}")
    kept, kept_labels, formats, skipped = [], [], [], []
    for i, p in enumerate(paths):
        try:
            fmt = sniff_image(p)
            if min_size is not None:
                h, w = image_size(p)
                if h < min_size[0] or w < min_size[1]:
                    raise BadImageFile(p, f"{what} is {h}x{w}, smaller than the crop "
                                          f"{min_size[0]}x{min_size[1]} (height x width)")
        except (FileNotFoundError, BadImageFile) as e:
            if on_bad == "raise":
                raise
            skipped.append((str(p), getattr(e, "reason", "file not found")))
            continue
        kept.append(str(p))
        formats.append(fmt)
        if labels is not None:
            kept_labels.append(int(labels[i]))
    if skipped:
        reasons: dict[str, int] = {}
        for _, r in skipped:
            key = r.split(" (")[0].split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        first = "; ".join(f"{p}: {r}" for p, r in skipped[:3])
        warnings.warn(f"skipped {len(skipped)} of {len(paths)} bad {what} files "
                      f"({', '.join(f'{n} {k}' for k, n in reasons.items())}). First: {first}",
                      UserWarning, stacklevel=3)
    return kept, (kept_labels if labels is not None else None), formats, skipped


def list_image_folder(directory: str | Path, classes: Sequence[str] | dict[str, int] | None = None,
                      *, follow_links: bool = False, on_bad: str = "raise",
                      extensions: Sequence[str] = IMAGE_EXTENSIONS,
                      ) -> tuple[list[str], list[int], dict[str, int], list[tuple]]:
    """List an ImageNet-style folder ``directory/<class>/*.<ext>`` in a fixed, sorted order.

    Args:
        directory: str or Path. The root with one sub-folder per class.
        classes: None (every sub-folder, sorted), a list of class names (their order gives the
            indices), or a ``class_indices`` dict from a training flow. When given, a sub-folder
            that holds images but is not among them is an error (a test class unknown in
            training), and so is a named class with no folder or no images.
        follow_links: bool. Follow symbolic links to folders inside the class folders (class
            folders that are links are always read, as Keras does).
        on_bad: ``"raise"`` or ``"skip"``: an empty class folder (and each bad file) raises,
            or is skipped with a warning that counts what was skipped.
        extensions: file name endings to list (case-insensitive).

    Returns:
        ``(paths, labels, class_indices, skipped)``; paths sorted by class index, then name.

    Raises:
        FileNotFoundError: ``directory`` does not exist.
        ValueError: no class folders, an empty or missing class folder, or an unknown class.

    Example:
        >>> import os, tempfile
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "cat"))
        >>> try:
        ...     list_image_folder(d)
        ... except ValueError as e:
        ...     print("empty" in str(e))
        True
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"image folder not found: {directory} (expected a folder with "
                                "one sub-folder of images per class)")
    exts = tuple(e.lower() for e in extensions)
    # A class folder that is a symbolic link is kept, as Keras does (it lists the folder's
    # entries with isdir, which follows links); follow_links only decides whether links
    # *inside* the class folders are walked.
    subdirs = sorted(p.name for p in directory.iterdir()
                     if p.is_dir() and not p.name.startswith("."))
    if classes is None:
        class_indices = {c: i for i, c in enumerate(subdirs)}
    elif isinstance(classes, dict):
        class_indices = {str(k): int(v) for k, v in classes.items()}
    else:
        class_indices = {str(c): i for i, c in enumerate(classes)}
    if not class_indices:
        raise ValueError(f"{directory}: no class sub-folders found (expected "
                         f"{directory}/<class>/<image>)")

    def _files(folder: Path) -> list[str]:
        out = []
        seen: dict[str, str] = {}  # real path -> the path it was first reached by
        for root, dirs, files in os.walk(folder, followlinks=follow_links):
            if follow_links:  # a link back up the tree would be walked until ELOOP
                real = os.path.realpath(root)
                if real in seen:
                    raise ValueError(f"{root}: symbolic link loop (this folder is "
                                     f"{seen[real]} again); remove the link, or pass "
                                     "follow_links=False")
                seen[real] = root
            dirs.sort()
            out.extend(os.path.join(root, f) for f in sorted(files)
                       if f.lower().endswith(exts) and not f.startswith("."))
        return out

    if classes is not None:
        unknown = [s for s in subdirs if s not in class_indices and _files(directory / s)]
        if unknown:
            raise ValueError(f"{directory}: class folder(s) {unknown} not among the known classes "
                             f"{sorted(class_indices, key=class_indices.get)} (a class unknown "
                             "in training?)")
    paths: list[str] = []
    labels: list[int] = []
    skipped: list[tuple] = []
    for name, idx in sorted(class_indices.items(), key=lambda kv: kv[1]):
        files = _files(directory / name) if (directory / name).is_dir() else []
        if not files:
            msg = (f"{directory / name}: empty class folder (no {'/'.join(exts)} files) for "
                   f"class {name!r}")
            if on_bad == "raise":
                raise ValueError(msg + "; remove it, or pass on_bad='skip'")
            skipped.append((str(directory / name), "empty class folder"))
            warnings.warn(msg + "; skipped", UserWarning, stacklevel=2)
            continue
        paths.extend(files)
        labels.extend([idx] * len(files))
    return paths, labels, class_indices, skipped

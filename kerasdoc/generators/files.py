"""Image file lists: folder listing, label files, cheap validity checks, archives, save / load.

Paper: the RVL-CDIP blog (seed 001, after Das et al. 2018) parses ``path label`` label files into
path / label lists and pickles them with joblib; the Persian OCR report (seed 004) reads
ImageNet-style folders out of a ``.tgz`` archive. These helpers do both, and check every listed
file cheaply (existence, magic bytes, truncation, multi-page TIFF, path escaping the data root)
before any TensorFlow op sees it, so a bad file gives an error that names it.

Example:
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "train.txt"), "w") as f:
    ...     _ = f.write("images/a.jpg 0\\nimages/b.jpg 3\\n")
    >>> parse_label_file(os.path.join(d, "train.txt"))
    (['images/a.jpg', 'images/b.jpg'], [0, 3])
"""

from __future__ import annotations

import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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

#: RVL-CDIP class names in label-index order (0 letter ... 15 memo).
RVL_CDIP_CLASSES = (
    "letter", "form", "email", "handwritten", "advertisement", "scientific_report",
    "scientific_publication", "specification", "file_folder", "news_article", "budget",
    "invoice", "presentation", "questionnaire", "resume", "memo",
)

#: File name endings listed by ``list_image_folder`` (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tar.xz")


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


#: Longest label accepted (digits); a longer one is an error, never an allocation.
MAX_LABEL_DIGITS = 9

_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32-LE"), (b"\x00\x00\xfe\xff", "UTF-32-BE"),
         (b"\xff\xfe", "UTF-16-LE"), (b"\xfe\xff", "UTF-16-BE"))


def _label_file_text(label_file: Path) -> str:
    """The text of a label file: UTF-8, a UTF-8 byte-order mark dropped; any other encoding is an
    error naming the file, the line and the expected encoding."""
    data = label_file.read_bytes()
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise ValueError(f"{label_file}:1: the file is {name} (byte-order mark "
                             f"{bom.hex()}); label files must be UTF-8 text (convert it, e.g. "
                             f"`iconv -f {name} -t UTF-8`)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ValueError(f"{label_file}:{line}: NUL byte in a text line (a UTF-16 file without a "
                         "byte-order mark, or not a text file?); label files must be UTF-8 text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ValueError(f"{label_file}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x} at "
                         f"column {col}); label files must be UTF-8 text (a Latin-1 / Windows "
                         "file? convert it, e.g. `iconv -f LATIN1 -t UTF-8`)") from None


_LABEL_RE = re.compile(r"-?[0-9]+\Z")


def read_label_file(label_file: str | Path, *, num_classes: int | None = None,
                    root: str | Path | None = None,
                    ) -> tuple[list[str], list[int], list[int]]:
    """:func:`parse_label_file` that also returns the line number of each entry.

    Returns:
        ``(paths, labels, line_numbers)``.
    """
    label_file = Path(label_file)
    if label_file.is_dir():
        raise IsADirectoryError(f"label file {label_file} is a directory; expected a text file "
                                "of '<path> <label>' lines")
    if not label_file.is_file():
        raise FileNotFoundError(f"label file not found: {label_file}")
    if num_classes is not None and (isinstance(num_classes, bool) or int(num_classes) < 1):
        raise ValueError(f"num_classes must be a positive integer. Received: {num_classes!r}")
    root_resolved = Path(root).resolve() if root is not None else None
    paths, labels, numbers = [], [], []
    seen: dict[str, tuple[int, int]] = {}
    duplicates: list[str] = []
    for n, raw in enumerate(_label_file_text(label_file).split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2:
            raise ValueError(f"{label_file}:{n}: malformed line {line!r}; expected "
                             "'<path> <integer label>'")
        path, lab = parts
        if not _LABEL_RE.match(lab):
            raise ValueError(f"{label_file}:{n}: label {lab!r} is not an integer in line "
                             f"{line!r}; expected '<path> <integer label>' with the label "
                             "written in digits 0-9 only (no sign, '_', decimal point or "
                             "exponent)")
        if len(lab.lstrip("-")) > MAX_LABEL_DIGITS:
            raise ValueError(f"{label_file}:{n}: label {lab} is too large (more than "
                             f"{MAX_LABEL_DIGITS} digits) in line {line!r}; labels are class "
                             "indices 0, 1, 2, ...")
        label = int(lab)
        if label < 0 or (num_classes is not None and label >= num_classes):
            hi = f"{num_classes - 1}" if num_classes is not None else "inf"
            raise ValueError(f"{label_file}:{n}: label {label} outside the class range "
                             f"[0, {hi}] in line {line!r}")
        if root_resolved is not None:
            resolve_under(root_resolved, path, where=f"{label_file}:{n}")
        key = os.path.normpath(path)
        if key in seen:
            first, first_label = seen[key]
            if first_label != label:
                raise ValueError(f"{label_file}:{n}: image {path!r} has label {label}, but "
                                 f"{label_file}:{first} gave it label {first_label}; one image "
                                 "cannot have two labels")
            duplicates.append(f"{label_file}:{n} repeats {label_file}:{first}")
        else:
            seen[key] = (n, label)
        paths.append(path)
        labels.append(label)
        numbers.append(n)
    if duplicates:
        warnings.warn(f"{len(duplicates)} duplicate line(s) in {label_file} (the same image "
                      f"and label listed again; each is kept, so it counts twice): "
                      f"{'; '.join(duplicates[:3])}", UserWarning, stacklevel=3)
    return paths, labels, numbers


def check_label_range(label_file: str | Path, labels: Sequence[int],
                      line_numbers: Sequence[int]) -> int:
    """The number of classes of a label file read without ``num_classes``: every label
    ``0 .. max`` must occur, so that a stray label (7 in a 3-class file) is an error naming its
    line instead of a silently bigger model.

    Returns:
        ``max(labels) + 1``.

    Raises:
        ValueError: some class below the largest label has no image; names the line of the
            first label above the gap.
    """
    present = sorted(set(int(v) for v in labels))
    if not present:
        return 0
    missing, expect = [], 0  # the first few absent classes, without listing up to max(labels)
    for v in present:
        while expect < v and len(missing) <= 8:
            missing.append(expect)
            expect += 1
        if len(missing) > 8:
            break
        expect = v + 1
    if missing:
        gap = missing[0]
        i = next(i for i, v in enumerate(labels) if v > gap)
        shown = ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else "")
        more = " ..." if len(present) > 12 else ""
        raise ValueError(f"{label_file}:{line_numbers[i]}: label {labels[i]} leaves class(es) "
                         f"{shown} without any image (labels present: "
                         f"{', '.join(map(str, present[:12]))}{more})"
                         f"; without num_classes= or classes= every label 0..{present[-1]} must "
                         "occur. Fix the label, or pass num_classes= / classes= if this file "
                         "really lacks some classes")
    return present[-1] + 1


def parse_label_file(label_file: str | Path, *, num_classes: int | None = None,
                     root: str | Path | None = None) -> tuple[list[str], list[int]]:
    """Parse an RVL-CDIP label file: one ``relative/path.ext label`` per line.

    Paper: the RVL-CDIP blog (seed 001) splits each line on a space into path and category.
    Blank lines and lines starting with ``#`` are ignored; a path may contain spaces (the label is
    the last field). The file must be UTF-8 (a byte-order mark is dropped); a label is written in
    ASCII digits only (``1_0``, ``+3``, ``1.0``, ``1e3`` are errors) and has at most
    :data:`MAX_LABEL_DIGITS` digits. A line repeating an earlier one warns (both are kept); one
    image listed with two different labels is an error naming both lines.

    Args:
        label_file: str or Path. The label file.
        num_classes: int or None. When given, every label must be in ``[0, num_classes)``.
        root: str, Path or None. When given, a path that escapes this folder (``../``, or an
            absolute path elsewhere) is an error.

    Returns:
        ``(paths, labels)``: paths as written in the file, integer labels.

    Raises:
        FileNotFoundError: the label file is missing.
        ValueError: a malformed line, a label that is not a plain integer or is out of range, an
            image with two labels, a path escaping ``root``, a file that is not UTF-8; the
            message names the file and the line (``file:line:``).

    Example:
        >>> import tempfile
        >>> p = tempfile.mktemp(suffix=".txt")
        >>> _ = open(p, "w").write("a.tif 1\\nb c.tif 0\\n")
        >>> parse_label_file(p, num_classes=2)
        (['a.tif', 'b c.tif'], [1, 0])
    """
    paths, labels, _ = read_label_file(label_file, num_classes=num_classes, root=root)
    return paths, labels


def resolve_under(root: str | Path, rel: str, *, where: str = "",
                  follow_links: bool = True) -> Path:
    """``root / rel``, refusing paths that escape ``root`` (``../``, absolute paths elsewhere).

    The path is judged by what it says (``..`` collapsed, as the file system would walk it),
    not by where symbolic links inside ``root`` lead: an image file that is a link to another
    disk is read, as Keras' own loaders do. ``follow_links=False`` refuses any link between
    ``root`` and the file instead.

    Args:
        root: str or Path. The data root.
        rel: str. A path relative to ``root`` (or an absolute path inside it).
        where: str. Prefix for the error message (e.g. ``label.txt:12``).
        follow_links: bool. False: a symbolic link on the way is an error naming it.

    Returns:
        The absolute path, ``..`` collapsed, links kept.

    Example:
        >>> try:
        ...     resolve_under("/data", "../etc/passwd")
        ... except ValueError as e:
        ...     print("escapes" in str(e))
        True
    """
    pre = f"{where}: " if where else ""
    base = os.path.abspath(root)
    full = os.path.normpath(os.path.join(base, rel))
    inside = [r for r in dict.fromkeys((base, os.path.realpath(base)))
              if full == r or full.startswith(r.rstrip(os.sep) + os.sep)]
    if not inside:
        raise ValueError(f"{pre}path {rel!r} escapes the data root {base}")
    if not follow_links:
        part = Path(inside[0])
        for name in Path(os.path.relpath(full, inside[0])).parts:
            part = part / name
            if part.is_symlink():
                raise ValueError(f"{pre}path {rel!r} goes through the symbolic link {part} "
                                 "(follow_links=False)")
    return Path(full)


def save_file_list(path: str | Path, paths: Sequence[str], labels: Sequence[int] | None = None,
                   **extra) -> Path:
    """Save a path / label list with joblib (``.joblib``, ``.pkl``) or as JSON (``.json``).

    Paper: the RVL-CDIP blog pickles its path and label lists with joblib.

    Args:
        path: str or Path. Output file; its suffix picks the format.
        paths: sequence of str. Image paths.
        labels: sequence of int or None. Labels aligned with ``paths``.
        **extra: JSON-safe extras stored beside them (e.g. ``class_names``).

    Returns:
        The written path.

    Example:
        >>> import tempfile, os
        >>> p = save_file_list(os.path.join(tempfile.mkdtemp(), "l.json"), ["a.jpg"], [2])
        >>> load_file_list(p)["labels"]
        [2]
    """
    path = Path(path)
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"paths and labels differ in length: {len(paths)} vs {len(labels)}")
    obj = {"paths": [str(p) for p in paths],
           "labels": None if labels is None else [int(v) for v in labels], **extra}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(obj, indent=1))
    elif path.suffix in (".joblib", ".pkl", ".pickle"):
        import joblib

        joblib.dump(obj, path)
    else:
        raise ValueError(f"unknown list format {path.suffix!r} for {path}; expected .json, "
                         ".joblib or .pkl")
    return path


def load_file_list(path: str | Path) -> dict:
    """Load a list written by :func:`save_file_list` (``{"paths", "labels", ...}``).

    Args:
        path: str or Path. A ``.json``, ``.joblib`` or ``.pkl`` file. Warning: ``.joblib`` /
            ``.pkl`` files are unpickled, which can run arbitrary code: load only lists you
            wrote (a ``UserWarning`` says so each time); JSON is the safe format.

    Returns:
        A dict with ``paths`` (list of str), ``labels`` (list of int or None) and any extras.

    Example:
        >>> import tempfile, os
        >>> p = save_file_list(os.path.join(tempfile.mkdtemp(), "l.joblib"), ["a"], [1])
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     load_file_list(p)["paths"]
        ['a']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file list not found: {path}")
    if path.suffix == ".json":
        try:
            obj = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from e
    elif path.suffix in (".joblib", ".pkl", ".pickle"):
        import warnings

        import joblib

        warnings.warn(f"Loading {path} with joblib/pickle runs code stored in the file; load "
                      "only files you trust.", UserWarning, stacklevel=2)
        obj = joblib.load(path)
    else:
        raise ValueError(f"unknown list format {path.suffix!r} for {path}; expected .json, "
                         ".joblib or .pkl")
    if not isinstance(obj, dict) or "paths" not in obj:
        raise ValueError(f"{path}: expected a dict with 'paths' and 'labels'")
    return obj


def cache_dir() -> Path:
    """Where archives are extracted: ``$KERASDOC_CACHE`` or ``~/.cache/kerasdoc``."""
    return Path(os.environ.get("KERASDOC_CACHE", Path.home() / ".cache" / "kerasdoc"))


def is_archive(path: str | Path) -> bool:
    """True for a ``.tgz`` / ``.tar(.gz|.bz2|.xz)`` / ``.zip`` file name."""
    return str(path).lower().endswith(_ARCHIVE_SUFFIXES)


def extract_archive(archive: str | Path, cache: str | Path | None = None) -> Path:
    """Extract a ``.tgz`` / ``.tar`` / ``.zip`` archive once into a cache folder and return it.

    Paper: the Persian OCR report (seed 004) untars its ImageNet-style folders with ``tarfile``.
    The cache key is the archive's name, size and modification time, so a changed archive is
    extracted again; extraction goes to a temporary folder that is renamed into place, so
    concurrent callers are safe. Members escaping the target (``../``, absolute, links out) are
    refused.

    Args:
        archive: str or Path. The archive file.
        cache: str, Path or None. Cache root (default :func:`cache_dir` ``/archives``).

    Returns:
        The folder holding the extracted contents.

    Raises:
        FileNotFoundError: the archive is missing.
        ValueError: not a readable archive, or a member escaping the target.

    Example:
        >>> import tarfile, tempfile, os
        >>> d = tempfile.mkdtemp(); os.makedirs(os.path.join(d, "x/a")); _ = open(os.path.join(d, "x/a/f.txt"), "w").write("1")
        >>> with tarfile.open(os.path.join(d, "x.tgz"), "w:gz") as t:
        ...     t.add(os.path.join(d, "x"), arcname="x")
        >>> (extract_archive(os.path.join(d, "x.tgz"), cache=d) / "x/a/f.txt").read_text()
        '1'
    """  # noqa: E501
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"archive not found: {archive}")
    st = archive.stat()
    key = hashlib.sha1(f"{archive.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    base = archive.name
    for s in _ARCHIVE_SUFFIXES:
        if base.lower().endswith(s):
            base = base[: -len(s)]
            break
    root = Path(cache) if cache is not None else cache_dir() / "archives"
    target = root / f"{base}-{key[:12]}"
    if (target / ".complete").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{base}-", dir=root))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for name in z.namelist():
                    _check_member(archive, name)
                try:
                    z.extractall(tmp)
                except (zipfile.BadZipFile, EOFError, zlib.error) as e:
                    raise ValueError(f"{archive}: damaged or truncated archive "
                                     f"({type(e).__name__}: {e}); download it again") from None
        else:
            try:
                t = tarfile.open(archive)
            except tarfile.TarError as e:
                raise ValueError(f"{archive}: not a readable tar or zip archive ({e})") from e
            with t:
                try:
                    for m in t.getmembers():
                        _check_member(archive, m.name)
                        if m.issym() or m.islnk():
                            _check_member(archive, os.path.join(os.path.dirname(m.name),
                                                                m.linkname))
                        if m.isdev() or m.isfifo():
                            raise ValueError(f"{archive}: member {m.name!r} is a device file "
                                             "or FIFO, not an image or folder; refusing to "
                                             "extract it")
                    t.extractall(tmp, filter="data")
                except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError,
                        gzip.BadGzipFile) as e:
                    raise ValueError(f"{archive}: damaged or truncated archive "
                                     f"({type(e).__name__}: {e}); download it again") from None
        (tmp / ".complete").write_text(str(archive))
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _check_member(archive: Path, name: str) -> None:
    norm = os.path.normpath(name.replace("\\", "/"))
    if os.path.isabs(norm) or norm == ".." or norm.startswith("../"):
        raise ValueError(f"{archive}: member {name!r} escapes the extraction folder")


def resolve_archive_path(path: str | Path) -> Path:
    """Map ``data.tgz/inner/folder`` to the extracted cache folder (extracting once); other
    paths are returned unchanged.

    Args:
        path: str or Path. A folder path, possibly going through an archive file.

    Returns:
        A real folder path.

    Example:
        >>> resolve_archive_path("/tmp")
        PosixPath('/tmp')
    """
    path = Path(path)
    parts = path.parts
    for i in range(len(parts), 0, -1):
        head = Path(*parts[:i])
        if is_archive(head) and head.is_file():
            return extract_archive(head).joinpath(*parts[i:])
    return path


def labels_array(labels: Sequence[int]) -> np.ndarray:
    """Labels as a 1-D int64 array (helper)."""
    return np.asarray(labels, dtype=np.int64).reshape(-1)

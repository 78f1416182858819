"""Label files (``path label`` lines), path safety under a data root, and saved path / label lists.

Paper: the RVL-CDIP blog (seed 001, after Das et al. 2018) parses ``path label`` label files into
path / label lists and pickles them with joblib. These helpers do both; every label and path is
checked (encoding, integer labels, class range, duplicates, paths escaping the data root) with
errors that name the file and line. In-memory labels (``flow(x, y)``) are checked by
:mod:`kerasdoc.generators.labels`.

Example:
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "train.txt"), "w") as f:
    ...     _ = f.write("images/a.jpg 0\\nimages/b.jpg 3\\n")
    >>> parse_label_file(os.path.join(d, "train.txt"))
    (['images/a.jpg', 'images/b.jpg'], [0, 3])
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

#: RVL-CDIP class names in label-index order (0 letter ... 15 memo).
RVL_CDIP_CLASSES = (
    "letter", "form", "email", "handwritten", "advertisement", "scientific_report",
    "scientific_publication", "specification", "file_folder", "news_article", "budget",
    "invoice", "presentation", "questionnaire", "resume", "memo",
)


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

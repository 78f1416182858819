"""What a file flow reads, validated once: the options every ``flow_from_*`` shares
(:class:`FileFlowOptions`) and the table of files, labels and targets (:class:`FileTable`).

``flow_from_directory``, ``flow_from_labelfile`` and ``flow_from_dataframe`` each list their
files and labels (:func:`dataframe_table` for a data frame), collect their shared arguments with
:meth:`FileFlowOptions.collect`, and hand both to :func:`kerasdoc.generators.file_flow.file_flow`,
which checks the files and keeps the subset (:func:`select_files`).

Example:
    >>> opts = FileFlowOptions.collect(dict(target_size=(4, 4), color_mode="rgb", seed=1,
    ...                                     other=0))
    >>> opts.target_size, opts.seed, opts.batch_size
    ((4, 4), 1, 32)
    >>> table = dataframe_table({"filename": ["a.png", "b.png"], "class": ["x", "y"]},
    ...                         None, class_mode="sparse", validate_filenames=False)
    >>> table.paths, table.labels.tolist(), table.class_indices
    (['a.png', 'b.png'], [0, 1], {'x': 0, 'y': 1})
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kerasdoc.generators.archives import resolve_archive_path
from kerasdoc.generators.files import check_files
from kerasdoc.generators.keras2 import WHITE_LIST_FORMATS
from kerasdoc.generators.label_files import resolve_under

#: ``class_mode`` values, as Keras 2 spells them.
CLASS_MODES = ("categorical", "sparse", "binary", "raw", "input", "multi_output", None)
#: File name extensions ``flow_from_dataframe(validate_filenames=True)`` keeps (Keras 2's, and GIF).
DATAFRAME_FORMATS = (*WHITE_LIST_FORMATS, "gif")


def check_choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}. Received: {name}={value!r}")


@dataclasses.dataclass
class FileFlowOptions:
    """The arguments every ``flow_from_*`` method shares (their defaults differ per method;
    :meth:`collect` takes a method's values)."""

    target_size: tuple | None = (256, 256)
    color_mode: str = "rgb"
    class_mode: str | None = "categorical"
    batch_size: int = 32
    shuffle: bool | None = None
    seed: int | None = None
    subset: str | None = None
    interpolation: str = "nearest"
    crop: Any = None
    resize_mode: str = "stretch"
    padding_mode: str = "zeros"
    on_bad: str = "raise"
    check: bool | str | None = True
    augment: bool | None = None
    cache: bool | str = False
    reduced_decode: bool = False
    spec: Any = None
    save_to_dir: str | None = None
    save_prefix: str = ""
    save_format: str = "png"

    @classmethod
    def collect(cls, values: dict) -> FileFlowOptions:
        """The options among ``values`` (a ``flow_from_*`` method's ``locals()``)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    @property
    def save(self) -> dict:
        return {"save_to_dir": self.save_to_dir, "save_prefix": self.save_prefix,
                "save_format": self.save_format}


@dataclasses.dataclass
class FileTable:
    """A file flow's rows, in file order: paths (as read), file names (as reported), labels and
    targets. ``raw_targets``: a list of per-row arrays (``class_mode="raw"``: one;
    ``"multi_output"``: one per ``y_col``); ``multi_labels``: each row's class indices
    (multi-label rows); ``formats``: each file's format, filled by :func:`select_files`."""

    paths: list[str]
    labels: np.ndarray | None
    class_indices: dict
    filenames: list[str]
    skipped: list = dataclasses.field(default_factory=list)
    raw_targets: list | None = None
    weights: np.ndarray | None = None
    multi_labels: list | None = None
    directory: Any = None
    allow_empty: bool = False
    formats: list[str] = dataclasses.field(default_factory=list)

    def take(self, idx: Sequence[int]) -> None:
        """Keep the rows ``idx``, in that order."""
        def pick(seq):
            if seq is None:
                return None
            if isinstance(seq, np.ndarray):
                return seq[idx]
            return [seq[i] for i in idx]

        self.paths, self.filenames = pick(self.paths), pick(self.filenames)
        self.formats = pick(self.formats) if self.formats else self.formats
        self.labels = None if self.labels is None else np.asarray(self.labels, np.int64)[idx]
        self.raw_targets = (None if self.raw_targets is None
                            else [pick(t) for t in self.raw_targets])
        self.weights, self.multi_labels = pick(self.weights), pick(self.multi_labels)


def select_files(table: FileTable, *, check: bool | str, on_bad: str, min_size: Any,
                 subset_indices: Callable) -> None:
    """Check the files (``check``: dropped files go to ``table.skipped``, or raise), then keep
    the rows of the subset (``subset_indices(labels, n) -> rows``)."""
    if check:
        _, _, formats, bad = check_files(table.paths, None, on_bad=on_bad, min_size=min_size)
        table.skipped += bad
        bad_paths = {p for p, _ in bad}
        table.take(np.asarray([i for i, p in enumerate(table.paths) if p not in bad_paths],
                              np.int64))
        table.formats = formats  # the kept files' formats
    else:
        table.formats = ["tiff" if p.lower().endswith((".tif", ".tiff")) else "other"
                         for p in table.paths]
    if not table.paths and not table.allow_empty:
        raise ValueError("no images left to read" + (f" ({len(table.skipped)} skipped)"
                                                     if table.skipped else ""))
    table.take(subset_indices(table.labels, len(table.paths)))


def targets_of(table: FileTable, class_mode: str | None, dtype: str) -> Any:
    """The target arrays of the table's rows for ``class_mode`` (None: no targets)."""
    num_classes = len(table.class_indices)
    if class_mode == "raw":
        return table.raw_targets[0] if table.raw_targets is not None else None
    if class_mode == "multi_output":
        return tuple(table.raw_targets)
    if class_mode == "categorical" and table.multi_labels is not None:
        targets = np.zeros((len(table.paths), num_classes), dtype)
        for i, ks in enumerate(table.multi_labels):
            targets[i, ks] = 1.0
        return targets
    if table.labels is None:
        if class_mode not in (None, "input"):
            raise ValueError(f"class_mode={class_mode!r} needs labels; use class_mode=None")
        return None
    return label_targets(table.labels, class_mode, num_classes, dtype)


def label_targets(labels: np.ndarray, class_mode: str | None, num_classes: int,
                  dtype: str) -> np.ndarray | None:
    """Integer labels -> Keras 2's targets for ``class_mode``."""
    check_choice(class_mode, CLASS_MODES, "class_mode")
    if class_mode in (None, "input"):
        return None
    if class_mode == "raw":
        return np.asarray(labels, np.float32)
    if class_mode == "binary":
        if num_classes != 2:
            raise ValueError(f"class_mode='binary' needs exactly 2 classes. "
                             f"Received: {num_classes} classes")
        return labels.astype(dtype)
    if class_mode == "sparse":
        return labels.astype(np.int32)
    return np.eye(num_classes, dtype=dtype)[labels]


# ---------------------------------------------------------------------- data frames
def _column(dataframe, name, arg="y_col"):
    try:
        return list(dataframe[name])
    except (KeyError, TypeError):
        raise ValueError(f"dataframe has no column {arg}={name!r}") from None


def _check_label_column(labels_col, y_col, class_mode, classes) -> None:
    if class_mode in ("binary", "sparse") and not all(isinstance(v, str) for v in labels_col):
        raise TypeError(f'If class_mode="{class_mode}", y_col="{y_col}" column values '
                        "must be strings.")
    if class_mode == "categorical" and not all(isinstance(v, str | list | tuple)
                                               for v in labels_col):
        raise TypeError(f'If class_mode="{class_mode}", y_col="{y_col}" column values '
                        "must be type string, list or tuple.")
    if class_mode == "binary":
        found = set(classes) if classes else set(labels_col)
        if len(found) != 2:
            raise ValueError('If class_mode="binary" there must be 2 classes. '
                             f"{len(found)} class/es were given.")


def _weights(dataframe, weight_col) -> np.ndarray | None:
    if weight_col is None:
        return None
    weights = np.asarray(_column(dataframe, weight_col, "weight_col"), dtype=object)
    if not all(isinstance(v, int | float | np.number) and not isinstance(v, bool)
               for v in weights):
        raise TypeError(f"Column weight_col={weight_col} must be numeric.")
    return np.asarray(list(weights))


def _rows_kept(paths, labels_col, classes, x_col, drop_duplicates, validate_filenames):
    """Rows with an allowed label, a first occurrence (``drop_duplicates``) and a valid image
    file name (``validate_filenames``), with Keras 2's warnings."""
    n = len(paths)
    keep = np.ones(n, bool)
    if labels_col is not None and classes is not None:
        allowed = {str(c) for c in classes}
        for i, v in enumerate(labels_col):
            vs = [v] if isinstance(v, str) else list(v)
            keep[i] = all(str(u) in allowed for u in vs) and bool(vs)
    if drop_duplicates:
        seen: set = set()
        for i, p in enumerate(paths):
            if p in seen:
                keep[i] = False
            seen.add(p)
        if len(seen) < n:
            warnings.warn(f"dropped {n - len(seen)} rows with a repeated {x_col}", stacklevel=4)
    if validate_filenames:
        from kerasdoc.generators.keras2 import validate_filename

        ok = np.asarray([validate_filename(p, DATAFRAME_FORMATS) for p in paths], bool)
        bad = int((keep & ~ok).sum())
        if bad:
            warnings.warn(f'Found {bad} invalid image filename(s) in x_col="{x_col}". '
                          "These filename(s) will be ignored.", stacklevel=4)
        keep &= ok
    return np.flatnonzero(keep)


def _class_labels(labels_col, classes):
    """``(labels, class_indices, multi)`` of a label column (multi: per-row class lists)."""
    if classes is None:
        names: set = set()
        for v in labels_col:
            names.update([v] if isinstance(v, str) else [str(u) for u in v])
        cls = sorted(names)
    else:
        cls = [str(c) for c in classes]
    class_indices = {c: i for i, c in enumerate(cls)}
    if any(not isinstance(v, str) for v in labels_col):  # multi-label rows
        multi = [[class_indices[str(u)] for u in ([v] if isinstance(v, str) else v)]
                 for v in labels_col]
        return np.asarray([m[0] for m in multi], np.int64), class_indices, multi
    return np.asarray([class_indices[v] for v in labels_col], np.int64), class_indices, None


def dataframe_table(dataframe: Any, directory: Any, *, x_col: str = "filename",
                    y_col: Any = "class", weight_col: str | None = None,
                    classes: Sequence[str] | None = None, class_mode: str | None = "categorical",
                    validate_filenames: bool = True,
                    drop_duplicates: bool = False) -> FileTable:
    """The :class:`FileTable` of ``flow_from_dataframe`` (its arguments, its checks)."""
    files = _column(dataframe, x_col, "x_col")
    if not all(isinstance(v, str) for v in files):
        raise TypeError(f"All values in column x_col={x_col} must be strings.")
    if class_mode == "multi_output" and not isinstance(y_col, list):
        raise TypeError('If class_mode="multi_output", y_col must be a list. Received '
                        f"{type(y_col).__name__}.")
    labels_col = None
    if class_mode in ("categorical", "binary", "sparse"):
        if y_col is None:
            raise ValueError(f"class_mode={class_mode!r} needs y_col")
        labels_col = _column(dataframe, y_col)
        _check_label_column(labels_col, y_col, class_mode, classes)
    elif classes:
        warnings.warn(f'`classes` will be ignored given the class_mode="{class_mode}"',
                      stacklevel=3)
    weights = _weights(dataframe, weight_col)
    if directory is not None:
        directory = resolve_archive_path(directory)
        paths = [str(resolve_under(directory, f, where=f"dataframe[{x_col!r}]")) for f in files]
    else:
        paths = list(files)
    rows = _rows_kept(paths, labels_col, classes, x_col, drop_duplicates, validate_filenames)
    table = FileTable([paths[i] for i in rows], None, {}, [files[i] for i in rows],
                      weights=None if weights is None else weights[rows], directory=directory,
                      allow_empty=bool(validate_filenames))
    if labels_col is not None:
        table.labels, table.class_indices, table.multi_labels = _class_labels(
            [labels_col[i] for i in rows], classes)
    elif class_mode == "raw":
        table.raw_targets = [np.asarray(dataframe[y_col].values if hasattr(dataframe, "iloc")
                                        else _column(dataframe, y_col) if isinstance(y_col, str)
                                        else np.stack([_column(dataframe, c) for c in y_col],
                                                      1))[rows]]
    elif class_mode == "multi_output":
        table.raw_targets = [np.asarray(_column(dataframe, c))[rows] for c in y_col]
    return table

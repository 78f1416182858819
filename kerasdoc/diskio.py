"""Saving on a full disk: one error that names the file, and nothing half-written left.

Every kerasdoc save (backups, checkpoints, ``model.keras``, model cards, ``history.json``,
exports) turns ``ENOSPC`` / ``EDQUOT``, however the library that wrote reports it (``OSError``,
h5py, TensorFlow), into a :class:`DiskFullError` whose text is one line: the file, the free
space left on its device, and what to do. The ``kerasdoc`` commands print it and exit with
status 2. Standard library only, so that every floor of the package may use it: also
:func:`check_model_file`, what of a ``.keras`` file can be checked before TensorFlow starts.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: ``errno`` values meaning the file system (or the user's quota) is full.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFullError(OSError):
    """Saving ``filename`` ran out of space. ``str()`` is one line naming the file, the free
    space left there and what to do; the kerasdoc commands print it and exit with status 2."""

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def is_disk_full(error: BaseException) -> bool:
    """True for an ``OSError`` with ``ENOSPC`` / ``EDQUOT``, or a library error (h5py,
    TensorFlow) whose message says the device is full."""
    if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
        return True
    text = str(error)
    return "No space left on device" in text or "Disk quota exceeded" in text


def disk_full_error(path: str | Path, hint: str = "", needed: int | None = None
                    ) -> DiskFullError:
    """The :class:`DiskFullError` for ``path``: bytes needed (when known) and free on its
    device, then ``hint``."""
    folder = Path(path).parent
    try:
        free = f"{shutil.disk_usage(folder).free / 1e6:.1f} MB free there"
    except OSError:
        free = "free space unknown"
    if needed is not None:
        free = f"needs {needed / 1e6:.1f} MB, {free}"
    return DiskFullError(errno.ENOSPC, f"no space left on device ({free}){hint}", str(path))


@contextlib.contextmanager
def saving(path: str | Path, hint: str = "", needed: int | None = None) -> Iterator[None]:
    """Turn a full-disk failure while writing ``path`` into a :class:`DiskFullError` naming it
    (other errors pass unchanged).

    Example:
        >>> with saving("/tmp/x"):
        ...     raise OSError(errno.ENOSPC, "No space left on device")
        Traceback (most recent call last):
        kerasdoc.diskio.DiskFullError: cannot write /tmp/x: no space left on device (...)
    """
    try:
        yield
    except DiskFullError:
        raise
    except Exception as e:
        if is_disk_full(e):
            raise disk_full_error(path, hint, needed) from None
        raise


def _atomic_write(path: Path, write, hint: str = "", needed: int | None = None) -> None:
    with saving(path, hint, needed):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.chmod(tmp, 0o666 & ~_UMASK)  # as open() would make it: not mkstemp's 0600
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _umask() -> int:
    mask = os.umask(0o022)  # read once, at import (os.umask can only read by setting)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_text(path: str | Path, text: str, hint: str = "") -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and ``os.replace``.
    A full disk leaves no temporary file and raises :class:`DiskFullError` naming ``path``."""
    _atomic_write(Path(path), lambda f: f.write(text.encode("utf-8")), hint)


def atomic_write_bytes(path: str | Path, data: bytes, hint: str = "") -> None:
    """:func:`atomic_write_text` for bytes."""
    _atomic_write(Path(path), lambda f: f.write(data), hint, len(data))


def _json_default(obj: Any) -> Any:
    """NumPy scalars and arrays (anything with ``tolist``), paths, sets and tuples as JSON."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set | tuple | range):
        return list(obj)
    return str(obj)


def write_json(path: str | Path, data: Any, hint: str = "") -> Path:
    """Write ``data`` as indented JSON, atomically (:func:`atomic_write_text`), creating the
    folder; NumPy values, paths and sets are converted. The one JSON writer of the package.

    Example:
        >>> import numpy as np, tempfile
        >>> p = write_json(Path(tempfile.mkdtemp()) / "a" / "r.json", {"acc": np.float32(0.5)})
        >>> json.loads(p.read_text())
        {'acc': 0.5}
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, default=_json_default, allow_nan=True)
                      + "\n", hint)
    return path


def check_model_file(path: str | Path) -> Path:
    """``path`` as a ``.keras`` model file that exists and is a zip archive, or the error that
    says what it is instead (:func:`kerasdoc.models.weights.load_keras_model` raises the same
    before loading; the ``kerasdoc`` commands check before TensorFlow starts).

    Raises:
        FileNotFoundError: no such file, or a folder.
        ValueError: not named ``.keras``, or not a zip archive.

    Example:
        >>> check_model_file("no/such/model.keras")
        Traceback (most recent call last):
        ...
        FileNotFoundError: Model file no/such/model.keras does not exist.
    """
    import zipfile

    p = Path(path)
    if p.is_dir():
        raise FileNotFoundError(f"Model file {p} is a directory, not a .keras file (a SavedModel "
                                "folder is served with `kerasdoc predict`, not loaded here).")
    if not p.is_file():
        raise FileNotFoundError(f"Model file {p} does not exist.")
    if p.suffix != ".keras":
        raise ValueError(f"Expected a .keras model file. Received: {p}")
    if not zipfile.is_zipfile(p):
        raise ValueError(f"{p} is not a readable .keras model: it is not a zip archive "
                         f"({p.stat().st_size:,} bytes; truncated, or another format).")
    return p

"""Archives of image folders (``.tgz``, ``.tar(.gz|.bz2|.xz)``, ``.zip``), extracted once.

Paper: the Persian OCR report (seed 004) reads ImageNet-style folders out of a ``.tgz`` archive.
:func:`extract_archive` extracts an archive once (members escaping the target refused) and
:func:`resolve_archive_path` maps ``data.tgz/inner/folder`` to the extracted folder.

Example:
    >>> is_archive("data/persian.tgz"), is_archive("data/persian")
    (True, False)
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tar.xz")


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

"""Export trained Keras models as versioned SavedModels that TensorFlow Serving loads as is.

The deployment side of every paper the project mirrors: a model trained by ``kerasdoc train`` or
an experiment is written to ``saved_models/<name>/<version>/`` with the image preprocessing
*inside* the graph, so a client sends encoded image bytes and gets class names back. The
preprocessing is the model's :class:`kerasdoc.generators.spec.ImageSpec`, read from its model card
(:mod:`kerasdoc.card`): the very spec the training flow reported.

Signatures of an exported model:

* ``serving_default``: ``images`` (``tf.string`` [batch], JPEG / PNG / BMP / GIF bytes). Decodes,
  crops, resizes, converts colour, rescales and normalises each image with the same functions,
  in the same order, as the ``generators`` flows that fed training
  (:meth:`ImageSpec.decode_and_preprocess`), then runs the model.
* ``predict_tensor``: ``images`` (``float32`` [batch, height, width, channels], pixel values on
  the 0-255 scale of a decoded image, any size); the same colour / crop / resize / rescale steps.
* ``predict_tensor_uint8``: the same for ``uint8`` image batches.

Each returns ``probabilities`` (float32 [batch, classes]), ``class_ids`` (int64 [batch]) and
``class_names`` (string [batch]); with ``top_k`` also ``top_k_probabilities``,
``top_k_class_ids`` and ``top_k_class_names`` ([batch, k]). An ensemble (several models in one
SavedModel) returns their mean probabilities (or, with a ``stacker``, a meta-classifier's
output on them: stacked generalisation) plus ``member_probabilities`` [batch, models, classes];
``serving_default`` decodes each image once and runs every member's crop and resize on it. The
class names travel as the asset ``assets/class_names.txt``; the image specs and
class names are also written to ``assets.extra/kerasdoc.json`` (ignored by TF Serving).

This module depends on the models' floor and ``generators`` only, never on the training code.

Example:
    >>> import tempfile
    >>> from kerasdoc.models import get_model
    >>> model = get_model("digits_cnn", input_shape=(28, 28, 1), num_classes=10)
    >>> path = export_for_serving(model, "digits", base_dir=tempfile.mkdtemp(),
    ...                           class_names=[str(i) for i in range(10)])  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    '1'
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasdoc.diskio import write_json
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.keras_internals import write_export_archive

METADATA_FILE = "kerasdoc.json"
CLASS_NAMES_FILE = "class_names.txt"
# The formats tf.io.decode_image reads inside the serving graph (no TIFF there).
SERVING_FORMATS = ("jpeg", "png", "gif", "bmp")
MAX_FILE_BYTES = 64 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Checking files before decoding (predict on user paths)
# --------------------------------------------------------------------------------------------

def read_image_file(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES,
                    max_pixels: int | None = None) -> bytes:
    """Read an image file's bytes after checking it is a decodable image of sane size.

    The size check is the one guard of every path (:mod:`kerasdoc.generators.limits`): what the
    decoder will allocate (for a GIF every frame, not the logical screen), read from the headers.

    Args:
        path: str or Path. A JPEG, PNG, BMP or GIF file (WebP and TIFF are refused).
        max_bytes: int. Larger files are refused.
        max_pixels: int or None. Images that decode to more pixels are refused; default
            :func:`kerasdoc.generators.limits.max_image_pixels` (``$KERASDOC_MAX_PIXELS`` or
            89,478,485, the limit of the flows and of the serving graph).

    Returns:
        The file's bytes.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not one of the four formats, too large, or a header that cannot be read.

    Example:
        >>> read_image_file("/no/such.png")  # doctest: +SKIP
        Traceback (most recent call last):
        FileNotFoundError: Image file /no/such.png does not exist.
    """
    from kerasdoc.generators.files import BadImageFile, sniff_image

    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{p} is a directory; expected an image file (list the images).")
    if not p.is_file():
        raise FileNotFoundError(f"Image file {p} does not exist (or is not a file).")
    size = p.stat().st_size
    if size > max_bytes:
        raise ValueError(f"Image file {p} is {size:,} bytes; the limit is {max_bytes:,} bytes.")
    try:  # the flows' checks: magic number, truncation, the size guard
        fmt = sniff_image(p, limit=max_pixels)
    except BadImageFile as e:
        if e.reason.startswith("not a "):
            raise ValueError(f"{p} is not an image: expected JPEG, PNG, BMP or GIF content "
                             f"({e.reason}).") from e
        if e.reason.startswith(("image too large", "WebP")):
            raise ValueError(str(e)) from e
        raise ValueError(f"{p} is damaged and its header cannot be read: {e.reason}") from e
    if fmt not in SERVING_FORMATS:
        raise ValueError(f"{p} is not an image the serving graph decodes: expected JPEG, PNG, "
                         f"BMP or GIF content, got {fmt.upper()}.")
    return p.read_bytes()


# --------------------------------------------------------------------------------------------
# The serving module
# --------------------------------------------------------------------------------------------

def check_model(model: keras.Model) -> None:
    """Raise ``ValueError`` unless ``model`` is a single-output Keras classifier returning
    ``(batch, classes)`` (what every export takes: SavedModel, LiteRT, ONNX)."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model. Received: {type(model).__name__}")
    if len(model.outputs) != 1:
        raise ValueError(f"Model {model.name!r} has {len(model.outputs)} outputs; export takes "
                         "single-output classifiers (export each head as its own model).")
    if len(model.output_shape) != 2:
        raise ValueError(f"Model {model.name!r} outputs shape {model.output_shape}; expected "
                         "(batch, classes) probabilities.")


def _named_nonempty(index: tf.Tensor, data: tf.Tensor) -> tf.Tensor:
    """``data``, after an assertion that fails naming ``images[index]`` when it is empty."""
    check = tf.debugging.Assert(tf.strings.length(data) > 0, [tf.strings.format(
        "images[{}] is empty (0 bytes): send the encoded bytes of a JPEG, PNG, BMP or GIF "
        "image", index)])
    with tf.control_dependencies([check]):
        return tf.identity(data)


class _Serving:
    """Holds the models, their preprocessing and the class-name table; builds the endpoints."""

    def __init__(self, models: list[keras.Model], specs: list[ImageSpec],
                 class_names: list[str], asset_path: str, weights: list[float] | None,
                 top_k: int | None, logits: bool, stacker: keras.Model | None = None):
        self.models = models
        self.specs = specs
        self.stacker = stacker
        self.num_classes = len(class_names)
        self.top_k = top_k
        self.logits = logits
        w = np.asarray(weights if weights is not None else [1.0] * len(models), np.float32)
        self.weights = tf.constant(w / w.sum())
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                asset_path, key_dtype=tf.int64, key_index=tf.lookup.TextFileIndex.LINE_NUMBER,
                value_dtype=tf.string, value_index=tf.lookup.TextFileIndex.WHOLE_LINE),
            default_value="<unknown>")

    def _member_probs(self, model: keras.Model, x: tf.Tensor) -> tf.Tensor:
        y = tf.cast(model(x, training=False), tf.float32)
        return tf.nn.softmax(y, axis=-1) if self.logits else y

    def _outputs(self, member_probs: list[tf.Tensor]) -> dict[str, tf.Tensor]:
        stacked = tf.stack(member_probs, axis=1)  # [batch, models, classes]
        if self.stacker is not None:  # stacked generalisation: a meta-model on the members
            meta_in = tf.reshape(stacked, [-1, *self.stacker.input_shape[1:]])
            probs = tf.cast(self.stacker(meta_in, training=False), tf.float32)
        else:
            probs = tf.reduce_sum(stacked * self.weights[None, :, None], axis=1)
        ids = tf.argmax(probs, axis=-1, output_type=tf.int64)
        out = {"probabilities": probs, "class_ids": ids, "class_names": self.table.lookup(ids)}
        if self.top_k:
            k = min(self.top_k, self.num_classes)
            top = tf.math.top_k(probs, k=k)
            top_ids = tf.cast(top.indices, tf.int64)
            out.update(top_k_probabilities=top.values, top_k_class_ids=top_ids,
                       top_k_class_names=self.table.lookup(top_ids))
        if len(member_probs) > 1:
            out["member_probabilities"] = stacked
        return out

    def serve_bytes(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        # Each image is decoded once (once per colour mode the members use), then every
        # member's crop / resize / scaling runs on that decoded page.
        first = {}
        for sp in self.specs:
            first.setdefault(sp.channels, sp)

        def one(item):
            data = _named_nonempty(*item)  # an empty image fails naming its index
            decoded = {c: sp.decode(data) for c, sp in first.items()}
            return tuple(sp.preprocess(decoded[sp.channels]) for sp in self.specs)

        sigs = tuple(tf.TensorSpec(sp.input_shape, tf.float32) for sp in self.specs)
        check = tf.debugging.assert_positive(
            tf.size(images), message="empty batch: send at least one encoded image in 'images'")
        with tf.control_dependencies([check]):
            images = tf.identity(images)
        inputs = tf.map_fn(one, (tf.range(tf.size(images)), images), fn_output_signature=sigs)
        probs = [self._member_probs(m, x) for m, x in zip(self.models, inputs)]
        return self._outputs(probs)

    def serve_tensor(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        probs = [self._member_probs(m, spec.preprocess_batch(images))
                 for m, spec in zip(self.models, self.specs)]
        return self._outputs(probs)


def next_version(model_dir: str | Path) -> int:
    """1 + the largest integer-named sub-folder of ``model_dir`` (1 when there is none)."""
    d = Path(model_dir)
    versions = [int(p.name) for p in d.iterdir() if p.is_dir() and p.name.isdigit()] \
        if d.is_dir() else []
    return max(versions, default=0) + 1


#: Staging folders of another host, or without a lock file (older kerasdoc), older than this
#: are removed as stale; on this host a staging folder is stale once its exporter has died.
STALE_STAGING_SECONDS = 24 * 3600
_STAGING = re.compile(r"^\.tmp-\d+-(?P<host>.+)-(?P<pid>\d+)-[A-Za-z0-9_]+$")
_STAGING_LOCKS: dict[str, int] = {}


def _hostname() -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in socket.gethostname()) \
        or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: another user's live process
        return True
    try:  # a killed exporter not yet reaped by its parent (a zombie) is dead
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def make_staging(model_dir: str | Path, version: int) -> Path:
    """A new staging folder ``model_dir/.tmp-<version>-<host>-<pid>-<random>`` whose exporter
    holds an exclusive lock on its ``.lock`` file until :func:`drop_staging`: a later export
    removes it only once that lock is free (its exporter died: ``kill -9``, a crash, a
    reboot), never a live exporter's."""
    import fcntl

    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-{_hostname()}-{os.getpid()}-",
                                    dir=model_dir))
    # locked under another name, then renamed: a `.lock` that exists is always locked
    fd = os.open(staging / ".lock.new", os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(staging / ".lock.new", staging / ".lock")
    _STAGING_LOCKS[str(staging)] = fd
    return staging


def drop_staging(staging: str | Path) -> None:
    """Remove a staging folder made by :func:`make_staging` and release its lock."""
    shutil.rmtree(staging, ignore_errors=True)
    fd = _STAGING_LOCKS.pop(str(staging), None)
    if fd is not None:
        os.close(fd)


def _staging_is_stale(folder: Path) -> bool:
    import fcntl

    try:
        fd = os.open(folder / ".lock", os.O_RDWR)
    except FileNotFoundError:  # no lock (yet, or an older kerasdoc): the pid, else the age
        m = _STAGING.match(folder.name)
        if m and m["host"] == _hostname():
            return not _pid_alive(int(m["pid"]))
        try:
            return time.time() - folder.stat().st_mtime > STALE_STAGING_SECONDS
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live exporter holds it
    finally:
        os.close(fd)
    return True


def remove_stale_staging(model_dir: str | Path) -> list[Path]:
    """Remove the ``.tmp-*`` staging folders in ``model_dir`` left by exporters that died
    (killed during ``kerasdoc export``); live exporters' folders stay. Returns those removed."""
    removed = []
    for p in sorted(Path(model_dir).glob(".tmp-*")):
        if p.is_dir() and not p.is_symlink() and str(p) not in _STAGING_LOCKS \
                and _staging_is_stale(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def claim_version(model_dir: str | Path, version: int | None) -> tuple[int, bool]:
    """The version to write in ``model_dir`` (created if missing) and whether it was chosen
    automatically (the next free one when ``version`` is None). An explicit version that exists
    is an error: versions are never overwritten. Staging folders of dead exporters are removed
    first (:func:`remove_stale_staging`)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(model_dir)
    auto = version is None
    if auto:
        version = next_version(model_dir)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"version must be a non-negative integer. Received: version={version!r}")
    final = model_dir / str(version)
    if final.exists() and not auto:
        raise FileExistsError(f"{final} already exists; versions are never overwritten. "
                              f"Pass another version (next free: {next_version(model_dir)}).")
    return version, auto


def publish_version(out_dir: str | Path, model_dir: str | Path, version: int, auto: bool,
                    metadata: dict[str, Any]) -> Path:
    """Write ``metadata`` (its ``version`` set) to ``out_dir/assets.extra/kerasdoc.json`` and
    rename the finished SavedModel ``out_dir`` to ``model_dir/<version>``, so that a server
    polling ``model_dir`` never sees a half-written version.

    Concurrent exports of one name: with an automatic version, an exporter that finds its
    version taken when it renames takes the next free one (a rename never replaces a non-empty
    version folder); with an explicit version it fails and overwrites nothing.
    """
    out_dir, model_dir = Path(out_dir), Path(model_dir)
    extra = out_dir / "assets.extra"
    extra.mkdir(exist_ok=True)
    for _ in range(1000):
        final = model_dir / str(version)
        metadata["version"] = version
        write_json(extra / METADATA_FILE, metadata)
        try:
            os.rename(out_dir, final)
            return final
        except OSError as e:
            if not (auto and final.exists()):
                raise FileExistsError(f"{final} appeared while exporting; versions are never "
                                      f"overwritten. Pass another version.") from e
            version = next_version(model_dir)
    raise FileExistsError(f"{model_dir}: no free version after 1000 tries")


def member_specs(models: Sequence[Any], spec: Any) -> list[ImageSpec]:
    """One :class:`ImageSpec` per member: ``spec`` (one for all, or one each), else each model's
    own; each checked against its model (what every export of ``models`` does first)."""
    if spec is None:
        specs = [ImageSpec.for_model(m) for m in models]
    elif isinstance(spec, ImageSpec):
        specs = [spec] * len(models)
    else:
        specs = list(spec)
    if len(specs) != len(models):
        raise ValueError(f"Got {len(specs)} image specs for {len(models)} models.")
    for m, sp in zip(models, specs):
        if not isinstance(sp, ImageSpec):
            raise ValueError(f"spec must be a kerasdoc.generators.spec.ImageSpec. Received: {sp!r}")
        sp.check_model(m)
    return specs


def check_members(model: keras.Model | Sequence[keras.Model],
                  what: str = "Export") -> tuple[list[keras.Model], int]:
    """The member list of ``model`` (one model or a sequence: an ensemble), each checked with
    :func:`check_model`, and their common number of classes."""
    models = list(model) if isinstance(model, list | tuple) else [model]
    if not models:
        raise ValueError(f"{what} needs at least one model. Received: []")
    for m in models:
        check_model(m)
    num_classes = {m.output_shape[-1] for m in models}
    if len(num_classes) != 1:
        raise ValueError(f"Ensemble members disagree on the number of classes: "
                         f"{sorted(num_classes)}.")
    return models, num_classes.pop()


def check_ensemble(models: Sequence[keras.Model], k: int, *, top_k: int | None = None,
                   ensemble_weights: Sequence[float] | None = None,
                   stacker: keras.Model | None = None) -> None:
    """Check how ``models`` (``k`` classes each) are combined: ``top_k``, the ensemble weights,
    or a stacker taking their ``len(models) x k`` probabilities and returning ``k``."""
    if ensemble_weights is not None and (len(ensemble_weights) != len(models)
                                         or min(ensemble_weights) < 0
                                         or sum(ensemble_weights) <= 0):
        raise ValueError(f"ensemble_weights must be {len(models)} non-negative numbers with a "
                         f"positive sum. Received: {ensemble_weights}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer. Received: top_k={top_k}")
    if stacker is None:
        return
    if ensemble_weights is not None:
        raise ValueError("Pass ensemble_weights or a stacker, not both.")
    check_model(stacker)
    n_in = int(np.prod([d or 0 for d in stacker.input_shape[1:]]))
    if n_in != len(models) * k or stacker.output_shape[-1] != k:
        raise ValueError(f"The stacker {stacker.name!r} takes {stacker.input_shape[1:]} and "
                         f"returns {stacker.output_shape[-1]} classes; expected "
                         f"{len(models)} x {k} member probabilities in and {k} out.")


def _check_name_and_classes(name: str, class_names: Sequence[str] | None, k: int) -> list[str]:
    """The class names (default ``"0" .. "K-1"``) after checking them and the model name."""
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name) or name.startswith("."):
        raise ValueError(f"Model name must be letters, digits, '-', '_' or '.'. "
                         f"Received: name={name!r}")
    class_names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(class_names) != k:
        raise ValueError(f"Got {len(class_names)} class names for a model with {k} outputs.")
    if any("\n" in c or "\r" in c or not c for c in class_names):
        raise ValueError(f"Class names must be non-empty single lines. Received: {class_names}")
    return class_names


def _write_archive(serving: _Serving, models: list[keras.Model], stacker: keras.Model | None,
                   out_dir: Path, verbose: bool) -> None:
    """The SavedModel of ``serving``'s three signatures (bytes, float and uint8 tensors)."""
    archive = keras.export.ExportArchive()
    for m in models + ([stacker] if stacker is not None else []):
        archive.track(m)
    archive.track(serving.table)
    archive.add_endpoint(
        "serving_default", serving.serve_bytes,
        input_signature=[tf.TensorSpec([None], tf.string, name="images")])
    archive.add_endpoint(
        "predict_tensor", serving.serve_tensor,
        input_signature=[tf.TensorSpec([None, None, None, None], tf.float32, name="images")])
    archive.add_endpoint(
        "predict_tensor_uint8", serving.serve_tensor,
        input_signature=[tf.TensorSpec([None, None, None, None], tf.uint8, name="images")])
    write_export_archive(archive, str(out_dir), verbose=verbose)


def export_for_serving(
    model: keras.Model | Sequence[keras.Model],
    name: str,
    base_dir: str | Path = "saved_models",
    version: int | None = None,
    *,
    class_names: Sequence[str] | None = None,
    spec: ImageSpec | Sequence[ImageSpec] | None = None,
    top_k: int | None = None,
    ensemble_weights: Sequence[float] | None = None,
    logits: bool = False,
    stacker: keras.Model | None = None,
    verbose: bool = False,
) -> Path:
    """Write ``base_dir/name/<version>/``, a SavedModel for TF Serving with preprocessing inside.

    The folder is built under a temporary name in ``base_dir/name/`` (TF Serving ignores
    non-numeric names) and renamed into place, so a server polling the folder never sees a
    half-written version. An existing version is never overwritten.

    Args:
        model: keras.Model, or a sequence of them for an ensemble (mean of their probabilities;
            each member may take its own input size).
        name: str. Model name (the TF Serving ``model_name``); letters, digits, ``-_.``.
        base_dir: str or Path. Root of the model repository. Defaults to ``"saved_models"``.
        version: int or None. Version folder; None takes the next integer.
        class_names: sequence of str, one per class (defaults to ``"0" .. "K-1"``).
        spec: :class:`kerasdoc.generators.spec.ImageSpec` (or one per ensemble member): what the
            training flow reported (``flow.spec``, stored in the model card). Defaults to
            :meth:`ImageSpec.for_model` (input size, rescale 1/255), which is right only for a
            model trained that way.
        top_k: int or None. Also output the k best classes.
        ensemble_weights: sequence of float or None. Weights of the members' probabilities.
        logits: bool. True when the models output logits (softmax is applied in the graph).
        stacker: keras.Model or None. A meta-classifier (stacked generalisation, e.g.
            ``stacking_mlp``) taking the members' probabilities ``[batch, models, classes]``
            (reshaped to its input shape) and returning the ensemble's probabilities, in place
            of their (weighted) mean.
        verbose: bool. Let Keras print the exported endpoints.

    Returns:
        Path of the version folder.

    Raises:
        FileExistsError: the version folder already exists.
        ValueError: bad name, version, class names, spec or model.

    Example:
        >>> import tempfile
        >>> from kerasdoc.models import get_model
        >>> m = get_model("digits_dnn", input_shape=(16, 16, 1), num_classes=3)
        >>> p = export_for_serving(m, "tiny", tempfile.mkdtemp(), class_names=["a", "b", "c"])
        >>> p.name
        '1'
    """
    models, k = check_members(model, "export_for_serving")
    class_names = _check_name_and_classes(name, class_names, k)
    specs = member_specs(models, spec)
    check_ensemble(models, k, top_k=top_k, ensemble_weights=ensemble_weights, stacker=stacker)

    model_dir = Path(base_dir) / name
    version, auto_version = claim_version(model_dir, version)

    staging = make_staging(model_dir, version)
    try:
        names_src = staging / CLASS_NAMES_FILE
        names_src.write_text("\n".join(class_names) + "\n", encoding="utf-8")
        serving = _Serving(models, specs, class_names, str(names_src),
                           list(ensemble_weights) if ensemble_weights else None, top_k, logits,
                           stacker)
        out_dir = staging / "model"
        _write_archive(serving, models, stacker, out_dir, verbose)
        meta = {"name": name, "version": version, "class_names": class_names,
                "image_spec": [sp.get_config() for sp in specs],
                "models": [m.name for m in models], "top_k": top_k, "logits": logits,
                "ensemble_weights": list(ensemble_weights) if ensemble_weights else None,
                "stacker": stacker.name if stacker is not None else None,
                "signatures": ["serving_default", "predict_tensor", "predict_tensor_uint8"]}
        final = publish_version(out_dir, model_dir, version, auto_version, meta)
    finally:
        drop_staging(staging)
    return final


def read_export_metadata(saved_model_dir: str | Path) -> dict[str, Any]:
    """The ``assets.extra/kerasdoc.json`` of an exported version folder."""
    p = Path(saved_model_dir) / "assets.extra" / METADATA_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing: {saved_model_dir} was not written by "
                                "kerasdoc.export.export_for_serving.")
    return json.loads(p.read_text(encoding="utf-8"))


def resolve_version_dir(path: str | Path) -> Path:
    """A version folder as is, or the latest version inside a ``base_dir/name`` folder."""
    p = Path(path)
    if (p / "saved_model.pb").is_file():
        return p
    if p.is_dir():
        versions = sorted(int(c.name) for c in p.iterdir() if c.is_dir() and c.name.isdigit())
        if versions and (p / str(versions[-1]) / "saved_model.pb").is_file():
            return p / str(versions[-1])
    raise FileNotFoundError(f"{p} is not a SavedModel folder (no saved_model.pb) nor a folder "
                            "of numbered versions.")


def saved_model_cli_show(saved_model_dir: str | Path) -> str:
    """The text of ``saved_model_cli show --all --dir saved_model_dir``: tag sets, signatures
    with their inputs and outputs, and the concrete functions.

    TensorFlow's command prints it with ``saved_model_cli._show_all``; this runs that function
    in this process (the command would start TensorFlow again: ~7 s of CPU here). Where this
    TensorFlow lacks the private function, it runs the command.

    Example:
        >>> import tempfile
        >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
        ...                       keras.layers.Dense(2, activation="softmax")])
        >>> path = export_for_serving(m, "doc", tempfile.mkdtemp())
        >>> "signature_def['predict_tensor']" in saved_model_cli_show(path)
        True
    """
    import contextlib
    import io

    try:
        from tensorflow.python.tools.saved_model_cli import _show_all
    except ImportError:
        import shutil
        import subprocess
        import sys

        cli = shutil.which("saved_model_cli")
        cmd = [cli] if cli else [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
        done = subprocess.run([*cmd, "show", "--all", "--dir", str(saved_model_dir)],
                              capture_output=True, text=True)
        return done.stdout + done.stderr
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _show_all(str(saved_model_dir))
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# Local prediction
# --------------------------------------------------------------------------------------------

class Predictor:
    """Classify encoded images with an exported SavedModel or a ``.keras`` file, locally.

    Both paths run the same decode / preprocess graph (:meth:`ImageSpec.decode_and_preprocess`).

    Args:
        target: str or Path. A version folder (or ``base_dir/name`` for its latest version), or
            a ``.keras`` file with its ``.kerasdoc.json`` card.
        card_flags: for a ``.keras`` file, ``card=`` / ``class_names=`` / ``image_spec=``
            (:func:`kerasdoc.card.resolve_card`); without a card they are required.

    Example:
        >>> p = Predictor("saved_models/invoice")  # doctest: +SKIP
        >>> p.predict([open("page.jpg", "rb").read()])[0]["class_names"]  # doctest: +SKIP
        'invoice'
    """

    def __init__(self, target: str | Path, card_flags: dict[str, Any] | None = None):
        t = Path(target)
        if t.suffix == ".keras":
            from kerasdoc.card import resolve_card
            from kerasdoc.models.weights import load_keras_model

            self.model = load_keras_model(t, compile=False)
            card = resolve_card(t, self.model, **(card_flags or {}))
            self.class_names, self.spec = card.class_names, card.spec
            self._fn = None
        else:
            if card_flags:
                raise ValueError(f"--card / --class-names / --image-spec apply to .keras files; "
                                 f"{t} is an export, which holds its own.")
            version_dir = resolve_version_dir(t)
            self._loaded = tf.saved_model.load(str(version_dir))
            self._fn = self._loaded.signatures["serving_default"]
            meta = read_export_metadata(version_dir)
            self.class_names = meta["class_names"]
            self.spec = ImageSpec.from_config((meta.get("image_spec")
                                               or meta["preprocessing"])[0])
        self.target = t

    def predict(self, images: Sequence[bytes]) -> list[dict[str, Any]]:
        """One dict per image: ``probabilities`` (list), ``class_ids``, ``class_names``,
        ``probability`` (of the predicted class)."""
        if self._fn is not None:
            out = self._fn(images=tf.constant(list(images), tf.string))
            probs = out["probabilities"].numpy()
        else:
            x = self.spec.decode_batch(tf.constant(list(images), tf.string))
            probs = np.asarray(self.model.predict(x, verbose=0), np.float32)
        ids = probs.argmax(axis=-1)
        return [{"probabilities": p.tolist(), "class_ids": int(i),
                 "class_names": self.class_names[int(i)], "probability": float(p[int(i)])}
                for p, i in zip(probs, ids)]


def export_model(model: keras.Model | Sequence[keras.Model], name: str,
                 base_dir: str | Path = "saved_models", version: int | None = None, *,
                 format: str = "saved_model", **kwargs: Any) -> Path:  # noqa: A002
    """Export in ``format``: ``"saved_model"`` (:func:`export_for_serving`, TF Serving),
    ``"litert"`` or ``"onnx"`` (:func:`kerasdoc.deploy.export_portable`: decoded uint8 pixels in,
    the image spec's preprocessing inside, for phones and ONNX runtimes). Same arguments, same
    versioning (never overwritten)."""
    if format == "saved_model":
        return export_for_serving(model, name, base_dir, version, **kwargs)
    from kerasdoc.deploy import export_portable

    return export_portable(model, name, base_dir, version, format=format, **kwargs)

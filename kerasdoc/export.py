"""Export trained Keras models as versioned SavedModels that TensorFlow Serving loads as is.

The deployment side of every paper the project mirrors (000-004): a model trained by ``kerasdoc
train`` or an experiment is written to ``saved_models/<name>/<version>/`` with the image
preprocessing *inside* the graph, so a client sends encoded image bytes and gets class names back.

Signatures of an exported model:

* ``serving_default``: ``images`` (``tf.string`` [batch], JPEG / PNG / BMP / GIF bytes). Decodes,
  converts colour, crops / resizes and rescales each image with the same ops, in the same order,
  as the ``generators`` flows that fed training (:func:`decode_and_preprocess`), then runs the
  model.
* ``predict_tensor``: ``images`` (``float32`` [batch, height, width, channels], pixel values on
  the 0-255 scale of a decoded image, any size); the same colour / crop / resize / rescale steps.
* ``predict_tensor_uint8``: the same for ``uint8`` image batches.

Each returns ``probabilities`` (float32 [batch, classes]), ``class_ids`` (int64 [batch]) and
``class_names`` (string [batch]); with ``top_k`` also ``top_k_probabilities``,
``top_k_class_ids`` and ``top_k_class_names`` ([batch, k]). An ensemble (several models in one
SavedModel) returns their mean probabilities plus ``member_probabilities`` [batch, models,
classes]. The class names travel as the asset ``assets/class_names.txt``; the preprocessing and
class names are also written to ``assets.extra/kerasdoc.json`` (ignored by TF Serving).

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

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

COLOR_MODES = ("grayscale", "rgb")
METADATA_FILE = "kerasdoc.json"
CLASS_NAMES_FILE = "class_names.txt"
# The formats tf.io.decode_image reads inside the serving graph (no TIFF there).
SERVING_FORMATS = ("jpeg", "png", "gif", "bmp")
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 100_000_000


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How an image becomes a model input: the ``generators`` flow's steps, replayed in serving.

    The fields are the arguments of ``generators.ImageDataGenerator(rescale=...)`` and its
    ``flow_from_directory(target_size=..., color_mode=..., crop=..., resize_mode=...,
    padding_mode=..., interpolation=...)``; :meth:`flow_kwargs` gives them back, so training and
    serving are configured from one object and run the same ops (``generators.ops``,
    ``generators.crops``), in the same order: decode -> crop -> resize -> rescale.

    Attributes:
        image_size: (height, width) the model takes (the flow's ``target_size``).
        color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3 channels).
        rescale: factor applied to 0-255 pixel values last (``1/255`` as in the papers' Keras
            generators); None leaves them as they are.
        crop: None or a ``generators.crops`` name (``"full" | "top" | "bottom" | "left" |
            "right"``, the RVL-CDIP region crops of 001), applied before resizing.
        resize_mode: ``"stretch"``, ``"pad"`` or ``"crop"`` (aspect handling).
        padding_mode: ``"zeros"`` or ``"reflection"`` (for ``resize_mode="pad"``).
        interpolation: resize method (``"bilinear"``, ``"area"``, ...).
    """

    image_size: tuple[int, int]
    color_mode: str = "grayscale"
    rescale: float | None = 1.0 / 255.0
    crop: str | None = None
    resize_mode: str = "stretch"
    padding_mode: str = "zeros"
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        from generators import crops
        from generators.ops import INTERPOLATIONS, PADDING_MODES, RESIZE_MODES

        size = tuple(int(s) for s in self.image_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"image_size must be (height, width) of positive integers. "
                             f"Received: image_size={self.image_size}")
        object.__setattr__(self, "image_size", size)
        checks = [("color_mode", COLOR_MODES), ("resize_mode", RESIZE_MODES),
                  ("padding_mode", PADDING_MODES), ("interpolation", INTERPOLATIONS),
                  ("crop", (None, *sorted(crops.CROPS)))]
        for field, allowed in checks:
            if getattr(self, field) not in allowed:
                raise ValueError(f"{field} must be one of {allowed}. "
                                 f"Received: {field}={getattr(self, field)!r}")

    @property
    def channels(self) -> int:
        """1 for grayscale, 3 for RGB."""
        return 1 if self.color_mode == "grayscale" else 3

    def flow_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``flow_from_directory`` / ``flow_from_labelfile``."""
        return {"target_size": self.image_size, "color_mode": self.color_mode,
                "crop": self.crop, "resize_mode": self.resize_mode,
                "padding_mode": self.padding_mode, "interpolation": self.interpolation}

    def get_config(self) -> dict[str, Any]:
        """JSON-safe dict; :meth:`from_config` inverts it."""
        cfg = dataclasses.asdict(self)
        cfg["image_size"] = list(self.image_size)
        return cfg

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Preprocessing:
        """Build from :meth:`get_config` output (unknown keys raise ``ValueError``)."""
        known = {f.name for f in dataclasses.fields(cls)}
        extra = set(config) - known
        if extra:
            raise ValueError(f"Unknown preprocessing keys {sorted(extra)}. "
                             f"Expected: {sorted(known)}")
        return cls(**config)

    @classmethod
    def for_model(cls, model: keras.Model, **kwargs: Any) -> Preprocessing:
        """Default preprocessing for ``model``'s input shape (size and 1 / 3 channels)."""
        shape = model.input_shape
        if isinstance(shape, list):
            raise ValueError(f"Model {model.name!r} has {len(shape)} inputs; export takes "
                             "single-input image models.")
        if len(shape) != 4 or shape[3] not in (1, 3):
            raise ValueError(f"Model {model.name!r} takes input shape {shape}; expected "
                             "(batch, height, width, 1 or 3).")
        if (shape[1] is None or shape[2] is None) and "image_size" not in kwargs:
            raise ValueError(f"Model {model.name!r} has input shape {shape}; pass "
                             "image_size=(height, width) for variable-size inputs.")
        kwargs.setdefault("image_size", (shape[1], shape[2]))
        kwargs.setdefault("color_mode", "grayscale" if shape[3] == 1 else "rgb")
        return cls(**kwargs)


def _convert_color(image: tf.Tensor, color_mode: str) -> tf.Tensor:
    """Float image [h, w, c], c in 1-4, to 1 (luma, ITU-R 601) or 3 channels; alpha dropped."""
    c = tf.shape(image)[-1]
    gray_in, rgb_in = image[..., :1], image[..., :3]
    if color_mode == "grayscale":
        return tf.cond(c >= 3, lambda: tf.image.rgb_to_grayscale(rgb_in), lambda: gray_in)
    return tf.cond(c >= 3, lambda: rgb_in, lambda: tf.image.grayscale_to_rgb(gray_in))


def _finish(image: tf.Tensor, prep: Preprocessing) -> tf.Tensor:
    """crop -> resize -> rescale of one float [h, w, channels] image (the flows' order)."""
    from generators import crops
    from generators.ops import resize_image

    crop = crops.get(prep.crop)
    if crop is not None:
        image = crop(image)
    image = resize_image(image, prep.image_size, mode=prep.resize_mode,
                         padding_mode=prep.padding_mode, interpolation=prep.interpolation)
    if prep.rescale is not None:
        image = image * float(prep.rescale)
    return tf.ensure_shape(tf.cast(image, tf.float32), [*prep.image_size, prep.channels])


def decode_and_preprocess(data: tf.Tensor, prep: Preprocessing) -> tf.Tensor:
    """Encoded image bytes (scalar ``tf.string``) to one model input, as the flows do.

    Decoding is ``generators.ops.decode_image`` (JPEG / PNG / BMP / GIF, first frame; the
    decoder converts to ``prep.channels``; grayscale BMP / GIF go through RGB and
    ``rgb_to_grayscale``), then crop, resize and rescale as in training.

    Args:
        data: scalar string tensor.
        prep: Preprocessing.

    Returns:
        float32 [height, width, channels].

    Example:
        >>> png = tf.io.encode_png(tf.fill([30, 40, 3], tf.constant(255, tf.uint8)))
        >>> x = decode_and_preprocess(png, Preprocessing((20, 20)))
        >>> tuple(x.shape), float(tf.reduce_max(x))
        ((20, 20, 1), 1.0)
    """
    return _finish(_decode(data, prep.channels), prep)


def _decode(data: tf.Tensor, channels: int) -> tf.Tensor:
    """``generators.ops.decode_image``; grayscale BMP / GIF (which TF's decoders cannot give
    in one channel) are decoded as RGB and converted with ``rgb_to_grayscale``."""
    from generators.ops import decode_image

    if channels == 3:
        return decode_image(data, 3)
    head = tf.strings.substr(data, 0, 3)
    rgb_only = tf.logical_or(tf.equal(head, "GIF"), tf.equal(tf.strings.substr(data, 0, 2), "BM"))
    return tf.cond(rgb_only, lambda: tf.image.rgb_to_grayscale(decode_image(data, 3)),
                   lambda: decode_image(data, 1))


def preprocess_images(images: tf.Tensor, prep: Preprocessing) -> tf.Tensor:
    """Decoded images (0-255 scale, uint8 or float, any size, 1-4 channels) to model inputs.

    What ``predict_tensor`` does: colour conversion (RGB to luma with ITU-R 601 weights, gray
    replicated to RGB, alpha dropped), then the flows' crop, resize and rescale.

    Args:
        images: tensor [height, width, channels] or [batch, height, width, channels].
        prep: Preprocessing. The steps to apply.

    Returns:
        float32 tensor [..., image_size[0], image_size[1], prep.channels].

    Example:
        >>> x = tf.fill([40, 30, 3], 255.0)
        >>> y = preprocess_images(x, Preprocessing((20, 20), "grayscale"))
        >>> tuple(y.shape), round(float(tf.reduce_max(y)), 3)
        ((20, 20, 1), 1.0)
    """
    images = tf.convert_to_tensor(images)
    one = lambda img: _finish(_convert_color(tf.cast(img, tf.float32), prep.color_mode), prep)  # noqa: E731
    if images.shape.rank == 3:
        return one(images)
    spec = tf.TensorSpec([*prep.image_size, prep.channels], tf.float32)
    return tf.map_fn(one, images, fn_output_signature=spec)


def _batch_from_bytes(images: tf.Tensor, prep: Preprocessing) -> tf.Tensor:
    spec = tf.TensorSpec([*prep.image_size, prep.channels], tf.float32)
    return tf.map_fn(lambda b: decode_and_preprocess(b, prep), images, fn_output_signature=spec)


# --------------------------------------------------------------------------------------------
# Checking files before decoding (predict on user paths)
# --------------------------------------------------------------------------------------------

def read_image_file(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES,
                    max_pixels: int = MAX_PIXELS) -> bytes:
    """Read an image file's bytes after checking it is a decodable image of sane size.

    Args:
        path: str or Path. A JPEG, PNG, BMP or GIF file.
        max_bytes: int. Larger files are refused.
        max_pixels: int. Images with more pixels (read from the header) are refused.

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
    from generators.files import BadImageFile, image_size, sniff_image

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"Image file {p} does not exist (or is not a file).")
    size = p.stat().st_size
    if size > max_bytes:
        raise ValueError(f"Image file {p} is {size:,} bytes; the limit is {max_bytes:,} bytes.")
    try:  # the generators' checks: magic number, then truncation (end markers)
        fmt = sniff_image(p)
    except BadImageFile as e:
        if e.reason.startswith("not a "):
            raise ValueError(f"{p} is not an image: expected JPEG, PNG, BMP or GIF content "
                             f"({e.reason}).") from e
        raise ValueError(f"{p} is damaged and its header cannot be read: {e.reason}") from e
    if fmt not in SERVING_FORMATS:
        raise ValueError(f"{p} is not an image the serving graph decodes: expected JPEG, PNG, "
                         f"BMP or GIF content, got {fmt.upper()}.")
    try:
        h, w = image_size(p)
    except BadImageFile as e:
        raise ValueError(f"{p} looks like {fmt.upper()} but its header cannot be read: "
                         f"{e.reason}") from e
    if w * h > max_pixels:
        raise ValueError(f"Image {p} is {w}x{h} = {w * h:,} pixels; the limit is "
                         f"{max_pixels:,} pixels.")
    return p.read_bytes()


# --------------------------------------------------------------------------------------------
# The serving module
# --------------------------------------------------------------------------------------------

def _check_model(model: keras.Model) -> None:
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model. Received: {type(model).__name__}")
    if len(model.outputs) != 1:
        raise ValueError(f"Model {model.name!r} has {len(model.outputs)} outputs; export takes "
                         "single-output classifiers (export each head as its own model).")
    if len(model.output_shape) != 2:
        raise ValueError(f"Model {model.name!r} outputs shape {model.output_shape}; expected "
                         "(batch, classes) probabilities.")


class _Serving:
    """Holds the models, their preprocessing and the class-name table; builds the endpoints."""

    def __init__(self, models: list[keras.Model], preps: list[Preprocessing],
                 class_names: list[str], asset_path: str, weights: list[float] | None,
                 top_k: int | None, logits: bool):
        self.models = models
        self.preps = preps
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
        probs = [self._member_probs(m, _batch_from_bytes(images, p))
                 for m, p in zip(self.models, self.preps)]
        return self._outputs(probs)

    def serve_tensor(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
        probs = [self._member_probs(m, preprocess_images(images, p))
                 for m, p in zip(self.models, self.preps)]
        return self._outputs(probs)


def next_version(model_dir: str | Path) -> int:
    """1 + the largest integer-named sub-folder of ``model_dir`` (1 when there is none)."""
    d = Path(model_dir)
    versions = [int(p.name) for p in d.iterdir() if p.is_dir() and p.name.isdigit()] \
        if d.is_dir() else []
    return max(versions, default=0) + 1


def export_for_serving(
    model: keras.Model | Sequence[keras.Model],
    name: str,
    base_dir: str | Path = "saved_models",
    version: int | None = None,
    *,
    class_names: Sequence[str] | None = None,
    preprocessing: Preprocessing | Sequence[Preprocessing] | None = None,
    top_k: int | None = None,
    ensemble_weights: Sequence[float] | None = None,
    logits: bool = False,
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
        preprocessing: Preprocessing (or one per ensemble member); defaults to
            :meth:`Preprocessing.for_model`. Must be what training used.
        top_k: int or None. Also output the k best classes.
        ensemble_weights: sequence of float or None. Weights of the members' probabilities.
        logits: bool. True when the models output logits (softmax is applied in the graph).
        verbose: bool. Let Keras print the exported endpoints.

    Returns:
        Path of the version folder.

    Raises:
        FileExistsError: the version folder already exists.
        ValueError: bad name, version, class names, preprocessing or model.

    Example:
        >>> import tempfile
        >>> from kerasdoc.models import get_model
        >>> m = get_model("digits_dnn", input_shape=(16, 16, 1), num_classes=3)
        >>> p = export_for_serving(m, "tiny", tempfile.mkdtemp(), class_names=["a", "b", "c"])
        >>> p.name
        '1'
    """
    models = list(model) if isinstance(model, (list, tuple)) else [model]
    if not models:
        raise ValueError("export_for_serving needs at least one model. Received: []")
    for m in models:
        _check_model(m)
    num_classes = {m.output_shape[-1] for m in models}
    if len(num_classes) != 1:
        raise ValueError(f"Ensemble members disagree on the number of classes: "
                         f"{sorted(num_classes)}.")
    k = num_classes.pop()
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name) or name.startswith("."):
        raise ValueError(f"Model name must be letters, digits, '-', '_' or '.'. "
                         f"Received: name={name!r}")
    class_names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(class_names) != k:
        raise ValueError(f"Got {len(class_names)} class names for a model with {k} outputs.")
    if any("\n" in c or "\r" in c or not c for c in class_names):
        raise ValueError(f"Class names must be non-empty single lines. Received: {class_names}")
    if preprocessing is None:
        preps = [Preprocessing.for_model(m) for m in models]
    elif isinstance(preprocessing, Preprocessing):
        preps = [preprocessing] * len(models)
    else:
        preps = list(preprocessing)
    if len(preps) != len(models):
        raise ValueError(f"Got {len(preps)} preprocessing specs for {len(models)} models.")
    for m, p in zip(models, preps):
        want = m.input_shape[-1]
        if want != p.channels:
            raise ValueError(f"Model {m.name!r} takes {want} channels but preprocessing gives "
                             f"{p.channels} (color_mode={p.color_mode!r}).")
        if m.input_shape[1:3] != (None, None) and tuple(m.input_shape[1:3]) != p.image_size:
            raise ValueError(f"Model {m.name!r} takes {m.input_shape[1:3]} images but "
                             f"preprocessing resizes to {p.image_size}.")
    if ensemble_weights is not None and (len(ensemble_weights) != len(models)
                                         or min(ensemble_weights) < 0
                                         or sum(ensemble_weights) <= 0):
        raise ValueError(f"ensemble_weights must be {len(models)} non-negative numbers with a "
                         f"positive sum. Received: {ensemble_weights}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be a positive integer. Received: top_k={top_k}")

    model_dir = Path(base_dir) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    if version is None:
        version = next_version(model_dir)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"version must be a non-negative integer. Received: version={version!r}")
    final = model_dir / str(version)
    if final.exists():
        raise FileExistsError(f"{final} already exists; versions are never overwritten. "
                              f"Pass another version (next free: {next_version(model_dir)}).")

    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir))
    try:
        names_src = staging / CLASS_NAMES_FILE
        names_src.write_text("\n".join(class_names) + "\n", encoding="utf-8")
        serving = _Serving(models, preps, class_names, str(names_src),
                           list(ensemble_weights) if ensemble_weights else None, top_k, logits)
        archive = keras.export.ExportArchive()
        for m in models:
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
        out_dir = staging / "model"
        archive.write_out(str(out_dir), verbose=verbose)
        extra = out_dir / "assets.extra"
        extra.mkdir(exist_ok=True)
        meta = {"name": name, "version": version, "class_names": class_names,
                "preprocessing": [p.get_config() for p in preps],
                "models": [m.name for m in models], "top_k": top_k, "logits": logits,
                "ensemble_weights": list(ensemble_weights) if ensemble_weights else None,
                "signatures": ["serving_default", "predict_tensor", "predict_tensor_uint8"]}
        (extra / METADATA_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        try:
            os.rename(out_dir, final)
        except OSError as e:  # another exporter took this version in the meantime
            raise FileExistsError(f"{final} appeared while exporting; versions are never "
                                  f"overwritten. Pass another version.") from e
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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


# --------------------------------------------------------------------------------------------
# Model cards (.keras side-car) and local prediction
# --------------------------------------------------------------------------------------------

def model_card_path(model_file: str | Path) -> Path:
    """``run/model.keras`` -> ``run/model.kerasdoc.json`` (class names and preprocessing)."""
    p = Path(model_file)
    return p.with_name(p.stem + ".kerasdoc.json")


def write_model_card(model_file: str | Path, class_names: Sequence[str],
                     preprocessing: Preprocessing, **extra: Any) -> Path:
    """Write the side-car JSON that ``kerasdoc export`` / ``predict`` read next to a ``.keras``.

    Args:
        model_file: str or Path. The ``.keras`` file it describes.
        class_names: sequence of str. One per output.
        preprocessing: Preprocessing. What training used.
        **extra: more JSON-safe facts (data path, epochs ...).

    Returns:
        The card's path.
    """
    path = model_card_path(model_file)
    card = {"class_names": [str(c) for c in class_names],
            "preprocessing": preprocessing.get_config(), **extra}
    path.write_text(json.dumps(card, indent=2, default=str), encoding="utf-8")
    return path


def read_model_card(model_file: str | Path, model: keras.Model | None = None
                    ) -> tuple[list[str], Preprocessing]:
    """Class names and preprocessing of a ``.keras`` file: its card, else defaults for ``model``."""
    path = model_card_path(model_file)
    if path.is_file():
        card = json.loads(path.read_text(encoding="utf-8"))
        return list(card["class_names"]), Preprocessing.from_config(card["preprocessing"])
    if model is None:
        raise FileNotFoundError(f"{path} is missing and no model was given for defaults.")
    return ([str(i) for i in range(model.output_shape[-1])], Preprocessing.for_model(model))


class Predictor:
    """Classify encoded images with an exported SavedModel or a ``.keras`` file, locally.

    Both paths run the same decode / preprocess graph (:func:`decode_and_preprocess`).

    Args:
        target: str or Path. A version folder (or ``base_dir/name`` for its latest version), or
            a ``.keras`` file (with its ``.kerasdoc.json`` card when there is one).

    Example:
        >>> p = Predictor("saved_models/invoice")  # doctest: +SKIP
        >>> p.predict([open("page.jpg", "rb").read()])[0]["class_names"]  # doctest: +SKIP
        'invoice'
    """

    def __init__(self, target: str | Path):
        t = Path(target)
        if t.suffix == ".keras":
            from kerasdoc.training.resilient import load_keras_model

            self.model = load_keras_model(t, compile=False)
            self.class_names, self.preprocessing = read_model_card(t, self.model)
            self._fn = None
        else:
            version_dir = resolve_version_dir(t)
            self._loaded = tf.saved_model.load(str(version_dir))
            self._fn = self._loaded.signatures["serving_default"]
            meta = read_export_metadata(version_dir)
            self.class_names = meta["class_names"]
            self.preprocessing = Preprocessing.from_config(meta["preprocessing"][0])
        self.target = t

    def predict(self, images: Sequence[bytes]) -> list[dict[str, Any]]:
        """One dict per image: ``probabilities`` (list), ``class_ids``, ``class_names``,
        ``probability`` (of the predicted class)."""
        if self._fn is not None:
            out = self._fn(images=tf.constant(list(images), tf.string))
            probs = out["probabilities"].numpy()
        else:
            x = tf.stack([decode_and_preprocess(tf.constant(b), self.preprocessing)
                          for b in images])
            probs = np.asarray(self.model.predict(x, verbose=0), np.float32)
        ids = probs.argmax(axis=-1)
        return [{"probabilities": p.tolist(), "class_ids": int(i),
                 "class_names": self.class_names[int(i)], "probability": float(p[int(i)])}
                for p, i in zip(probs, ids)]

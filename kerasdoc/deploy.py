"""Export for phones and ONNX runtimes: LiteRT (TFLite) and ONNX models, preprocessing inside.

``kerasdoc export --format litert|onnx`` (or :func:`export_portable`) writes a model that takes
*decoded* ``uint8`` pixels, ``pixels`` [batch, height, width, channels] of any height and width in
the model card's colour mode (1 channel for grayscale, 3 for RGB), and holds the card's crop,
resize (stretch / pad / crop, zeros or reflection padding), colour conversion, rescaling and
normalisation inside: the same :meth:`kerasdoc.generators.spec.ImageSpec.preprocess` that the
training flows ran, traced into the graph. Outputs:

* ``probabilities`` (float32 [batch, classes]); ``class_ids`` (int64 [batch]);
  ``class_names`` (string [batch], gathered from a constant of the class names);
* with ``top_k``: ``top_k_probabilities``, ``top_k_class_ids``, ``top_k_class_names``;
* for an ensemble or a stacked pipeline: ``member_probabilities`` [batch, members, classes].

The conversion is Keras' own exporter (``Model.export(format="litert" | "onnx")``: the TFLite
converter restricted to builtin ops, so the plain LiteRT runtime runs it without the TF-select
delegate; tf2onnx for ONNX). The class names and image spec are also in the model's metadata
(a LiteRT metadata entry ``kerasdoc``; ONNX ``metadata_props["kerasdoc"]``), and in
``assets.extra/kerasdoc.json`` beside the model file.

Versions go through :func:`kerasdoc.export.claim_version` / :func:`~kerasdoc.export.publish_version`
(never overwritten) into ``BASE_DIR/NAME/<format>/<version>/model.tflite | model.onnx``: TF Serving,
polling ``BASE_DIR/NAME``, ignores non-numeric folders, so these never shadow a SavedModel version.
Before publishing, an export is checked with the real runtime (``ai-edge-litert``'s interpreter,
``onnxruntime``, when installed) against the Keras model on images of two sizes; a difference
over 1e-4 refuses the export. A pipeline whose ops a format cannot hold (an interpolation with no
builtin kernel, a layer the converter rejects) is refused with the converter's reason.

Example:
    >>> import tempfile
    >>> from kerasdoc.models import get_model
    >>> m = get_model("digits_dnn", input_shape=(16, 16, 1), num_classes=3)
    >>> p = export_portable(m, "tiny", tempfile.mkdtemp(), format="onnx",
    ...                     class_names=["a", "b", "c"])  # doctest: +SKIP
    >>> p.parent.name, p.name  # doctest: +SKIP
    ('onnx', '1')
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasdoc.export import (
    check_ensemble,
    check_members,
    claim_version,
    member_specs,
    publish_version,
)
from kerasdoc.generators.spec import ImageSpec

FORMATS = ("saved_model", "litert", "onnx")
PORTABLE_FORMATS = ("litert", "onnx")
FILE_NAMES = {"litert": "model.tflite", "onnx": "model.onnx"}
METADATA_KEY = "kerasdoc"
INPUT_NAME = "pixels"
TOLERANCE = 1e-4
#: The resize methods each format has kernels for (TFLite builtins RESIZE_BILINEAR /
#: RESIZE_NEAREST_NEIGHBOR; ONNX Resize linear / nearest / cubic). ``area`` and the antialiased
#: (PIL-like) methods have none: LiteRT rejects ResizeArea / ScaleAndTranslate, tf2onnx writes an
#: invalid graph for ScaleAndTranslate and an ``area`` resize that differs by up to 0.24.
INTERPOLATIONS = {"litert": ("bilinear", "nearest"), "onnx": ("bilinear", "nearest", "bicubic")}
_RUNTIME_PACKAGES = {"litert": "ai-edge-litert", "onnx": "onnxruntime"}
_CONVERTER_PACKAGES = {"litert": "tensorflow", "onnx": "tf2onnx"}


# --------------------------------------------------------------------------------------------
# The pixels-in model
# --------------------------------------------------------------------------------------------

class PixelClassifier(keras.Model):
    """Decoded ``uint8`` pixels in, class probabilities / ids / names out; the image specs'
    preprocessing inside (the functions the training flows ran).

    Args:
        models: the member models (one for a plain classifier).
        specs: one :class:`ImageSpec` per member (all the same colour mode).
        class_names: one per class.
        weights: ensemble weights of the members' probabilities (None: equal).
        stacker: a meta-classifier on the members' probabilities, in place of their mean.
        logits: the members output logits (softmax is applied).
        top_k: also output the k best classes.
    """

    def __init__(self, models: Sequence[keras.Model], specs: Sequence[ImageSpec],
                 class_names: Sequence[str], weights: Sequence[float] | None = None,
                 stacker: keras.Model | None = None, logits: bool = False,
                 top_k: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.members = list(models)
        self.specs = list(specs)
        self.class_names = [str(c) for c in class_names]
        self.stacker = stacker
        self.logits = logits
        self.top_k = min(top_k, len(self.class_names)) if top_k else None
        w = np.asarray(weights if weights is not None else [1.0] * len(self.members), np.float32)
        self.member_weights = (w / w.sum()).tolist()
        self.channels = self.specs[0].channels

    def call(self, pixels):
        names = tf.constant(self.class_names)
        probs = []
        for model, spec in zip(self.members, self.specs):
            y = tf.cast(model(spec.preprocess_batch(pixels), training=False), tf.float32)
            probs.append(tf.nn.softmax(y, axis=-1) if self.logits else y)
        if len(probs) == 1:
            p = probs[0]
        else:
            stacked = tf.stack(probs, axis=1)
            if self.stacker is not None:
                meta_in = tf.reshape(stacked, [-1, *self.stacker.input_shape[1:]])
                p = tf.cast(self.stacker(meta_in, training=False), tf.float32)
            else:
                w = tf.constant(self.member_weights, tf.float32)
                p = tf.reduce_sum(stacked * w[None, :, None], axis=1)
        ids = tf.argmax(p, axis=-1, output_type=tf.int64)
        out = {"probabilities": p, "class_ids": ids, "class_names": tf.gather(names, ids)}
        if self.top_k:
            top = tf.math.top_k(p, k=self.top_k)
            top_ids = tf.cast(top.indices, tf.int64)
            out.update(top_k_probabilities=top.values, top_k_class_ids=top_ids,
                       top_k_class_names=tf.gather(names, top_ids))
        if len(probs) > 1:
            out["member_probabilities"] = stacked
        return out

    def input_signature(self) -> list[tf.TensorSpec]:
        """``pixels``: uint8 [batch, height, width, channels], any batch / height / width."""
        return [tf.TensorSpec([None, None, None, self.channels], tf.uint8, name=INPUT_NAME)]


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------

def _convert(wrapper: PixelClassifier, fmt: str, path: Path) -> None:
    """Keras' exporter for ``fmt``, with the converter's failure turned into a refusal."""
    kwargs: dict[str, Any] = {}
    if fmt == "litert":  # builtins only: the plain LiteRT runtime (phones) runs it
        kwargs["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    try:
        wrapper.export(str(path), format=fmt, input_signature=wrapper.input_signature(),
                       verbose=False, **kwargs)
    except ImportError as e:
        raise ValueError(f"--format {fmt} needs the {_CONVERTER_PACKAGES[fmt]} package "
                         f"(pip install 'kerasdoc[deploy]'): {e}") from e
    except Exception as e:  # noqa: BLE001 - the converters raise many types; keep the reason
        raise ValueError(f"{fmt} cannot hold this pipeline: {_refusal_reason(e)}") from e
    if not path.is_file():
        raise ValueError(f"The {fmt} converter wrote no file at {path}.")


def _refusal_reason(error: Exception) -> str:
    """The converter's own words: the ops it has no kernel for, else its last line."""
    lines = [ln.strip() for ln in str(error).splitlines()
             if ln.strip().startswith(("Custom ops:", "TF Select ops:", "Unsupported ops"))]
    if lines:
        return "the converter found ops with no builtin kernel: " + "; ".join(
            dict.fromkeys(lines))
    text = str(error).strip().splitlines() or [type(error).__name__]
    return text[-1][:400]


def check_format(specs: Sequence[ImageSpec], fmt: str) -> None:
    """Refuse (``ValueError``, saying why) an image spec whose preprocessing ``fmt`` cannot
    reproduce, before converting anything."""
    for sp in specs:
        if sp.interpolation not in INTERPOLATIONS[fmt]:
            raise ValueError(
                f"{fmt} cannot hold this pipeline: its image spec resizes with "
                f"interpolation={sp.interpolation!r}, which has no {fmt} kernel (supported: "
                f"{', '.join(INTERPOLATIONS[fmt])}). Export it as a SavedModel, or retrain "
                "with one of those.")
        if fmt == "onnx" and sp.resize_mode == "pad" and sp.padding_mode == "reflection":
            raise ValueError(
                "onnx cannot hold this pipeline: reflection padding indexes the page with an "
                "integer floor-modulo, which tf2onnx converts as a truncated remainder (wrong "
                "for the negative indices of the padding). Export it as a SavedModel or LiteRT.")


def _add_litert_metadata(path: Path, data: bytes) -> None:
    """Add a ``kerasdoc`` metadata entry (the flatbuffer's standard ``metadata`` table)."""
    import flatbuffers

    schema = _litert_schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)
    buf = schema.BufferT()
    buf.data = np.frombuffer(data, np.uint8)
    model.buffers.append(buf)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))


def _litert_schema():
    """The LiteRT flatbuffer schema's Python classes (ai-edge-litert's, else TensorFlow's)."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        from tensorflow.lite.python import schema_py_generated
    return schema_py_generated


def _add_onnx_metadata(path: Path, data: bytes) -> None:
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {METADATA_KEY: data.decode("utf-8")})
    onnx.save(model, str(path))


def read_model_metadata(path: str | Path) -> dict[str, Any]:
    """The ``kerasdoc`` metadata (class names, image spec, ...) stored inside a ``.tflite`` or
    ``.onnx`` file written by :func:`export_portable`."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False)
                 .metadata_props}
        if METADATA_KEY in props:
            return json.loads(props[METADATA_KEY])
    elif path.suffix == ".tflite":
        schema = _litert_schema()
        raw = bytearray(path.read_bytes())
        model = schema.Model.GetRootAs(raw, 0)
        for i in range(model.MetadataLength()):
            entry = model.Metadata(i)
            if entry.Name() == METADATA_KEY.encode():
                return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    raise ValueError(f"{path} holds no {METADATA_KEY!r} metadata (not written by "
                     "kerasdoc.deploy.export_portable).")


# --------------------------------------------------------------------------------------------
# Runtimes
# --------------------------------------------------------------------------------------------

class PortableModel:
    """Run an exported ``.tflite`` (ai-edge-litert) or ``.onnx`` (onnxruntime) model.

    Args:
        path: the model file, or its version folder.
        num_threads: int or None. CPU threads of the runtime (None: its default).

    Example:
        >>> m = PortableModel("saved_models/invoice/litert/1")  # doctest: +SKIP
        >>> m(pixels)["class_names"]  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, num_threads: int | None = None):
        path = Path(path)
        if path.is_dir():
            files = [path / f for f in FILE_NAMES.values() if (path / f).is_file()]
            if not files:
                raise FileNotFoundError(f"{path} holds no {' or '.join(FILE_NAMES.values())}.")
            path = files[0]
        self.path = path
        self.format = "onnx" if path.suffix == ".onnx" else "litert"
        if self.format == "onnx":
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            if num_threads:
                opts.intra_op_num_threads = num_threads
            self._session = ort.InferenceSession(str(path), opts,
                                                 providers=["CPUExecutionProvider"])
            self.output_names = [o.name for o in self._session.get_outputs()]
        else:
            from ai_edge_litert.interpreter import Interpreter

            self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
            self._runner = self._interpreter.get_signature_runner()

    def __call__(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs (``probabilities``, ``class_ids``, ``class_names`` ...) for a uint8 batch."""
        pixels = np.ascontiguousarray(pixels, np.uint8)
        if self.format == "onnx":
            return dict(zip(self.output_names,
                            self._session.run(None, {INPUT_NAME: pixels})))
        out = self._runner(**{INPUT_NAME: pixels})
        return {k: (v.astype(str) if v.dtype == object else v) for k, v in out.items()}


def runtime_available(fmt: str) -> bool:
    """Whether the runtime that runs ``fmt`` (``litert`` / ``onnx``) is installed."""
    import importlib.util

    mod = {"litert": "ai_edge_litert", "onnx": "onnxruntime"}[fmt]
    return importlib.util.find_spec(mod) is not None


def _check_samples(spec: ImageSpec) -> list[np.ndarray]:
    """Two small uint8 batches of other sizes than the model input (so the resize runs)."""
    rng = np.random.default_rng(0)
    h, w = spec.image_size
    c = spec.channels
    sizes = [(3, h + h // 2 + 1, w + 3), (1, max(h // 2, 2) + 1, w * 2 + 1)]
    return [rng.integers(0, 256, (b, hh, ww, c), dtype=np.uint8) for b, hh, ww in sizes]


def compare(wrapper: PixelClassifier, runtime: PortableModel,
            batches: Sequence[np.ndarray]) -> dict[str, Any]:
    """Largest probability difference and class agreement of ``runtime`` against the Keras
    ``wrapper`` on uint8 ``batches``."""
    worst, same, n = 0.0, 0, 0
    for x in batches:
        ref = wrapper(tf.constant(x))
        got = runtime(x)
        p_ref = ref["probabilities"].numpy()
        worst = max(worst, float(np.max(np.abs(got["probabilities"] - p_ref))))
        same += int(np.sum(got["class_ids"] == ref["class_ids"].numpy()))
        n += len(x)
    return {"max_abs_difference": worst, "same_class": same, "images": n}


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------

def _specs_for(models: list[keras.Model], spec: Any) -> list[ImageSpec]:
    specs = member_specs(models, spec)
    if len({sp.channels for sp in specs}) != 1:
        raise ValueError("The members read different colour modes "
                         f"({sorted({sp.color_mode for sp in specs})}); a pixels-in model takes "
                         "one: export them separately.")
    return specs


def build_pixel_classifier(model: keras.Model | Sequence[keras.Model], *,
                           class_names: Sequence[str] | None = None,
                           spec: ImageSpec | Sequence[ImageSpec] | None = None,
                           top_k: int | None = None,
                           ensemble_weights: Sequence[float] | None = None,
                           logits: bool = False,
                           stacker: keras.Model | None = None) -> PixelClassifier:
    """Check the arguments (as :func:`kerasdoc.export.export_for_serving` does) and build the
    :class:`PixelClassifier` that the portable formats convert."""
    models, k = check_members(model)
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(names) != k or any(not c for c in names):
        raise ValueError(f"Need {k} non-empty class names. Received: {names}")
    specs = _specs_for(models, spec)
    check_ensemble(models, k, top_k=top_k, ensemble_weights=ensemble_weights, stacker=stacker)
    wrapper = PixelClassifier(models, specs, names, ensemble_weights, stacker, logits, top_k)
    wrapper(tf.zeros([1, *specs[0].input_shape], tf.uint8))  # build: Keras exports built models
    return wrapper


def export_portable(
    model: keras.Model | Sequence[keras.Model],
    name: str,
    base_dir: str | Path = "saved_models",
    version: int | None = None,
    *,
    format: str = "litert",  # noqa: A002 - the CLI's and Keras' name for it
    class_names: Sequence[str] | None = None,
    spec: ImageSpec | Sequence[ImageSpec] | None = None,
    top_k: int | None = None,
    ensemble_weights: Sequence[float] | None = None,
    logits: bool = False,
    stacker: keras.Model | None = None,
    verify: bool = True,
) -> Path:
    """Write ``base_dir/name/<format>/<version>/model.tflite | model.onnx``: decoded uint8
    pixels in, the image spec's preprocessing inside (see the module docstring).

    Args:
        model, class_names, spec, top_k, ensemble_weights, logits, stacker: as
            :func:`kerasdoc.export.export_for_serving`.
        name: str. Model name; letters, digits, ``-_.``.
        base_dir: str or Path. Root of the model repository.
        version: int or None. Version folder; None takes the next integer. Never overwritten.
        format: ``"litert"`` or ``"onnx"``.
        verify: bool. Run the exported model with its runtime (when installed) against the Keras
            model on two random batches of other sizes; refuse (``ValueError``) a difference over
            1e-4 or a different class.

    Returns:
        Path of the version folder.

    Raises:
        FileExistsError: the version exists.
        ValueError: bad arguments; a pipeline the format cannot hold (the reason named); a
            converted model that does not match the Keras model.
    """
    if format not in PORTABLE_FORMATS:
        raise ValueError(f"format must be one of {PORTABLE_FORMATS}. Received: format={format!r}")
    if not name or not all(ch.isalnum() or ch in "-_." for ch in name) or name.startswith("."):
        raise ValueError(f"Model name must be letters, digits, '-', '_' or '.'. "
                         f"Received: name={name!r}")
    wrapper = build_pixel_classifier(model, class_names=class_names, spec=spec, top_k=top_k,
                                     ensemble_weights=ensemble_weights, logits=logits,
                                     stacker=stacker)
    check_format(wrapper.specs, format)
    model_dir = Path(base_dir) / name / format
    version, auto = claim_version(model_dir, version)
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=model_dir))
    try:
        out_dir = staging / "model"
        out_dir.mkdir()
        path = out_dir / FILE_NAMES[format]
        _convert(wrapper, format, path)
        meta = _metadata(wrapper, name, format)
        blob = json.dumps({k: meta[k] for k in ("class_names", "image_spec", "inputs",
                                                "outputs")}).encode("utf-8")
        (_add_onnx_metadata if format == "onnx" else _add_litert_metadata)(path, blob)
        check = None  # the file as published (metadata included) is what is checked
        if verify and runtime_available(format):
            check = _verify(wrapper, format, path)
        elif format == "onnx":  # no runtime here: at least the ONNX checker
            import onnx

            try:
                onnx.checker.check_model(str(path))
            except onnx.checker.ValidationError as e:
                raise ValueError(f"onnx cannot hold this pipeline: the converted model is "
                                 f"invalid: {_refusal_reason(e)}") from e
        meta["verified"] = check
        meta["bytes"] = path.stat().st_size
        final = publish_version(out_dir, model_dir, version, auto, meta)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _verify(wrapper: PixelClassifier, fmt: str, path: Path) -> dict[str, Any]:
    try:
        result = compare(wrapper, PortableModel(path), _check_samples(wrapper.specs[0]))
    except Exception as e:  # noqa: BLE001 - a converted graph the runtime cannot load or run
        raise ValueError(f"{fmt} cannot hold this pipeline: the converted model fails in "
                         f"{_RUNTIME_PACKAGES[fmt]}: {_refusal_reason(e)}") from e
    result["runtime"] = _RUNTIME_PACKAGES[fmt]
    if result["max_abs_difference"] > TOLERANCE or result["same_class"] != result["images"]:
        raise ValueError(f"The {fmt} model does not match the Keras model: largest probability "
                         f"difference {result['max_abs_difference']:.2e} (limit {TOLERANCE}), "
                         f"{result['same_class']}/{result['images']} same classes; not "
                         f"published (image spec: {wrapper.specs[0].get_config()}).")
    return result


def _metadata(wrapper: PixelClassifier, name: str, fmt: str) -> dict[str, Any]:
    outputs = ["probabilities", "class_ids", "class_names"]
    if wrapper.top_k:
        outputs += ["top_k_probabilities", "top_k_class_ids", "top_k_class_names"]
    if len(wrapper.members) > 1:
        outputs.append("member_probabilities")
    return {"name": name, "format": fmt, "file": FILE_NAMES[fmt],
            "class_names": wrapper.class_names,
            "image_spec": [sp.get_config() for sp in wrapper.specs],
            "inputs": {INPUT_NAME: {"dtype": "uint8", "shape": [None, None, None,
                                                                  wrapper.channels],
                                    "color_mode": wrapper.specs[0].color_mode}},
            "outputs": outputs, "models": [m.name for m in wrapper.members],
            "stacker": wrapper.stacker.name if wrapper.stacker is not None else None,
            "top_k": wrapper.top_k, "versions": _versions(fmt)}


def _versions(fmt: str) -> dict[str, str]:
    from importlib import metadata

    out = {"tensorflow": tf.__version__, "keras": keras.__version__}
    for pkg in (_CONVERTER_PACKAGES[fmt], _RUNTIME_PACKAGES[fmt]):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


def export_model_files(model_files: str | Path | Sequence[str | Path], name: str,
                       base_dir: str | Path = "saved_models", version: int | None = None, *,
                       format: str = "litert", card_flags: dict[str, Any] | None = None,
                       **kwargs: Any) -> Path:  # noqa: A002
    """:func:`export_portable` for ``.keras`` file(s) with their model cards, or a stacked
    pipeline (``pipeline.json`` or its folder), as ``kerasdoc export --format`` does.

    ``card_flags`` (``card=``, ``class_names=``, ``image_spec=``, the CLI flags' text) stand in
    for or correct a missing card (:func:`kerasdoc.card.resolve_card`); a model without a card
    and without them is refused, never exported with numbered classes."""
    from kerasdoc.card import load_members, split_pipeline

    files, pipeline = split_pipeline(model_files)
    if pipeline is not None:
        from kerasdoc.stacking import StackedPipeline

        p = StackedPipeline(pipeline)
        kwargs.setdefault("top_k", 3)
        return export_portable(p.models, name, base_dir, version, format=format,
                               class_names=p.class_names, spec=p.specs, stacker=p.stacker,
                               **kwargs)
    models, specs, names = load_members(files, card_flags)
    return export_portable(models, name, base_dir, version, format=format, class_names=names,
                           spec=specs, **kwargs)


__all__ = ["FORMATS", "INTERPOLATIONS", "PORTABLE_FORMATS", "PixelClassifier", "PortableModel",
           "build_pixel_classifier", "check_format", "compare", "export_model_files",
           "export_portable", "read_model_metadata", "runtime_available"]

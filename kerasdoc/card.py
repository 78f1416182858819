"""Model cards: the side-car JSON beside a ``.keras`` file that export, evaluate and predict read.

``run/model.keras`` gets ``run/model.kerasdoc.json`` holding the class names, the
:class:`kerasdoc.generators.spec.ImageSpec` of the training flow (size, colour, crop, resize mode,
scaling), the registered model name, the paper, and whatever facts the run adds (data, epochs,
strategy, final metrics). The run recipe (:mod:`kerasdoc.runs`) writes it from the training
flow's own spec, so ``kerasdoc export`` and ``kerasdoc predict`` replay exactly what training did.

Example:
    >>> import tempfile, pathlib
    >>> from kerasdoc.generators.spec import ImageSpec
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
    >>> _ = write_card(f, ["a", "b"], ImageSpec((28, 28), "grayscale"), model="digits_cnn")
    >>> card = read_card(f)
    >>> card.class_names, card.spec.image_size, card.extra["model"]
    (['a', 'b'], (28, 28), 'digits_cnn')
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kerasdoc.diskio import atomic_write_text
from kerasdoc.generators.spec import ImageSpec

CARD_SUFFIX = ".kerasdoc.json"


@dataclasses.dataclass
class ModelCard:
    """What a trained model file needs beside its weights to be evaluated, served and explained.

    Attributes:
        class_names: one name per output unit, in output order.
        spec: the image spec of the training flow.
        extra: every other recorded fact (``model``, ``paper``, ``data``, ``epochs`` ...).
    """

    class_names: list[str]
    spec: ImageSpec
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        """The card as JSON text."""
        return json.dumps({"class_names": list(self.class_names),
                           "image_spec": self.spec.get_config(), **self.extra},
                          indent=2, default=str)


def card_path(model_file: str | Path) -> Path:
    """``run/model.keras`` -> ``run/model.kerasdoc.json``."""
    p = Path(model_file)
    return p.with_name(p.stem + CARD_SUFFIX)


def write_card(model_file: str | Path, class_names: Sequence[str], spec: ImageSpec,
               **extra: Any) -> Path:
    """Write the card of ``model_file`` atomically (temporary file, then rename; a full disk
    leaves no temporary file and raises :class:`kerasdoc.diskio.DiskFullError` naming it).

    Args:
        model_file: str or Path. The ``.keras`` file it describes.
        class_names: sequence of str. One per output.
        spec: ImageSpec. The training flow's spec (``flow.spec``).
        **extra: more JSON-safe facts.

    Returns:
        The card's path.
    """
    if not isinstance(spec, ImageSpec):
        raise ValueError(f"spec must be a kerasdoc.generators.spec.ImageSpec. Received: {spec!r}")
    path = card_path(model_file)
    card = ModelCard([str(c) for c in class_names], spec, dict(extra))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, card.to_json(), hint="; write the card again once there is space")
    return path


def read_card(model_file: str | Path, model: Any = None) -> ModelCard:
    """The card of ``model_file``; without one, defaults for ``model`` (numbered classes, the
    model's input size, rescale 1/255), or ``FileNotFoundError`` when no model is given.

    Raises:
        FileNotFoundError: no card and no model.
        ValueError: a card that is not JSON or lacks ``class_names`` / ``image_spec`` (named).
    """
    path = card_path(model_file)
    if not path.is_file():
        if model is None:
            raise FileNotFoundError(f"{path} is missing (the model card written beside "
                                    f"{Path(model_file).name} by `kerasdoc train`).")
        return ModelCard([str(i) for i in range(model.output_shape[-1])],
                         ImageSpec.for_model(model))
    return _parse_card(path, model)


def _parse_card(path: Path, model: Any = None) -> ModelCard:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = [str(c) for c in data.pop("class_names")]
        spec_cfg = data.pop("image_spec", None) or data.pop("preprocessing")
        spec = ImageSpec.from_config(spec_cfg)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path} is not a kerasdoc model card (expected JSON with class_names "
                         f"and image_spec): {e}") from e
    if model is not None and model.output_shape[-1] != len(names):
        raise ValueError(f"{path} names {len(names)} classes but the model has "
                         f"{model.output_shape[-1]} outputs.")
    _check_spec(path, spec, model)
    return ModelCard(names, spec, data)


#: No model input is larger than an image kerasdoc decodes (PIL's limit, the flows' default).
MAX_INPUT_PIXELS = 89_478_485


def _check_spec(where: Any, spec: ImageSpec, model: Any = None) -> None:
    """A card's (or flag's) image spec must fit the model and be a sane size, so that a wrong
    card is named as such, not blamed on the image being classified."""
    h, w = spec.image_size
    if h * w > MAX_INPUT_PIXELS:
        raise ValueError(f"{where}: image_size {h}x{w} ({h * w:,} pixels) is larger than any "
                         f"image kerasdoc decodes ({MAX_INPUT_PIXELS:,} pixels); the card is "
                         "wrong (the training flow's target_size belongs there).")
    if model is not None:
        try:
            spec.check_model(model)
        except ValueError as e:
            raise ValueError(f"{where} does not fit the model: {e}") from None


class MissingCardError(FileNotFoundError):
    """A ``.keras`` file without its model card, and no flags saying what the card would."""


#: How to give what a missing card would hold (the flags of evaluate / export / predict).
CARD_FLAGS_HELP = ("--card FILE (the model.kerasdoc.json of its training run), or "
                   "--class-names A,B,... (or @FILE, one name per line) and --image-spec model "
                   "(its input size and colour, stretched, rescaled by 1/255) or --image-spec "
                   "KEY=VALUE,... (e.g. image_size=64x64,color_mode=grayscale,resize_mode=pad)")


def parse_class_names(text: str) -> list[str]:
    """``"a,b,c"`` or ``"@names.txt"`` (one name per line) -> the names.

    Example:
        >>> parse_class_names("invoice, letter")
        ['invoice', 'letter']
    """
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise FileNotFoundError(f"--class-names file {path} does not exist (or is not a "
                                    "file).")
        names = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        names = [n for n in names if n]
    else:
        names = [n.strip() for n in text.split(",")]
    if not names or any(not n for n in names):
        raise ValueError(f"--class-names needs non-empty names separated by commas (or @FILE). "
                         f"Received: {text!r}")
    return names


def parse_image_spec(text: str, model: Any, base: ImageSpec | None = None) -> ImageSpec:
    """``--image-spec``: ``"model"`` (:meth:`ImageSpec.for_model`), a JSON file holding an
    image spec (or a whole card), or ``KEY=VALUE,...`` changes to ``base`` (the card's spec)
    or to the ``"model"`` spec. ``image_size`` is ``HxW``; ``rescale=none`` turns it off.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((8, 6, 1)), keras.layers.Flatten()])
        >>> parse_image_spec("resize_mode=pad,rescale=none", m).get_config()["resize_mode"]
        'pad'
    """
    if text == "model":
        return ImageSpec.for_model(model)
    if Path(text).is_file():
        try:
            data = json.loads(Path(text).read_text(encoding="utf-8"))
            return ImageSpec.from_config(data.get("image_spec", data))
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as e:
            raise ValueError(f"--image-spec file {text} is not an image spec (JSON with the "
                             f"keys of ImageSpec.get_config()): {e}") from None
    config = dict((base or ImageSpec.for_model(model)).get_config())
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key not in config:
            raise ValueError(f"--image-spec {text!r}: expected 'model', a JSON file or "
                             f"KEY=VALUE pairs with keys {sorted(config)}; got {item!r}")
        if key == "image_size":
            h, _, w = value.lower().partition("x")
            config[key] = [h, w or h]
        elif value.lower() in ("none", ""):
            config[key] = None
        elif key in ("rescale", "mean", "std"):
            try:  # rescale=1/255; mean=0.5 or one per channel, 0.485:0.456:0.406
                nums = [float(a) / float(b or 1) for a, _, b in
                        (v.partition("/") for v in value.split(":"))]
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"--image-spec {key}={value!r}: expected a number") from None
            config[key] = nums[0] if key == "rescale" else nums
        else:
            config[key] = value
    return ImageSpec.from_config(config)


def resolve_card(model_file: str | Path, model: Any, *, card: str | Path | None = None,
                 class_names: str | None = None, image_spec: str | None = None) -> ModelCard:
    """The card the commands use for ``model_file``: ``card`` (a card file) or the side-car
    card, with ``class_names`` / ``image_spec`` (the flags' text) replacing its fields.

    Without a card, both flags are needed: numbered classes and a guessed preprocessing would
    give wrong labels or pixels without a word.

    Raises:
        MissingCardError: no card and not both flags (the message says how to give them).
        ValueError: a bad card or flag; as many class names as the model has outputs.
    """
    base = None
    if card is not None:
        if not Path(card).is_file():
            raise FileNotFoundError(f"--card {card} does not exist (or is not a file).")
        base = _parse_card(Path(card))
    elif card_path(model_file).is_file():
        base = read_card(model_file)
    names = parse_class_names(class_names) if class_names else (base and base.class_names)
    spec = parse_image_spec(image_spec, model, base and base.spec) if image_spec else \
        (base and base.spec)
    missing = [what for what, v in (("class names", names), ("image spec", spec)) if not v]
    if missing:
        raise MissingCardError(
            f"{model_file} has no model card ({card_path(model_file).name} is missing beside "
            f"it), so its {' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} "
            "unknown and defaults could give wrong "
            f"labels or pixels; give {CARD_FLAGS_HELP}.")
    _check_spec("--image-spec" if image_spec else (card or card_path(model_file)), spec, model)
    outputs = model.output_shape[-1]
    if len(names) != outputs:
        where = "--class-names" if class_names else (card or card_path(model_file))
        raise ValueError(f"{where} names {len(names)} classes but {model_file} has {outputs} "
                         "outputs.")
    return ModelCard(list(names), spec, dict(base.extra) if base else {})


def split_pipeline(model_files: str | Path | Sequence[str | Path]) -> tuple[list, Path | None]:
    """``(files, pipeline)``: the files as a list, and the stacked pipeline (a ``pipeline.json``
    or its run folder) when that is what was given, alone.

    Raises:
        ValueError: a pipeline given together with other files.
    """
    files = [model_files] if isinstance(model_files, str | Path) else list(model_files)
    if not any(Path(f).is_dir() or Path(f).suffix == ".json" for f in files):
        return files, None
    if len(files) != 1:
        raise ValueError(f"Export one stacked pipeline (pipeline.json or its run folder) "
                         f"or .keras files, not both. Received: {[str(f) for f in files]}")
    return files, Path(files[0])


def load_members(files: Sequence[str | Path], card_flags: dict[str, Any] | None = None
                 ) -> tuple[list, list[ImageSpec], list[str]]:
    """``(models, specs, class_names)`` of ``.keras`` files read with their cards
    (:func:`resolve_card`, with the CLI's ``card_flags``); the members must share their classes.
    """
    from kerasdoc.models.weights import load_keras_model

    models, specs, names = [], [], None
    for f in files:
        m = load_keras_model(f, compile=False)
        card = resolve_card(f, m, **(card_flags or {}))
        if names is not None and card.class_names != names:
            raise ValueError(f"{f} has classes {card.class_names}, unlike {files[0]} ({names}).")
        names = card.class_names
        models.append(m)
        specs.append(card.spec)
    return models, specs, names

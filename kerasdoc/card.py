"""Model cards: the side-car JSON beside a ``.keras`` file that export, evaluate and predict read.

``run/model.keras`` gets ``run/model.kerasdoc.json`` holding the class names, the
:class:`kerasdoc.generators.spec.ImageSpec` of the training flow (size, colour, crop, resize mode,
scaling), the registered model name, the paper, and whatever facts the run adds (data, epochs,
strategy, final metrics). The run recipe (:mod:`kerasdoc.runs`) writes it from the training
flow's own spec, so ``kerasdoc export`` and ``kerasdoc predict`` replay exactly what training did.

Example:
    >>> import tempfile, pathlib
    >>> from kerasdoc.diskio import atomic_write_text
from kerasdoc.generators.spec import ImageSpec
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
    return ModelCard(names, spec, data)

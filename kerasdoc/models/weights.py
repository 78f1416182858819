"""Model-level utilities: weight transfer, progressive resizing, safe loading, parameter counts.

The ground floor of ``kerasdoc``: everything here works on a ``keras.Model`` alone, so the
training recipes, the export and the CLI all build on it and nothing here imports them.
Weight transfer by layer name is how the Persian OCR report's transfer learning runs where no
ImageNet weights can be downloaded (Kendal 2019), and how the RVL-CDIP region models start from the
holistic model (Das et al. 2018, "intra-domain transfer"); :func:`with_input_size` is progressive
resizing ("continue training the same weights at 352 after 224").

Example:
    >>> import keras
    >>> def make(n):
    ...     i = keras.Input((4,)); h = keras.layers.Dense(8, name="body")(i)
    ...     return keras.Model(i, keras.layers.Dense(n, name="logits")(h))
    >>> report = transfer_weights(make(3), make(5))
    >>> report["transferred"], report["skipped_shape"]
    (['body'], ['logits'])
    >>> count_params(make(3))
    {'total': 67, 'trainable': 67}
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import keras


def transfer_weights(src: keras.Model, dst: keras.Model, *, skip_mismatch: bool = True,
                     layers: list[str] | None = None) -> dict[str, list[str]]:
    """Copy weights from ``src`` to ``dst`` layer by layer, matching layer names.

    Args:
        src: keras.Model. The source (e.g. a model trained on another digit set).
        dst: keras.Model. The destination, changed in place.
        skip_mismatch: bool. Skip layers whose weight shapes differ (a head with another class
            count); if False, a mismatch raises ``ValueError``. Defaults to True.
        layers: list of str. Only these layer names (default: every name both models share).

    Returns:
        ``{"transferred": [...], "skipped_shape": [...], "missing_in_src": [...]}``: layer names
        of ``dst`` with weights.

    Raises:
        ValueError: no layer could be transferred, a requested layer is missing, or a shape
            mismatch with ``skip_mismatch=False``; the message names the layer.
    """
    src_layers = {layer.name: layer for layer in src.layers}
    report: dict[str, list[str]] = {"transferred": [], "skipped_shape": [], "missing_in_src": []}
    wanted = set(layers) if layers is not None else None
    if wanted is not None:
        missing = sorted(wanted - set(src_layers) | wanted - {la.name for la in dst.layers})
        if missing:
            raise ValueError(f"Layers {missing} are not in both {src.name!r} and {dst.name!r}.")
    for layer in dst.layers:
        if not layer.weights or (wanted is not None and layer.name not in wanted):
            continue
        other = src_layers.get(layer.name)
        if other is None or not other.weights:
            report["missing_in_src"].append(layer.name)
            continue
        src_w = other.get_weights()
        shapes_dst = [tuple(w.shape) for w in layer.weights]
        shapes_src = [tuple(w.shape) for w in src_w]
        if shapes_dst != shapes_src:
            if not skip_mismatch:
                raise ValueError(f"Layer {layer.name!r}: weight shapes {shapes_src} in "
                                 f"{src.name!r}, expected {shapes_dst} as in {dst.name!r}.")
            report["skipped_shape"].append(layer.name)
            continue
        layer.set_weights(src_w)
        report["transferred"].append(layer.name)
    if not report["transferred"]:
        raise ValueError(f"No layer of {dst.name!r} matches a layer of {src.name!r} by name and "
                         "shape: were they built by the same builder?")
    return report


def with_input_size(model: keras.Model, size: int | tuple[int, int]) -> keras.Model:
    """The same functional model at another input size, carrying the same weights.

    Progressive resizing (the Persian OCR report: 224, then 352): the ResNet body and the
    concat-pool head
    do not depend on the input size, so the architecture is rebuilt from ``get_config`` with a
    new input shape and every weight (and frozen state) is copied over.

    Args:
        model: keras.Model. A functional model with one image input.
        size: int or (height, width). The new input size.

    Returns:
        A new ``keras.Model`` (not compiled).

    Example:
        >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3, name="c"),
        ...                       keras.layers.GlobalAveragePooling2D(name="p")])
        >>> with_input_size(m, 16).input_shape
        (None, 16, 16, 3)
    """
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive. Received: size={size}")
    config: dict[str, Any] = model.get_config()
    input_layers = [la for la in config["layers"] if la["class_name"] == "InputLayer"]
    if len(input_layers) != 1:
        raise ValueError(f"Model {model.name!r} must have exactly one input layer to resize; "
                         f"found {len(input_layers)}.")
    cfg = input_layers[0]["config"]
    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    if shape is None or len(shape) != 4:
        raise ValueError(f"Model {model.name!r}: expected an image input (batch, h, w, c); "
                         f"found {shape}.")
    cfg["batch_shape"] = [shape[0], h, w, shape[3]]
    cfg.pop("batch_input_shape", None)
    new = model.__class__.from_config(config)
    new.set_weights(model.get_weights())
    for old_layer, new_layer in zip(model.layers, new.layers):
        new_layer.trainable = old_layer.trainable
    return new


def load_keras_model(path: str | Path, *, custom_objects: dict | None = None,
                     compile: bool = True) -> keras.Model:
    """Load a ``.keras`` file with ``safe_mode=True`` (no arbitrary code from Lambda layers).

    Args:
        path: str or Path. A ``.keras`` file.
        custom_objects: extra objects not registered with ``register_keras_serializable``.
        compile: bool. Restore the training configuration.

    Returns:
        The model.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ``.keras`` file, or one that needs unsafe deserialisation.
    """
    import zipfile

    from kerasdoc.diskio import check_model_file

    p = check_model_file(path)

    import kerasdoc.losses  # noqa: F401 - register the project's custom objects
    import kerasdoc.metrics  # noqa: F401
    from kerasdoc.models.registry import _load_all

    _load_all()  # every model module: their custom layers register on import
    try:
        return keras.saving.load_model(p, custom_objects=custom_objects, compile=compile,
                                       safe_mode=True)
    except zipfile.BadZipFile as e:
        raise ValueError(f"{p} is a damaged .keras archive: {e}") from None
    except TypeError as e:
        if "Could not locate" not in str(e):
            raise
        raise ValueError(f"Cannot load {p}: {str(e).splitlines()[0]} Its class is not "
                         "registered in this process: load with compile=False (the optimizer "
                         "and loss are only needed to train on), or import the module that "
                         "defines it first (kerasdoc.training for DiscriminativeAdam).") from None
    except ValueError as e:
        raise ValueError(f"Cannot load {p} with safe_mode=True: {e}") from e


def trainable_param_count(model: keras.Model) -> int:
    """Number of trainable parameters (the convention of the paper's Table 1).

    Args:
        model: keras.Model.

    Returns:
        The sum of the sizes of ``model.trainable_weights``.

    Example:
        >>> from kerasdoc.models import get_model
        >>> trainable_param_count(get_model("resnet18", paper_layout=True))
        11174787
    """
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))


def count_params(model: keras.Model) -> dict[str, int]:
    """Keras' parameter count (BatchNormalization moving statistics included) and the trainable one.

    Args:
        model: keras.Model.

    Returns:
        ``{"total": model.count_params(), "trainable": trainable_param_count(model)}``.
    """
    return {"total": int(model.count_params()), "trainable": trainable_param_count(model)}

"""Weight transfer between models by layer name, and progressive resizing.

Paper: seeds/004 (Kendal, Persian OCR): transfer learning from a pretrained ResNet ("which is how
this workflow runs here where ImageNet weights cannot be downloaded": from another kerasdoc model),
and progressive resizing: "continue training the same weights at 352 after 224".

Example:
    >>> import keras
    >>> def make(n):
    ...     i = keras.Input((4,)); h = keras.layers.Dense(8, name="body")(i)
    ...     return keras.Model(i, keras.layers.Dense(n, name="logits")(h))
    >>> report = transfer_weights(make(3), make(5))
    >>> report["transferred"], report["skipped_shape"]
    (['body'], ['logits'])
"""

from __future__ import annotations

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

    Progressive resizing (seeds/004: 224, then 352): the ResNet body and the concat-pool head
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

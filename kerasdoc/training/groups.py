"""Layer groups, ``freeze`` / ``unfreeze`` (fastai's ``freeze_to``), as in the Persian OCR report.

Paper: seeds/004 (Kendal): "The pre-trained layers were 'frozen' ... only trains the new layers";
then ``learn.unfreeze()``. fastai splits a ResNet into three layer groups: the body's first half
(stem, stages 1-2), its second half (stages 3-4) and the head, and keeps BatchNorm layers
trainable in frozen groups (``train_bn=True``).

Which layers form the head and where the body splits are facts of the model, declared where it
is registered (``register_model(head=..., split_before=...)``, e.g. ResNet-34 splits before
``stage3_*``); a model built from the registry is recognised by its name
(:func:`kerasdoc.models.registry.find_spec`). An unregistered model's head is its ``head_*`` /
``logits`` / ``predictions`` layers (or its last weighted layer) and its body splits in the middle
of its weighted layers; both can be passed explicitly.

Example:
    >>> from kerasdoc.models import get_model
    >>> m = get_model("resnet34", input_shape=(32, 32, 3), num_classes=3)
    >>> [len(g) for g in layer_groups(m)][-1]
    10
    >>> _ = freeze(m)
    >>> m.get_layer("stage1_block1_1_conv").trainable
    False
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kerasdoc.models.registry import DEFAULT_HEAD, find_spec

_NORM_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
                keras.layers.GroupNormalization)


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p) for p in prefixes)


def group_rules(model: keras.Model) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(head prefixes, split_before prefixes)`` for ``model``: its registry entry's, or defaults.

    Example:
        >>> from kerasdoc.models import get_model
        >>> group_rules(get_model("resnet_quick", num_classes=3))[1]
        ('stage3_',)
    """
    spec = find_spec(model)
    if spec is None:
        return DEFAULT_HEAD, ()
    return spec.head, spec.split_before


def is_head_layer(layer: keras.layers.Layer, head: Sequence[str] = DEFAULT_HEAD) -> bool:
    """True if ``layer``'s name is one of the ``head`` prefixes (default ``head_*``, ``logits``,
    ``predictions``)."""
    return _matches(layer.name, head)


def layer_groups(model: keras.Model, n_body_groups: int = 2, *,
                 head: Sequence[str] | None = None,
                 split_before: Sequence[str] | None = None) -> list[list[keras.layers.Layer]]:
    """Split ``model``'s layers into fastai layer groups: body parts, then the head.

    Args:
        model: keras.Model. A functional model.
        n_body_groups: int. 1 or 2 body groups. Defaults to 2 (fastai's split for ResNets).
        head: layer-name prefixes of the head (default: the model's registry entry, see
            :func:`group_rules`).
        split_before: layer-name prefixes starting the second body group (default: the
            registry entry's; none: the middle of the body's weighted layers).

    Returns:
        A list of lists of layers (input layers excluded), the head last. A model without a head
        layer takes its last weighted layer as head.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"),
        ...                       keras.layers.Dense(2, name="logits")])
        >>> [[layer.name for layer in g] for g in layer_groups(m)]
        [[], ['a'], ['logits']]
    """
    if n_body_groups not in (1, 2):
        raise ValueError(f"n_body_groups must be 1 or 2. Received: n_body_groups={n_body_groups}")
    default_head, default_split = group_rules(model)
    head = tuple(default_head if head is None else head)
    split_before = tuple(default_split if split_before is None else split_before)
    all_layers = [layer for layer in model.layers
                  if not isinstance(layer, keras.layers.InputLayer)]
    head_layers = [layer for layer in all_layers if is_head_layer(layer, head)]
    if not head_layers:
        weighted = [layer for layer in all_layers if layer.weights]
        if not weighted:
            raise ValueError(f"Model {model.name!r} has no layer with weights to group.")
        cut = all_layers.index(weighted[-1])
        head_layers = all_layers[cut:]
    body = [layer for layer in all_layers if layer not in head_layers]
    if n_body_groups == 1:
        return [body, head_layers]
    split = next((i for i, layer in enumerate(body) if _matches(layer.name, split_before)),
                 None) if split_before else None
    if split is None:
        weighted = [i for i, layer in enumerate(body) if layer.weights]
        split = weighted[len(weighted) // 2] if weighted else len(body)
    return [body[:split], body[split:], head_layers]


def freeze(model: keras.Model, upto: int | str = -1, *, train_bn: bool = True,
           n_body_groups: int = 2) -> keras.Model:
    """Freeze the layer groups before ``upto`` (fastai ``freeze_to``); later groups train.

    Paper: seeds/004 (the body of the pretrained model is frozen for the first stage).

    Args:
        model: keras.Model.
        upto: int or str. Index of the first trainable group (negative counts from the end;
            the default -1 freezes everything but the head), or a layer name: every layer
            before it is frozen.
        train_bn: bool. Keep normalisation layers trainable in frozen groups, as fastai does.
            Defaults to True.
        n_body_groups: int. See :func:`layer_groups`.

    Returns:
        ``model`` (changed in place). Compile it again (``fit_one_cycle`` does) for the change
        to take effect in training.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"),
        ...                       keras.layers.Dense(2, name="logits")])
        >>> len(freeze(m).trainable_weights)
        2
    """
    layers_in_order = [layer for layer in model.layers
                       if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(upto, str):
        names = [layer.name for layer in layers_in_order]
        if upto not in names:
            raise ValueError(f"No layer named {upto!r} in model {model.name!r} "
                             f"(expected a layer name such as {names[0]!r}).")
        cut = names.index(upto)
        frozen, trainable = layers_in_order[:cut], layers_in_order[cut:]
    else:
        groups = layer_groups(model, n_body_groups)
        n = len(groups)
        if not -n <= upto <= n:
            raise ValueError(f"upto must be a group index in [{-n}, {n}] for {n} layer groups. "
                             f"Received: upto={upto}")
        k = upto % n if upto != n else n
        frozen = [layer for g in groups[:k] for layer in g]
        trainable = [layer for g in groups[k:] for layer in g]
    for layer in trainable:
        layer.trainable = True
    for layer in frozen:
        layer.trainable = bool(train_bn and isinstance(layer, _NORM_LAYERS))
    return model


def unfreeze(model: keras.Model) -> keras.Model:
    """Make every layer trainable again (fastai ``unfreeze``); compile again before training.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="a"),
        ...                       keras.layers.Dense(2, name="logits")])
        >>> len(unfreeze(freeze(m)).trainable_weights)
        4
    """
    model.trainable = True
    for layer in model.layers:
        layer.trainable = True
    return model


def group_lr_multipliers(model: keras.Model, rates: list[float], *,
                         n_body_groups: int = 2) -> dict[str, float]:
    """``{layer_name: rate / rates[-1]}`` for every layer with weights, by layer group.

    Args:
        model: keras.Model.
        rates: one learning rate per layer group (see :func:`kerasdoc.training.lr_range`).
        n_body_groups: int. See :func:`layer_groups`.

    Returns:
        The multipliers :class:`kerasdoc.training.DiscriminativeAdam` takes.
    """
    groups = layer_groups(model, n_body_groups)
    if len(rates) != len(groups):
        raise ValueError(f"Expected {len(groups)} learning rates for the layer groups of "
                         f"{model.name!r}. Received: {rates}")
    top = rates[-1]
    return {layer.name: rate / top for rate, g in zip(rates, groups) for layer in g
            if layer.weights}

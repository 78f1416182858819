"""RVL-CDIP models: the holistic InceptionResNetV2, region models, and the stacking meta-MLP.

Paper: Das et al. (2018), "Document Image Classification with Intra-Domain Transfer Learning and
Stacked Generalization of Deep Convolutional Neural Networks", as rebuilt in the blog "How I Built
A Document Classification System using Deep Convolutional Neural Networks". The blog:

* the holistic model is ``keras.applications.InceptionResNetV2`` without its top, variable input
  ``(None, None, 3)``, ImageNet weights ("L1 transfer"), "2 dense layers with Dropout and finally a
  Softmax layer of size 16";
* each region model (top / bottom / left / right band of the page) is the same architecture
  initialised from the 256-pixel holistic model ("L2", intra-domain transfer):
  :func:`region_model`;
* a 2-layer MLP meta-classifier learns from the concatenated softmax outputs of the 5 models:
  ``stacking_mlp``.

For two CPU cores, ``rvl_small_resnet`` is a small ResNet with the same head and variable input;
the pipeline (``kerasdoc reproduce rvl-cdip --backbone NAME``) takes any registered classifier.

Layer names: the backbone is one nested layer (``inception_resnet_v2``, so Keras' own layer names
and its weight loading stay untouched, and weights transfer between models by that one name), the
head is ``head_pool``, ``head_dense1``, ``head_dropout1``, ``head_dense2``, ``head_dropout2``, then
``logits`` (no activation) and ``predictions`` (softmax).

Example:
    >>> from kerasdoc.models import get_model
    >>> m = get_model("rvl_small_resnet", num_classes=16)
    >>> m.output_shape, m.input_shape
    ((None, 16), (None, None, None, 3))
    >>> r = region_model(m, "top")
    >>> r.name
    'rvl_small_resnet_top'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
from keras import layers

from kerasdoc.generators.spec import ImageSpec
from kerasdoc.models.blocks import apply_resnet_stages, apply_resnet_stem
from kerasdoc.models.registry import register_model

NUM_CLASSES = 16
REGIONS = ("top", "bottom", "left", "right")
#: The 5 members of the stack, in the order of the meta-classifier's input rows.
MEMBERS = ("holistic", *REGIONS)
HEAD_UNITS = (1024, 512)
HEAD_DROPOUT = 0.5


def apply_rvl_head(x, num_classes: int = NUM_CLASSES, *, units: Sequence[int] = HEAD_UNITS,
                   dropout: float = HEAD_DROPOUT, pooling: str = "avg"):
    """Global pooling, two dense layers (ReLU) each followed by dropout, then softmax.

    Paper: the blog after Das et al. (2018): "attach 2 dense layers with Dropout and finally a
    Softmax layer of size 16" (widths not given: 1024 and 512 here).

    Args:
        x: the backbone's feature map (NHWC).
        num_classes: int. Classes. Defaults to 16.
        units: (int, int). Widths of the two dense layers. Defaults to (1024, 512).
        dropout: float. Dropout rate after each dense layer. Defaults to 0.5.
        pooling: ``"avg"`` or ``"max"`` global pooling. Defaults to ``"avg"``.

    Returns:
        The softmax output tensor (``predictions``; the layer before it is ``logits``).
    """
    if pooling not in ("avg", "max"):
        raise ValueError(f"pooling must be 'avg' or 'max'. Received: pooling={pooling!r}")
    if len(units) != 2 or min(units) < 1:
        raise ValueError(f"units must be two positive widths. Received: units={units!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1). Received: dropout={dropout}")
    pool = layers.GlobalAveragePooling2D if pooling == "avg" else layers.GlobalMaxPooling2D
    x = pool(name="head_pool")(x)
    for i, u in enumerate(units, start=1):
        x = layers.Dense(int(u), activation="relu", name=f"head_dense{i}")(x)
        x = layers.Dropout(dropout, name=f"head_dropout{i}")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    return layers.Activation("softmax", dtype="float32", name="predictions")(x)


def _check_shape(input_shape: Sequence[int | None], num_classes: int) -> tuple:
    shape = tuple(None if d is None else int(d) for d in input_shape)
    if len(shape) != 3 or shape[-1] != 3:
        raise ValueError(f"input_shape must be (height, width, 3) (RGB; height and width may be "
                         f"None). Received: input_shape={input_shape}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2. Received: num_classes={num_classes}")
    return shape


def imagenet_spec(image_size: tuple[int, int], crop: str | None = None) -> ImageSpec:
    """The image spec of ``keras.applications.inception_resnet_v2.preprocess_input``
    (``x / 127.5 - 1``) for models started from ImageNet weights.

    Paper: Das et al. (2018) start from ImageNet weights (the blog keeps ``rescale=1/255``,
    which does not match them; with ``weights="imagenet"`` the experiment uses this spec).

    Args:
        image_size: (height, width).
        crop: None or a region name.

    Returns:
        An RGB :class:`ImageSpec` with ``rescale=1/127.5, mean=1, std=1``.

    Example:
        >>> import numpy as np, keras
        >>> x = np.array([[[[0.0, 127.5, 255.0]]]], "float32")
        >>> spec = imagenet_spec((1, 1))
        >>> y = keras.applications.inception_resnet_v2.preprocess_input(x.copy())
        >>> np.allclose(spec.scale(x), y)
        True
    """
    return ImageSpec(tuple(image_size), "rgb", rescale=1 / 127.5, mean=1.0, std=1.0, crop=crop)


@register_model("holistic_inception_resnet_v2", paper="rvl-cdip", input_shape=(None, None, 3),
                large=True, test_kwargs={"input_shape": (75, 75, 3), "num_classes": 4,
                                         "head_units": (16, 8)})
def build_holistic_inception_resnet_v2(
    input_shape: Sequence[int | None] = (None, None, 3),
    num_classes: int = NUM_CLASSES,
    *,
    weights: str | Path | None = None,
    head_units: Sequence[int] = HEAD_UNITS,
    dropout: float = HEAD_DROPOUT,
    name: str = "holistic_inception_resnet_v2",
) -> keras.Model:
    """InceptionResNetV2 (no top, variable input) + global pooling + 2 dense/dropout + softmax.

    Paper: Das et al. (2018) via the blog: the holistic model, trained at 128 x 128 and then at
    256 x 256 (progressive resizing); the region models are copies of it (:func:`region_model`).

    Args:
        input_shape: (height, width, 3). Defaults to (None, None, 3) (any size >= 75).
        num_classes: int. Defaults to 16 (RVL-CDIP).
        weights: None (random), ``"imagenet"`` (Keras' own download and loading code, the
            blog's start; feed it :func:`imagenet_spec` images, i.e. Keras' ``preprocess_input``),
            a weights file of the InceptionResNetV2 base (handed to ``keras.applications``), or
            a ``.keras`` file of a model with the same layer names (weights transferred by name,
            e.g. a trained holistic model).
        head_units: (int, int). Widths of the two dense layers. Defaults to (1024, 512).
        dropout: float. Dropout after each dense layer. Defaults to 0.5.
        name: str. Model name.

    Returns:
        A functional ``keras.Model``: ``image`` -> ``inception_resnet_v2`` (nested) -> head.

    Raises:
        FileNotFoundError: a weights path that does not exist.

    Example:
        >>> m = build_holistic_inception_resnet_v2(num_classes=16)  # doctest: +SKIP
        >>> m.count_params()  # doctest: +SKIP
        56974064
    """
    shape = _check_shape(input_shape, num_classes)
    base_weights: Any = weights
    local_keras = False
    if weights is not None and weights != "imagenet":
        p = Path(str(weights))
        if not p.is_file():
            raise FileNotFoundError(f"weights file not found: {p} (expected None, 'imagenet', a "
                                    "weights file of the InceptionResNetV2 base or a .keras "
                                    "model file)")
        local_keras = p.name.endswith(".keras")
        base_weights = None if local_keras else str(p)
    base = keras.applications.InceptionResNetV2(include_top=False, weights=base_weights,
                                                input_shape=shape, name="inception_resnet_v2")
    inputs = keras.Input(shape, name="image")
    outputs = apply_rvl_head(base(inputs), num_classes, units=head_units, dropout=dropout)
    model = keras.Model(inputs, outputs, name=name)
    if local_keras:
        from kerasdoc.models.weights import load_keras_model, transfer_weights

        transfer_weights(load_keras_model(weights, compile=False), model)
    return model


@register_model("rvl_small_resnet", paper="rvl-cdip", input_shape=(None, None, 3),
                test_kwargs={"input_shape": (48, 40, 3), "num_classes": 4,
                             "head_units": (16, 8)})
def build_rvl_small_resnet(
    input_shape: Sequence[int | None] = (None, None, 3),
    num_classes: int = NUM_CLASSES,
    *,
    widths: Sequence[int] = (16, 32, 64, 128),
    blocks: Sequence[int] = (1, 1, 1, 1),
    head_units: Sequence[int] = (256, 128),
    dropout: float = HEAD_DROPOUT,
    name: str = "rvl_small_resnet",
) -> keras.Model:
    """A small ResNet with the holistic model's head: the CPU-scale stand-in for
    InceptionResNetV2.

    Paper: Das et al. (2018) / the blog use InceptionResNetV2 (54M parameters); this body
    (basic blocks, widths 16-128, about 0.5M parameters) lets the whole recipe (holistic 128 ->
    256 -> 4 regions -> stacking) run on two CPU cores. Same head, variable input, so progressive
    resizing and the region copies work unchanged.

    Args:
        input_shape: (height, width, 3). Defaults to (None, None, 3).
        num_classes: int. Defaults to 16.
        widths: per-stage widths. Defaults to (16, 32, 64, 128).
        blocks: basic blocks per stage. Defaults to (1, 1, 1, 1).
        head_units: (int, int). Dense widths of the head. Defaults to (256, 128).
        dropout: float. Head dropout. Defaults to 0.5.
        name: str. Model name.

    Returns:
        A functional ``keras.Model``.

    Example:
        >>> build_rvl_small_resnet(num_classes=16).count_params() < 1_000_000
        True
    """
    shape = _check_shape(input_shape, num_classes)
    inputs = keras.Input(shape, name="image")
    x = apply_resnet_stem(inputs, int(widths[0]), 7, name="stem")
    x = apply_resnet_stages(x, blocks, widths, name="stage")
    outputs = apply_rvl_head(x, num_classes, units=head_units, dropout=dropout)
    return keras.Model(inputs, outputs, name=name)


@register_model("stacking_mlp", paper="rvl-cdip", input_shape=(len(MEMBERS), NUM_CLASSES, 1),
                color_mode="grayscale", head=("head_", "logits", "predictions"),
                test_kwargs={"input_shape": (3, 4, 1), "num_classes": 4, "units": 32,
                             "dropout": 0.1})
def build_stacking_mlp(
    input_shape: Sequence[int] = (len(MEMBERS), NUM_CLASSES, 1),
    num_classes: int = NUM_CLASSES,
    *,
    units: int = 256,
    dropout: float = 0.5,
    name: str = "stacking_mlp",
) -> keras.Model:
    """The 2-layer MLP meta-classifier on the concatenated softmax outputs of the members.

    Paper: Das et al. (2018) / the blog: "a simple 2-layered MLP Meta Classifier with the softmax
    output generated from the validation data" of the 5 models (5 x 16 = 80 inputs): one hidden
    ReLU layer with dropout, then the softmax layer.

    Args:
        input_shape: (members, classes, 1): the members' probability rows as one array
            (``member_probabilities[..., None]``; flattened to ``members * classes`` inputs).
            Defaults to (5, 16, 1).
        num_classes: int. Defaults to 16.
        units: int. Hidden width. Defaults to 256.
        dropout: float. Dropout after the hidden layer. Defaults to 0.5.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` (``member_probabilities`` -> class probabilities).

    Example:
        >>> import numpy as np
        >>> m = build_stacking_mlp()
        >>> m(np.full((2, 5, 16, 1), 1 / 16, "float32")).shape
        TensorShape([2, 16])
    """
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3 or shape[-1] != 1 or min(shape) < 1:
        raise ValueError(f"input_shape must be (members, classes, 1). "
                         f"Received: input_shape={input_shape}")
    inputs = keras.Input(shape, name="member_probabilities")
    x = layers.Flatten(name="head_flatten")(inputs)
    x = layers.Dense(int(units), activation="relu", name="head_dense1")(x)
    x = layers.Dropout(dropout, name="head_dropout1")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def region_model(source: keras.Model, region: str, *, name: str | None = None,
                 input_size: int | tuple[int, int] | None = None) -> keras.Model:
    """A region model: the architecture of ``source`` with its weights (the blog's L2 transfer).

    Paper: Das et al. (2018): the region models (top, bottom, left, right) are initialised from
    the holistic model trained on whole pages ("intra-domain transfer").

    Args:
        source: keras.Model. The trained (256-px) holistic model.
        region: ``"top"``, ``"bottom"``, ``"left"``, ``"right"`` (or any label for the name).
        name: str or None. Defaults to ``f"{source.name}_{region}"``.
        input_size: None (keep the input shape) or a new size for a fixed-size model
            (``kerasdoc.models.weights.with_input_size``).

    Returns:
        A new, uncompiled ``keras.Model`` whose every weight equals ``source``'s; the
        ``transfer_weights`` report is in ``model.transfer_report``.

    Example:
        >>> from kerasdoc.models import get_model
        >>> h = get_model("rvl_small_resnet", num_classes=3, head_units=(4, 4))
        >>> r = region_model(h, "left")
        >>> len(r.transfer_report["transferred"]) == len([la for la in h.layers if la.weights])
        True
    """
    from kerasdoc.models.weights import transfer_weights, with_input_size

    base = source if input_size is None else with_input_size(source, input_size)
    config = base.get_config()
    config["name"] = name or f"{source.name}_{region}"
    model = base.__class__.from_config(config)
    report = transfer_weights(base, model, skip_mismatch=False)
    model.transfer_report = report
    return model


__all__ = ["HEAD_UNITS", "MEMBERS", "NUM_CLASSES", "REGIONS", "apply_rvl_head",
           "build_holistic_inception_resnet_v2", "build_rvl_small_resnet", "build_stacking_mlp",
           "imagenet_spec", "region_model"]

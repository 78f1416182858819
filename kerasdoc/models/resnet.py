"""ResNet-34 / ResNet-50 backbones with the fastai-style head of the Persian OCR report.

Kendal, MSc report "Deep learning for Persian OCR" (fastai / PyTorch), seeds/004. Its appendix
prints ``learn.model``: a torchvision ResNet-34 body, then the head ``AdaptiveConcatPool2d``
(global max and average pooling, concatenated), ``BatchNorm1d(1024)``, ``Dropout(0.25)``,
``Linear(1024, 512)``, ``ReLU``, ``BatchNorm1d(512)``, ``Dropout(0.5)``, ``Linear(512, n)``.

Layer names follow one convention so that ``kerasdoc.training`` can find the layer groups
(stem + stages 1-2 | stages 3-4 | head) and transfer weights by name:

- ResNet-34: ``stem_1_conv``, ``stage{1..4}_block{i}_...`` (``kerasdoc.models.blocks``);
- ResNet-50: ``keras.applications.ResNet50``'s own names (``conv1_conv``,
  ``conv{2..5}_block{i}_...``),
  so that ``weights="imagenet"`` runs Keras' real loading code;
- the head: ``head_*``, then ``logits`` (a Dense without activation) and ``predictions`` (softmax).

Example:
    >>> from kerasdoc.models import get_model
    >>> m = get_model("resnet34", input_shape=(32, 32, 3), num_classes=10)
    >>> m.output_shape
    (None, 10)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
from keras import layers

from kerasdoc.models.blocks import (
    BN_EPSILON,
    BN_MOMENTUM,
    apply_conv_bn,
    apply_resnet_stages,
    apply_resnet_stem,
)
from kerasdoc.models.registry import register_model

RESNET34_BLOCKS = (3, 4, 6, 3)
RESNET_WIDTHS = (64, 128, 256, 512)


def apply_fastai_head(x, num_classes: int, *, hidden: int = 512,
                      dropouts: tuple[float, float] = (0.25, 0.5), name: str = "head"):
    """The fastai ``create_head``: concat pooling, BN, dropout, dense + ReLU, BN, dropout, dense.

    Paper: seeds/004 (the ``learn.model`` printout of the report's appendix).

    Args:
        x: the body's output tensor (NHWC).
        num_classes: int. Number of classes.
        hidden: int. Width of the hidden dense layer. Defaults to 512.
        dropouts: (float, float). Dropout before the hidden and before the last dense layer.
            Defaults to (0.25, 0.5).
        name: str. Prefix of the head's layer names. Defaults to "head".

    Returns:
        The softmax output tensor (the layer before it, ``logits``, has no activation, which
        Grad-CAM uses).
    """
    mx = layers.GlobalMaxPooling2D(name=f"{name}_maxpool")(x)
    av = layers.GlobalAveragePooling2D(name=f"{name}_avgpool")(x)
    x = layers.Concatenate(name=f"{name}_concatpool")([mx, av])
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn1")(x)
    x = layers.Dropout(dropouts[0], name=f"{name}_dropout1")(x)
    x = layers.Dense(hidden, activation="relu", name=f"{name}_dense1")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn2")(x)
    x = layers.Dropout(dropouts[1], name=f"{name}_dropout2")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    return layers.Activation("softmax", dtype="float32", name="predictions")(x)


def _normalize(x, mean, std):
    if mean is None and std is None:
        return x
    if mean is None or std is None:
        raise ValueError(f"Pass both mean and std or neither. Received: mean={mean}, std={std}")
    channels = x.shape[-1]
    mean = [float(m) for m in (mean if isinstance(mean, Sequence) else [mean] * channels)]
    std = [float(s) for s in (std if isinstance(std, Sequence) else [std] * channels)]
    if len(mean) != channels or len(std) != channels or min(std) <= 0:
        raise ValueError(f"mean and std must have one value per channel ({channels}) and std > 0."
                         f" Received: mean={mean}, std={std}")
    return layers.Normalization(mean=mean, variance=[s * s for s in std], name="normalize")(x)


@keras.saving.register_keras_serializable(package="kerasdoc")
class ImageNetPreprocess(layers.Layer):
    """Keras' own ``keras.applications.<family>.preprocess_input`` as a layer (no Lambda).

    The inputs arrive on the image spec's scale (``rescale=1/255``: 0-1 values); the layer
    multiplies them by ``input_scale`` back to 0-255 and applies the family's
    ``preprocess_input`` (for ResNet-50 the "caffe" mode: RGB -> BGR, minus the ImageNet mean
    pixel, no division), which is what the ImageNet weights were trained on.

    Args:
        family: str. A ``keras.applications`` module with ``preprocess_input``
            (``"resnet50"``). Defaults to "resnet50".
        input_scale: float. Factor taking the inputs to 0-255. Defaults to 255.

    Example:
        >>> import numpy as np
        >>> x = np.full((1, 2, 2, 3), 0.5, "float32")
        >>> y = ImageNetPreprocess()(x)
        >>> np.allclose(y, keras.applications.resnet50.preprocess_input(x * 255))
        True
    """

    def __init__(self, family: str = "resnet50", input_scale: float = 255.0, **kwargs):
        super().__init__(**kwargs)
        module = getattr(keras.applications, family, None)
        if module is None or not hasattr(module, "preprocess_input"):
            raise ValueError(f"family must name a keras.applications module with "
                             f"preprocess_input (e.g. 'resnet50'). Received: family={family!r}")
        self.family, self.input_scale = family, float(input_scale)
        self._fn = module.preprocess_input

    def call(self, inputs):
        return self._fn(keras.ops.multiply(keras.ops.cast(inputs, "float32"),
                                           self.input_scale))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "family": self.family, "input_scale": self.input_scale}


def _check_weights(weights) -> None:
    if weights is None or weights == "imagenet":
        return
    if not Path(str(weights)).is_file():
        raise FileNotFoundError(
            f"weights file not found: {weights} (expected None, 'imagenet' or a local "
            f"'.weights.h5' / '.keras' file)")


def _load_local_weights(model: keras.Model, weights) -> keras.Model:
    """Load a local ``.weights.h5`` (same architecture) or transfer a ``.keras`` model by name."""
    path = Path(str(weights))
    if path.name.endswith(".keras"):
        from kerasdoc.models.weights import transfer_weights

        src = keras.models.load_model(path, safe_mode=True, compile=False)
        transfer_weights(src, model)
    elif path.name.endswith(".h5"):
        model.load_weights(path)
    else:
        raise ValueError(f"{path}: expected a '.weights.h5' or '.keras' file.")
    return model


def build_resnet(
    input_shape: tuple[int | None, int | None, int] = (224, 224, 3),
    num_classes: int = 18,
    *,
    blocks: Sequence[int] = RESNET34_BLOCKS,
    widths: Sequence[int] = RESNET_WIDTHS,
    block: str = "basic",
    weights: str | None = None,
    mean: Sequence[float] | float | None = None,
    std: Sequence[float] | float | None = None,
    head_hidden: int = 512,
    dropouts: tuple[float, float] = (0.25, 0.5),
    name: str = "resnet",
) -> keras.Model:
    """A torchvision-topology ResNet body (7x7 stem, max-pool, 4 stages) with the fastai head.

    Paper: seeds/004 (Kendal, Persian OCR report); body after He et al. 2016.

    Args:
        input_shape: tuple. (height, width, channels); height/width may be None (the body is
            fully convolutional). Defaults to (224, 224, 3), the report's first size.
        num_classes: int. Number of classes. Defaults to 18 (the report's data set).
        blocks: sequence of int. Blocks per stage. Defaults to ResNet-34's (3, 4, 6, 3).
        widths: sequence of int. Channels per stage. Defaults to (64, 128, 256, 512).
        block: str. "basic" or "bottleneck". Defaults to "basic".
        weights: None, or a local ``.weights.h5`` file of this architecture, or a ``.keras``
            model whose weights are transferred by layer name. ("imagenet" exists only for
            ``resnet50``, which wraps ``keras.applications``.)
        mean: float or per-channel sequence. If given with ``std``, a ``normalize`` layer
            standardises inputs inside the model (data statistics, as fastai's ``normalize()``).
        std: float or per-channel sequence. See ``mean``.
        head_hidden: int. Width of the head's hidden layer. Defaults to 512.
        dropouts: (float, float). The head's two dropout rates. Defaults to (0.25, 0.5).
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> m = build_resnet((32, 32, 3), 4, blocks=(1, 1, 1, 1), widths=(8, 8, 16, 16))
        >>> m.get_layer("logits").units
        4
    """
    if weights == "imagenet":
        raise ValueError(
            "Keras distributes no ImageNet weights for this ResNet (ResNet-34 is not in "
            "keras.applications). Expected weights=None, a local weights file, or use resnet50. "
            f"Received: weights={weights!r}")
    _check_weights(weights)
    inputs = keras.Input(input_shape, name="image")
    x = _normalize(inputs, mean, std)
    x = apply_resnet_stem(x, widths[0], 7, name="stem")
    x = apply_resnet_stages(x, blocks, widths, block=block, name="stage")
    outputs = apply_fastai_head(x, num_classes, hidden=head_hidden, dropouts=dropouts)
    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        _load_local_weights(model, weights)
    return model


@register_model("resnet34", paper="persian-ocr", input_shape=(224, 224, 3),
                split_before=("stage3_",),
                test_kwargs={"input_shape": (32, 32, 3), "num_classes": 5}, large=True)
def build_resnet34(
    input_shape: tuple[int | None, int | None, int] = (224, 224, 3),
    num_classes: int = 18,
    *,
    weights: str | None = None,
    mean: Sequence[float] | float | None = None,
    std: Sequence[float] | float | None = None,
    name: str = "resnet34",
) -> keras.Model:
    """ResNet-34 (torchvision topology) with the Persian OCR report's fastai head.

    Paper: seeds/004 (Kendal), ``create_cnn(data, models.resnet34)``; 21.8 M parameters at
    19 classes, as the report's summary prints (21,822,291).

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (224, 224, 3).
        num_classes: int. Number of classes. Defaults to 18.
        weights: None, a local ``.weights.h5`` file, or a ``.keras`` model to transfer from by
            layer name (see :func:`kerasdoc.training.transfer_weights`).
        mean: per-channel input mean for the ``normalize`` layer (optional).
        std: per-channel input std for the ``normalize`` layer (optional).
        name: str. Model name.

    Returns:
        A functional ``keras.Model``.

    Example:
        >>> build_resnet34(num_classes=19).count_params() > 21_800_000
        True
    """
    return build_resnet(input_shape, num_classes, blocks=RESNET34_BLOCKS, weights=weights,
                        mean=mean, std=std, name=name)


@register_model("resnet50", paper="persian-ocr", input_shape=(224, 224, 3),
                split_before=("conv4_",),
                test_kwargs={"input_shape": (32, 32, 3), "num_classes": 5}, large=True)
def build_resnet50(
    input_shape: tuple[int | None, int | None, int] = (224, 224, 3),
    num_classes: int = 18,
    *,
    weights: str | None = None,
    mean: Sequence[float] | float | None = None,
    std: Sequence[float] | float | None = None,
    name: str = "resnet50",
) -> keras.Model:
    """ResNet-50 (``keras.applications.ResNet50`` body) with the report's fastai head.

    Paper: seeds/004 (Kendal), the ResNet-50 run of the report.

    Args:
        input_shape: tuple. (height, width, channels); at least 32x32. Defaults to (224, 224, 3).
        num_classes: int. Number of classes. Defaults to 18.
        weights: None, "imagenet" (Keras' own download and loading code; needs a network and
            3 channels), a local ``.weights.h5`` file, or a ``.keras`` model to transfer from.
            With "imagenet" the model starts with an :class:`ImageNetPreprocess` layer applying
            ``keras.applications.resnet50.preprocess_input`` to inputs on the 0-1 scale (an
            image spec with ``rescale=1/255`` and no mean / std): the input preprocessing the
            weights expect lives in the model, so every pipeline that feeds it (training flows,
            ``export``, ``predict``) gets it without knowing about it.
        mean: per-channel input mean for the ``normalize`` layer (optional; not with
            "imagenet").
        std: per-channel input std for the ``normalize`` layer (optional).
        name: str. Model name.

    Returns:
        A functional ``keras.Model``.

    Example:
        >>> build_resnet50((64, 64, 3), 10).get_layer("conv5_block3_out").output.shape[-1]
        2048
    """
    _check_weights(weights)
    inputs = keras.Input(input_shape, name="image")
    if weights == "imagenet":
        if mean is not None or std is not None:
            raise ValueError("weights='imagenet' applies Keras' own resnet50.preprocess_input "
                             "inside the model; data statistics (mean / std) would be applied "
                             f"twice. Pass neither. Received: mean={mean}, std={std}")
        if input_shape[-1] != 3:
            raise ValueError("weights='imagenet' needs 3-channel (RGB) input. Received: "
                             f"input_shape={tuple(input_shape)}")
        x = ImageNetPreprocess("resnet50", 255.0, name="imagenet_preprocess")(inputs)
    else:
        x = _normalize(inputs, mean, std)
    body = keras.applications.ResNet50(
        include_top=False, weights="imagenet" if weights == "imagenet" else None,
        input_tensor=x, input_shape=tuple(input_shape))
    outputs = apply_fastai_head(body.output, num_classes)
    model = keras.Model(inputs, outputs, name=name)
    if weights not in (None, "imagenet"):
        _load_local_weights(model, weights)
    return model


@register_model("resnet_quick", paper="persian-ocr", input_shape=(32, 32, 3),
                split_before=("stage3_",),
                test_kwargs={"input_shape": (24, 24, 3), "num_classes": 4})
def build_resnet_quick(
    input_shape: tuple[int | None, int | None, int] = (32, 32, 3),
    num_classes: int = 10,
    *,
    weights: str | None = None,
    mean: Sequence[float] | float | None = None,
    std: Sequence[float] | float | None = None,
    name: str = "resnet_quick",
) -> keras.Model:
    """A reduced ResNet (one basic block per stage, widths 8-8-16-16) with the fastai head.

    The same topology and layer names as ResNet-34, so every recipe of the Persian OCR workflow
    (Kendal 2019: freeze, LR finder, one-cycle, discriminative rates, resizing) runs on it in
    seconds; used by ``--quick`` runs and tests.

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (32, 32, 3).
        num_classes: int. Number of classes. Defaults to 10.
        weights: None, a local ``.weights.h5`` file, or a ``.keras`` model to transfer from.
        mean: per-channel input mean for the ``normalize`` layer (optional).
        std: per-channel input std for the ``normalize`` layer (optional).
        name: str. Model name.

    Returns:
        A functional ``keras.Model``.

    Example:
        >>> build_resnet_quick(num_classes=3).output_shape
        (None, 3)
    """
    return build_resnet(input_shape, num_classes, blocks=(1, 1, 1, 1), widths=(8, 8, 16, 16),
                        head_hidden=64, weights=weights, mean=mean, std=std, name=name)


def _apply_small_stem(x, filters: int, *, name: str = "stem"):
    """A 3x3, stride-1 stem without max-pooling (CIFAR-style): small digits keep their detail."""
    return apply_conv_bn(x, filters, 3, 1, name=f"{name}_1")


@register_model("resnet_small", paper="persian-ocr", input_shape=(28, 28, 1),
                split_before=("stage2_",),
                test_kwargs={"input_shape": (16, 16, 1), "num_classes": 4, "widths": (8, 16),
                             "blocks": (1, 1)})
def build_resnet_small(
    input_shape: tuple[int | None, int | None, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    blocks: Sequence[int] = (1, 1, 1),
    widths: Sequence[int] = (32, 64, 128),
    head_hidden: int = 128,
    weights: str | None = None,
    mean: Sequence[float] | float | None = None,
    std: Sequence[float] | float | None = None,
    name: str = "resnet_small",
) -> keras.Model:
    """A small ResNet for 28-32 px characters on CPU: 3x3 stem, three stages, the fastai head.

    The Persian OCR workflow's CPU recipe (Kendal 2019, rebuilt for two CPU cores): a 3x3
    stride-1 stem without max-pooling (a 28 px digit is not shrunk to 7 px before the first
    block, as the 7x7 / max-pool ImageNet stem would), basic blocks in three stages (stride 2
    from stage 2 on) and the report's concat-pool head. Layer names follow ResNet-34's
    (``stem_1_conv``, ``stage{s}_block{b}_...``, ``head_*``), so freeze / unfreeze, the layer
    groups (stem + stage 1 | stages 2-3 | head), transfer by name and progressive resizing work
    unchanged.

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (28, 28, 1).
        num_classes: int. Number of classes. Defaults to 10.
        blocks: sequence of int. Basic blocks per stage. Defaults to (1, 1, 1).
        widths: sequence of int. Channels per stage. Defaults to (32, 64, 128).
        head_hidden: int. Width of the head's hidden layer. Defaults to 128.
        weights: None, a local ``.weights.h5`` file, or a ``.keras`` model to transfer from.
        mean: per-channel input mean for the ``normalize`` layer (optional).
        std: per-channel input std for the ``normalize`` layer (optional).
        name: str. Model name.

    Returns:
        A functional ``keras.Model``.

    Example:
        >>> m = build_resnet_small((28, 28, 1), 10)
        >>> m.get_layer("stage3_block1_2_conv").output.shape[1:], m.count_params() < 400_000
        ((7, 7, 128), True)
    """
    if len(blocks) != len(widths):
        raise ValueError(f"blocks and widths must name the same number of stages. Received: "
                         f"blocks={tuple(blocks)}, widths={tuple(widths)}")
    _check_weights(weights)
    inputs = keras.Input(input_shape, name="image")
    x = _normalize(inputs, mean, std)
    x = _apply_small_stem(x, widths[0])
    x = apply_resnet_stages(x, blocks, widths, block="basic", name="stage")
    outputs = apply_fastai_head(x, num_classes, hidden=head_hidden)
    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        _load_local_weights(model, weights)
    return model

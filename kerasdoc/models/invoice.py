"""The invoice paper's models: ``invoice_resnet`` and the Table 1 baselines.

Wang et al., "Lightweight Deep Learning Model for Invoice Image Classification" (seeds/000).
Table 1 compares five models on a three-class invoice set; this module builds all five and
reproduces the paper's parameter counts where the paper's configuration can be identified.

Parameter counts (3 classes; "ours" is the builder's default, 64x64x1 grayscale input):

| model | paper | ours (trainable) | ours (Keras ``count_params``) | why they differ |
|---|---|---|---|---|
| alexnet | 24,715,071 | 24,715,971 | 24,715,971 | paper digit typo (9 -> 0, -900) |
| zfnet | 24,718,467 | 24,709,059 | 24,709,059 | paper used 3-channel input: exact then |
| vgg16 | 3,597,795 | 3,597,669 | 3,597,669 | width not given; quarter widths, FC 1398 |
| resnet18 | 11,174,787 | 11,171,779 | 11,181,379 | standard layout; exact with paper_layout |
| invoice_resnet | 701,283 | 701,283 | 703,907 | exact (trainable count, see below) |

How each figure was traced (``benchmarks/invoice_param_search.py`` does the ResNet search):

- The paper's counts are *trainable* counts (BatchNormalization counted as 2 per channel, as
  PyTorch counts and as Keras' trainable count does; Keras' ``count_params()`` adds the moving
  mean and variance). Its ResNet-18 figure, 11,174,787, is reproduced exactly, and only, by a
  ResNet-18 on 1-channel input whose convolutions carry a bias (Keras' ``Conv2D`` default),
  with BN after each convolution and *no* BN on the 1x1 projection shortcut, counted as trainable
  parameters: ``build_resnet18(paper_layout=True)``. That fits the paper's own list of changes,
  which include "BN is added to 'shortcut'".
- ``invoice_resnet`` keeps that convention (biased convolutions, trainable count) and adds BN on
  every shortcut, identity ones included. The paper gives no configuration, so the search
  enumerated stem filters (8..64) and kernel (3/5/7), four non-decreasing stage widths (8..256,
  step 8) and per-stage kernel sizes (3/5/7): 13 configurations give exactly 701,283. They are
  ranked by how little they change ResNet-18 (kernel sizes changed, then distance from doubling
  widths); the first is chosen: stem 16 filters 7x7, widths 32-32-64-88, kernel sizes 3-3-5-3
  (one changed kernel size, as the paper says "the kernel size and number of hidden neurons are
  modified"). Its trainable count is exactly 701,283; Keras' count is 703,907 (+2 x 1,312 BN
  statistics). Other conventions give other exact configurations (``--all-conventions``):
  with Keras' count and bias-free convolutions, stem 8 7x7 and widths 32-48-80-104 with all
  kernels 3x3 also reach 701,283, but it changes no kernel size (the paper says it did) and
  counts in a convention the paper's ResNet-18 figure rules out.
- AlexNet and ZFNet: conv 96-256-384-384-256 ending in a 2x2x256 map (64x64 input, ``same``
  padding), then FC 4096-4096-3. ZFNet (7x7 stride-2 first convolution, stride-2 second) gives
  the paper's 24,718,467 exactly on 3-channel input (``input_shape=(64, 64, 3)``); AlexNet (11x11
  stride-4 first convolution) on grayscale input gives 24,715,971, 900 more than printed: a
  one-digit typo (24,715,971 -> 24,715,071) is the only single change that explains it.
- VGG-16: the full-width network has 14.7M convolution weights alone, so the paper's 3,597,795
  implies reduced widths, which it does not give (a small grid already finds hundreds of exact
  but arbitrary solutions). Ours is VGG-16's layout at a quarter of the widths (16-32-64-128-128,
  13 convolutions) with two FC layers whose width, 1398, is the integer closest to the paper's
  count (126 fewer, 0.004%): fitted to the figure, not read from the paper.
- ResNet-18's default is the standard (torchvision) layout from ``kerasdoc.models.blocks``; with
  ``paper_layout=True`` it is the variant above (trainable count exactly 11,174,787).

Example:
    >>> from kerasdoc.models import get_model
    >>> from kerasdoc.models.weights import trainable_param_count
    >>> trainable_param_count(get_model("invoice_resnet"))
    701283
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from kerasdoc.models.blocks import (
    apply_resnet_stages,
    apply_resnet_stem,
)
from kerasdoc.models.registry import register_model

PAPER_PARAMS = {
    "alexnet": 24_715_071,
    "zfnet": 24_718_467,
    "vgg16": 3_597_795,
    "resnet18": 11_174_787,
    "invoice_resnet": 701_283,
}
"""Table 1's "Number of parameters" row, by registry name."""

PAPER_ACCURACY = {
    "alexnet": 85.71,
    "zfnet": 90.84,
    "vgg16": 33.33,
    "resnet18": 88.09,
    "invoice_resnet": 97.61,
}
"""Table 1's test accuracy (%) on the paper's 42 test images, by registry name."""

DEFAULT_INPUT = (64, 64, 1)
INVOICE_CONFIG = {
    "stem_filters": 16,
    "stem_kernel": 7,
    "widths": (32, 32, 64, 88),
    "kernel_sizes": (3, 3, 5, 3),
}
"""The searched invoice_resnet configuration (``benchmarks/invoice_param_search.py``)."""


def _check(input_shape: Sequence[int], num_classes: int) -> tuple[int, int, int]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError("input_shape must be (height, width, channels) of positive ints. "
                         f"Received: input_shape={input_shape!r}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2. Received: num_classes={num_classes!r}")
    return shape  # type: ignore[return-value]


def build_resnet_variant(
    input_shape: Sequence[int] = DEFAULT_INPUT,
    num_classes: int = 3,
    *,
    stem_filters: int = 64,
    stem_kernel: int = 7,
    widths: Sequence[int] = (64, 128, 256, 512),
    kernel_sizes: Sequence[int] = (3, 3, 3, 3),
    blocks: Sequence[int] = (2, 2, 2, 2),
    conv_bias: bool = False,
    bn_on_identity: bool = False,
    bn_on_projection: bool = True,
    name: str = "resnet_variant",
) -> keras.Model:
    """A basic-block ResNet with the invoice paper's knobs (widths, kernels, bias, shortcut BN).

    Paper: seeds/000. Stem (conv, BN, ReLU, 3x3 max-pool), stages of basic blocks (every stage
    after the first starts with stride 2), global average pooling, softmax. Its parameter count is
    :func:`benchmarks.invoice_param_search.resnet_param_count` of the same arguments.

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (64, 64, 1).
        num_classes: int. Output classes. Defaults to 3.
        stem_filters: int. Filters of the stem convolution. Defaults to 64.
        stem_kernel: int. Kernel size of the stem convolution. Defaults to 7.
        widths: sequence of int. Channels of each stage. Defaults to ResNet-18's.
        kernel_sizes: sequence of int. Kernel size of each stage's convolutions.
        blocks: sequence of int. Basic blocks per stage. Defaults to (2, 2, 2, 2).
        conv_bias: bool. Convolutions with a bias (before their BN). Defaults to False.
        bn_on_identity: bool. BN on identity shortcuts. Defaults to False.
        bn_on_projection: bool. BN after projection shortcuts. Defaults to True.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output of ``num_classes``.

    Example:
        >>> m = build_resnet_variant(widths=(8, 8, 8, 8), stem_filters=8, num_classes=4)
        >>> m.output_shape
        (None, 4)
    """
    shape = _check(input_shape, num_classes)
    n = len(widths)
    if not (len(kernel_sizes) == len(blocks) == n and n > 0):
        raise ValueError("widths, kernel_sizes and blocks must have the same non-zero length. "
                         f"Received: widths={widths!r}, kernel_sizes={kernel_sizes!r}, "
                         f"blocks={blocks!r}")
    inputs = keras.Input(shape, name="image")
    x = apply_resnet_stem(inputs, stem_filters, stem_kernel, use_bias=conv_bias, name="stem")
    x = apply_resnet_stages(x, blocks, widths, kernel_size=kernel_sizes, use_bias=conv_bias,
                            bn_on_identity=bn_on_identity, bn_on_projection=bn_on_projection,
                            name="stage")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model("invoice_resnet", paper="invoice", input_shape=DEFAULT_INPUT,
                test_kwargs={"input_shape": (32, 24, 1), "num_classes": 4})
def build_invoice_resnet(
    input_shape: Sequence[int] = DEFAULT_INPUT,
    num_classes: int = 3,
    *,
    name: str = "invoice_resnet",
) -> keras.Model:
    """The paper's lightweight ResNet-18 variant (701,283 trainable parameters for 3 classes).

    Paper: seeds/000 (Wang et al.), "Ours" in Table 1. Grayscale input; ResNet-18 topology
    (stem, 4 stages x 2 basic blocks, global average pooling, softmax) with BN after every
    convolution and on every shortcut (identity shortcuts included), biased convolutions as in the
    paper's ResNet-18, and the searched widths and kernel sizes: stem 16 filters 7x7, stage widths
    32-32-64-88, stage kernel sizes 3-3-5-3. See the module docstring for the search; the paper
    gives only the count, so the configuration is one of 13 exact ones, not the paper's own.

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (64, 64, 1).
        num_classes: int. Output classes. Defaults to 3.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output of ``num_classes``.

    Example:
        >>> from kerasdoc.models.weights import trainable_param_count
        >>> m = build_invoice_resnet()
        >>> trainable_param_count(m), m.count_params()
        (701283, 703907)
    """
    return build_resnet_variant(input_shape, num_classes, **INVOICE_CONFIG, conv_bias=True,
                                bn_on_identity=True, bn_on_projection=True, name=name)


@register_model("resnet18", paper="invoice", input_shape=DEFAULT_INPUT,
                test_kwargs={"input_shape": (24, 32, 3), "num_classes": 4})
def build_resnet18(
    input_shape: Sequence[int] = DEFAULT_INPUT,
    num_classes: int = 3,
    *,
    paper_layout: bool = False,
    name: str = "resnet18",
) -> keras.Model:
    """ResNet-18 (He et al. 2016), the Table 1 baseline of the invoice paper.

    Paper: seeds/000, "ResNet-18" in Table 1 (11,174,787 parameters). The default is the standard
    torchvision layout built from ``kerasdoc.models.blocks`` (bias-free convolutions, BN on the
    projection shortcut): 11,181,379 Keras parameters (11,171,779 trainable) on grayscale input
    for 3 classes, 11,187,651 on 3 channels. ``paper_layout=True`` builds the variant the paper's
    figure implies: biased convolutions and no BN on the projection shortcut; its trainable count
    is exactly 11,174,787.

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (64, 64, 1).
        num_classes: int. Output classes. Defaults to 3.
        paper_layout: bool. Build the paper's variant. Defaults to False.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output of ``num_classes``.

    Example:
        >>> from kerasdoc.models.weights import trainable_param_count
        >>> build_resnet18().count_params()
        11181379
        >>> trainable_param_count(build_resnet18(paper_layout=True))
        11174787
    """
    if paper_layout:
        return build_resnet_variant(input_shape, num_classes, conv_bias=True,
                                    bn_on_projection=False, name=name)
    shape = _check(input_shape, num_classes)
    inputs = keras.Input(shape, name="image")
    x = apply_resnet_stem(inputs, 64, 7, name="stem")
    x = apply_resnet_stages(x, (2, 2, 2, 2), (64, 128, 256, 512), name="stage")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def _apply_fc_head(x, units: int, num_classes: int, dropout: float):
    x = layers.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = layers.Dense(units, activation="relu", name=f"fc{i}")(x)
        x = layers.Dropout(dropout, name=f"fc{i}_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32",
                        name="predictions")(x)


def _build_alexnet_like(shape, num_classes: int, *, first_kernel: int, first_stride: int,
                        second_stride: int, fc_units: int, dropout: float, name: str):
    inputs = keras.Input(shape, name="image")
    x = layers.Conv2D(96, first_kernel, strides=first_stride, padding="same", activation="relu",
                      kernel_initializer="he_normal", name="conv1")(inputs)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = layers.Conv2D(256, 5, strides=second_stride, padding="same", activation="relu",
                      kernel_initializer="he_normal", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    for i, f in ((3, 384), (4, 384), (5, 256)):
        x = layers.Conv2D(f, 3, padding="same", activation="relu",
                          kernel_initializer="he_normal", name=f"conv{i}")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool5")(x)
    outputs = _apply_fc_head(x, fc_units, num_classes, dropout)
    return keras.Model(inputs, outputs, name=name)


@register_model("alexnet", paper="invoice", input_shape=DEFAULT_INPUT,
                test_kwargs={"input_shape": (32, 32, 1), "num_classes": 4, "fc_units": 64})
def build_alexnet(
    input_shape: Sequence[int] = DEFAULT_INPUT,
    num_classes: int = 3,
    *,
    fc_units: int = 4096,
    dropout: float = 0.5,
    name: str = "alexnet",
) -> keras.Model:
    """AlexNet (Krizhevsky et al. 2012) as the invoice paper's Table 1 baseline.

    Paper: seeds/000, "AlexNet" (24,715,071 parameters). Conv 96 11x11/4, 3x3/2 max-pool, conv
    256 5x5, max-pool, conv 384-384-256 3x3, max-pool (``same`` padding: 64x64 input ends in
    2x2x256), FC 4096-4096 with dropout, softmax. No local response normalisation (it has no
    parameters); He-normal initialisation of the convolutions (as torchvision's). 24,715,971
    parameters on grayscale input for 3 classes: the paper's figure with
    one digit wrong (see the module docstring).

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (64, 64, 1).
        num_classes: int. Output classes. Defaults to 3.
        fc_units: int. Width of both FC layers. Defaults to 4096.
        dropout: float. Dropout after each FC layer. Defaults to 0.5.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output of ``num_classes``.

    Example:
        >>> build_alexnet().count_params()
        24715971
    """
    shape = _check(input_shape, num_classes)
    return _build_alexnet_like(shape, num_classes, first_kernel=11, first_stride=4,
                               second_stride=1, fc_units=fc_units, dropout=dropout, name=name)


@register_model("zfnet", paper="invoice", input_shape=DEFAULT_INPUT,
                test_kwargs={"input_shape": (32, 32, 3), "num_classes": 4, "fc_units": 64})
def build_zfnet(
    input_shape: Sequence[int] = DEFAULT_INPUT,
    num_classes: int = 3,
    *,
    fc_units: int = 4096,
    dropout: float = 0.5,
    name: str = "zfnet",
) -> keras.Model:
    """ZFNet (Zeiler & Fergus 2014) as the invoice paper's Table 1 baseline.

    Paper: seeds/000, "ZFNet" (24,718,467 parameters). AlexNet with a 7x7 stride-2 first
    convolution and a stride-2 second one: conv 96-256-384-384-256, 2x2x256 after the last pool
    on 64x64 input, FC 4096-4096, softmax. On 3-channel input (``input_shape=(64, 64, 3)``) the
    count is the paper's exactly; on the grayscale default it is 24,709,059 (9,408 fewer weights
    in the first convolution).

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (64, 64, 1).
        num_classes: int. Output classes. Defaults to 3.
        fc_units: int. Width of both FC layers. Defaults to 4096.
        dropout: float. Dropout after each FC layer. Defaults to 0.5.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output of ``num_classes``.

    Example:
        >>> build_zfnet(input_shape=(64, 64, 3)).count_params()
        24718467
    """
    shape = _check(input_shape, num_classes)
    return _build_alexnet_like(shape, num_classes, first_kernel=7, first_stride=2,
                               second_stride=2, fc_units=fc_units, dropout=dropout, name=name)


@register_model("vgg16", paper="invoice", input_shape=DEFAULT_INPUT,
                test_kwargs={"input_shape": (32, 32, 1), "num_classes": 4, "fc_units": 32,
                             "dropout": 0.0})
def build_vgg16(
    input_shape: Sequence[int] = DEFAULT_INPUT,
    num_classes: int = 3,
    *,
    widths: Sequence[int] = (16, 32, 64, 128, 128),
    fc_units: int = 1398,
    dropout: float = 0.5,
    name: str = "vgg16",
) -> keras.Model:
    """Width-reduced VGG-16 (Simonyan & Zisserman 2015) as the invoice paper's baseline.

    Paper: seeds/000, "VGG-16" (3,597,795 parameters). VGG-16's layout (2-2-3-3-3 3x3
    convolutions, a 2x2 max-pool after each group, two FC layers with dropout, softmax) at a
    quarter of its widths; ``fc_units=1398`` is fitted so that the count, 3,597,669 for 64x64x1
    and 3 classes, is the closest to the paper's (126 fewer). The paper does not give its widths.

    Args:
        input_shape: tuple. (height, width, channels); at least 32x32. Defaults to (64, 64, 1).
        num_classes: int. Output classes. Defaults to 3.
        widths: sequence of 5 ints. Filters of the five convolution groups.
        fc_units: int. Width of both FC layers. Defaults to 1398.
        dropout: float. Dropout after each FC layer. Defaults to 0.5.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output of ``num_classes``.

    Example:
        >>> build_vgg16().count_params()
        3597669
    """
    shape = _check(input_shape, num_classes)
    if len(widths) != 5:
        raise ValueError(f"widths must have 5 entries (one per VGG group). Received: {widths!r}")
    if min(shape[:2]) < 32:
        raise ValueError(f"vgg16 halves the image 5 times; input_shape must be at least 32x32. "
                         f"Received: input_shape={input_shape!r}")
    inputs = keras.Input(shape, name="image")
    x = inputs
    for g, (n_convs, w) in enumerate(zip((2, 2, 3, 3, 3), widths), start=1):
        for c in range(1, n_convs + 1):
            x = layers.Conv2D(w, 3, padding="same", activation="relu",
                              kernel_initializer="he_normal", name=f"block{g}_conv{c}")(x)
        x = layers.MaxPooling2D(2, name=f"block{g}_pool")(x)
    outputs = _apply_fc_head(x, fc_units, num_classes, dropout)
    return keras.Model(inputs, outputs, name=name)

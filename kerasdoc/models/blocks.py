"""Shared building blocks for the ResNet-family models (invoice ResNet, ResNet-18/34/50).

Blocks are plain functions on Keras tensors, in the keras-hub style: every layer gets an explicit
name derived from the block's ``name``, so that weights can be transferred between models by layer
name (``kerasdoc.training.transfer_weights``).

Example:
    >>> import keras
    >>> from kerasdoc.models.blocks import apply_basic_block
    >>> x = keras.Input((32, 32, 16))
    >>> y = apply_basic_block(x, 32, stride=2, name="b1")
    >>> tuple(y.shape)
    (None, 16, 16, 32)
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import layers

BN_EPSILON = 1e-5  # torchvision's BatchNorm2d default, so transferred statistics mean the same
BN_MOMENTUM = 0.9  # Keras momentum = 1 - torch momentum (0.1)


def apply_conv_bn(
    x,
    filters: int,
    kernel_size: int | tuple[int, int] = 3,
    strides: int = 1,
    *,
    activation: str | None = "relu",
    use_bias: bool = False,
    name: str,
):
    """Conv2D (``same`` padding, no bias) -> BatchNormalization -> optional activation."""
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", use_bias=use_bias,
        kernel_initializer="he_normal", name=f"{name}_conv",
    )(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    if activation:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def apply_basic_block(
    x,
    filters: int,
    stride: int = 1,
    kernel_size: int = 3,
    *,
    bn_on_identity: bool = False,
    bn_on_projection: bool = True,
    use_bias: bool = False,
    name: str,
):
    """ResNet basic block (two convolutions) with a projection shortcut where shapes change.

    Args:
        x: input tensor (NHWC).
        filters: int. Output channels.
        stride: int. Stride of the first convolution and of the projection shortcut.
        kernel_size: int. Kernel size of both convolutions. Defaults to 3.
        bn_on_identity: bool. Also put a BatchNormalization on an identity shortcut (the invoice
            paper's "BN on the shortcut"). Defaults to False.
        bn_on_projection: bool. BatchNormalization after the 1x1 projection conv (torchvision's
            layout). Defaults to True.
        use_bias: bool. Biased convolutions (the invoice paper's counts need them).
            Defaults to False.
        name: str. Prefix of every layer name.

    Returns:
        The block's output tensor.
    """
    in_channels = x.shape[-1]
    shortcut = x
    if stride != 1 or in_channels != filters:
        if bn_on_projection:
            shortcut = apply_conv_bn(x, filters, 1, stride, activation=None, use_bias=use_bias,
                                     name=f"{name}_0")
        else:
            shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=use_bias,
                                     kernel_initializer="he_normal", name=f"{name}_0_conv")(x)
    elif bn_on_identity:
        shortcut = layers.BatchNormalization(
            epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_0_bn"
        )(x)
    y = apply_conv_bn(x, filters, kernel_size, stride, use_bias=use_bias, name=f"{name}_1")
    y = apply_conv_bn(y, filters, kernel_size, 1, activation=None, use_bias=use_bias,
                      name=f"{name}_2")
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def apply_bottleneck_block(x, filters: int, stride: int = 1, *, expansion: int = 4, name: str):
    """ResNet bottleneck block (1x1, 3x3 with the stride, 1x1 x expansion), torchvision layout."""
    in_channels = x.shape[-1]
    shortcut = x
    if stride != 1 or in_channels != filters * expansion:
        shortcut = apply_conv_bn(x, filters * expansion, 1, stride, activation=None,
                                 name=f"{name}_0")
    y = apply_conv_bn(x, filters, 1, 1, name=f"{name}_1")
    y = apply_conv_bn(y, filters, 3, stride, name=f"{name}_2")
    y = apply_conv_bn(y, filters * expansion, 1, 1, activation=None, name=f"{name}_3")
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation("relu", name=f"{name}_out")(y)


def apply_resnet_stem(x, filters: int = 64, kernel_size: int = 7, *, pool: bool = True,
                      use_bias: bool = False, name: str = "stem"):
    """ResNet stem: conv (stride 2) -> BN -> ReLU -> 3x3 max-pool (stride 2)."""
    x = apply_conv_bn(x, filters, kernel_size, 2, use_bias=use_bias, name=f"{name}_1")
    if pool:
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return x


def apply_resnet_stages(
    x,
    blocks_per_stage: Sequence[int],
    widths: Sequence[int],
    *,
    block: str = "basic",
    kernel_size: int | Sequence[int] = 3,
    bn_on_identity: bool = False,
    bn_on_projection: bool = True,
    use_bias: bool = False,
    name: str = "stage",
):
    """Stack ResNet stages; every stage but the first starts with stride 2.

    ``kernel_size`` is one size for all basic blocks or one per stage; ``bn_on_identity``,
    ``bn_on_projection`` and ``use_bias`` go to :func:`apply_basic_block`. Layer names are
    ``{name}{stage}_block{i}_...`` (1-based), e.g. ``stage2_block1_1_conv``.
    """
    kernels = ([kernel_size] * len(widths) if isinstance(kernel_size, int)
               else list(kernel_size))
    if not (len(blocks_per_stage) == len(widths) == len(kernels)):
        raise ValueError("blocks_per_stage, widths and kernel_size must name the same number of "
                         f"stages. Received: blocks_per_stage={blocks_per_stage!r}, "
                         f"widths={widths!r}, kernel_size={kernel_size!r}")
    for s, (n_blocks, width, k) in enumerate(zip(blocks_per_stage, widths, kernels), start=1):
        for b in range(1, n_blocks + 1):
            stride = 2 if (b == 1 and s > 1) else 1
            block_name = f"{name}{s}_block{b}"
            if block == "basic":
                x = apply_basic_block(x, width, stride, k, bn_on_identity=bn_on_identity,
                                      bn_on_projection=bn_on_projection, use_bias=use_bias,
                                      name=block_name)
            elif block == "bottleneck":
                x = apply_bottleneck_block(x, width, stride, name=block_name)
            else:
                raise ValueError(
                    f"block must be 'basic' or 'bottleneck'. Received: block={block!r}"
                )
    return x

"""The robustness paper's models: a small ViT, a CNN, the distortion detector, the denoisers, SVHN.

Paper: Gutierrez & Sze, "How Deep Can We Go? A Case Study on Image Classification" (2023).

* ``digits_vit``: the paper classified with ``vit-base-mnist`` (a PyTorch ViT-Base/16 fine-tuned on
  MNIST, 86M parameters, 224x224x3 input reached by a 28 -> 224 bilinear, 3-channel "warp").
  Pretrained ViT weights cannot be downloaded here, so this is a small Keras ViT with the same
  parts (patch embedding, learnable class token, position embeddings, pre-norm transformer
  encoder, the class token's output as the image representation), trained from scratch;
  ``warp=True`` keeps the paper's 28 -> 224, 3-channel input path inside the model.
* ``robust_cnn``: a small batch-normalised CNN, the fast classifier used beside the ViT.
* ``distortion_detector``: clean vs distorted (the first box of the paper's Figure 1).
* ``conv_denoiser``: the paper's ConvDenoiser, a convolutional autoencoder whose decoder
  upsamples with ``Conv2DTranspose`` (noisy -> clean, MSE).
* ``svhn_cnn``: the paper's SVHN baseline, layer for layer as its listing gives it (a ``Dense(32)``
  *before* ``Flatten``, i.e. applied per pixel to the 64 feature maps).
* ``svhn_denoising_cnn``: the "denoising autoencoder CNN": a Conv2D + MaxPooling2D encoder and a
  Conv2D + UpSampling2D decoder in front of the same classifier.

Custom layers (``ClassToken``, ``AddPositionEmbedding``, ``TakeToken``, ``ClipAtInference``) are
registered
serialisable, so every model reloads with ``safe_mode=True``.

Example:
    >>> from kerasdoc.models import get_model
    >>> get_model("svhn_cnn").count_params()
    137834
    >>> get_model("conv_denoiser").output_shape
    (None, 28, 28, 1)
"""

from __future__ import annotations

import keras
from keras import layers

from kerasdoc.models.registry import register_model


@keras.saving.register_keras_serializable(package="kerasdoc")
class ClipAtInference(layers.Layer):
    """Identity while training, ``clip(x, 0, 1)`` at inference: a regression image output whose
    training gradient never vanishes and whose served values are valid pixels.

    Example:
        >>> import numpy as np
        >>> x = np.array([[-0.5, 0.5, 1.5]], "float32")
        >>> layer = ClipAtInference()
        >>> layer(x, training=True).numpy().tolist(), layer(x).numpy().tolist()
        ([[-0.5, 0.5, 1.5]], [[0.0, 0.5, 1.0]])
    """

    def call(self, x, training=None):
        if training:
            return x
        return keras.ops.clip(x, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape


# --------------------------------------------------------------------------- ViT layers
@keras.saving.register_keras_serializable(package="kerasdoc")
class ClassToken(layers.Layer):
    """Prepend one learnable token to a sequence: (batch, n, d) -> (batch, n + 1, d).

    Example:
        >>> import numpy as np
        >>> ClassToken(name="cls")(np.zeros((2, 4, 8), "float32")).shape
        TensorShape([2, 5, 8])
    """

    def build(self, input_shape):
        self.token = self.add_weight(shape=(1, 1, int(input_shape[-1])), initializer="zeros",
                                     name="token")
        super().build(input_shape)

    def call(self, x):
        batch = keras.ops.shape(x)[0]
        token = keras.ops.cast(keras.ops.broadcast_to(self.token, (batch, 1, self.token.shape[-1])),
                               x.dtype)
        return keras.ops.concatenate([token, x], axis=1)

    def compute_output_shape(self, input_shape):
        n = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], n, input_shape[2])


@keras.saving.register_keras_serializable(package="kerasdoc")
class AddPositionEmbedding(layers.Layer):
    """Add a learnable position embedding to a fixed-length sequence (batch, n, d).

    Example:
        >>> import numpy as np
        >>> AddPositionEmbedding(name="pos")(np.zeros((2, 5, 8), "float32")).shape
        TensorShape([2, 5, 8])
    """

    def build(self, input_shape):
        self.position = self.add_weight(
            shape=(1, int(input_shape[1]), int(input_shape[2])),
            initializer=keras.initializers.RandomNormal(stddev=0.02), name="position")
        super().build(input_shape)

    def call(self, x):
        return x + keras.ops.cast(self.position, x.dtype)


@keras.saving.register_keras_serializable(package="kerasdoc")
class TakeToken(layers.Layer):
    """The sequence's token at ``index``: (batch, n, d) -> (batch, d).

    Example:
        >>> import numpy as np
        >>> TakeToken(name="take")(np.arange(12, dtype="float32").reshape(1, 3, 4)).numpy()
        array([[0., 1., 2., 3.]], dtype=float32)
    """

    def __init__(self, index: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, x):
        return x[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


def apply_transformer_block(x, dim: int, heads: int, mlp_dim: int, dropout: float, name: str):
    """Pre-norm transformer encoder block: LN -> MHSA -> add, LN -> MLP (GELU) -> add."""
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln1")(x)
    h = layers.MultiHeadAttention(heads, dim // heads, dropout=dropout, name=f"{name}_attn")(h, h)
    x = layers.Add(name=f"{name}_add1")([x, h])
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln2")(x)
    h = layers.Dense(mlp_dim, activation="gelu", name=f"{name}_mlp1")(h)
    h = layers.Dropout(dropout, name=f"{name}_drop")(h)
    h = layers.Dense(dim, name=f"{name}_mlp2")(h)
    return layers.Add(name=f"{name}_add2")([x, h])


@register_model("digits_vit", paper="robustness", input_shape=(28, 28, 1),
                test_kwargs={"input_shape": (16, 16, 1), "num_classes": 5, "patch_size": 4,
                             "dim": 32, "depth": 1, "heads": 2, "mlp_dim": 32})
def build_digits_vit(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    patch_size: int = 4,
    dim: int = 64,
    depth: int = 4,
    heads: int = 4,
    mlp_dim: int = 128,
    dropout: float = 0.1,
    warp: bool = False,
    warp_size: int = 224,
    name: str = "digits_vit",
) -> keras.Model:
    """A small Vision Transformer for digits (patch embedding, class token, encoder, MLP head).

    Paper: Gutierrez & Sze classify with ``vit-base-mnist`` (ViT-Base/16, Dosovitskiy et al.
    2021) after warping 28x28 digits to 224x224x3; this is the same architecture scaled to small
    digits, trained from scratch (no pretrained weights can be downloaded here).

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (28, 28, 1).
        num_classes: int. Defaults to 10.
        patch_size: int. Side of the square patches (the image side must be a multiple; with
            ``warp`` the warped side must be). Defaults to 4 (49 patches at 28x28).
        dim: int. Token width. Defaults to 64.
        depth: int. Transformer blocks. Defaults to 4.
        heads: int. Attention heads (``dim`` must be a multiple). Defaults to 4.
        mlp_dim: int. Hidden width of each block's MLP. Defaults to 128.
        dropout: float. Defaults to 0.1.
        warp: bool. The paper's warp inside the model: bilinear resize to ``warp_size`` and the
            grey channel copied 3 times (ViT-B/16 expects 224x224x3; use ``patch_size=16``).
        warp_size: int. Defaults to 224.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> m = build_digits_vit()
        >>> m.output_shape, m.count_params()
        ((None, 10), 139018)
    """
    h, w, _ = input_shape
    if dim % heads:
        raise ValueError(f"dim must be a multiple of heads. Received: dim={dim}, heads={heads}")
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if warp:
        x = layers.Resizing(warp_size, warp_size, interpolation="bilinear", name="warp_resize")(x)
        if input_shape[-1] == 1:
            x = layers.Concatenate(name="warp_rgb")([x, x, x])
        h = w = warp_size
    if h % patch_size or w % patch_size:
        raise ValueError(f"The image side ({h}x{w}) must be a multiple of patch_size. "
                         f"Received: patch_size={patch_size}")
    x = layers.Conv2D(dim, patch_size, strides=patch_size, name="patch_embed")(x)
    x = layers.Reshape(((h // patch_size) * (w // patch_size), dim), name="patches")(x)
    x = ClassToken(name="class_token")(x)
    x = AddPositionEmbedding(name="position_embedding")(x)
    x = layers.Dropout(dropout, name="embed_dropout")(x)
    for i in range(depth):
        x = apply_transformer_block(x, dim, heads, mlp_dim, dropout, name=f"block{i + 1}")
    x = layers.LayerNormalization(epsilon=1e-6, name="encoder_norm")(x)
    x = TakeToken(0, name="head_class_token")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


# --------------------------------------------------------------------------- CNNs
def apply_conv_bn(x, filters: int, name: str, kernel_size: int = 3):
    """Conv2D (no bias) -> BatchNorm (momentum 0.9) -> ReLU.

    Momentum 0.9, not Keras' 0.99: these models train for a few hundred steps on [0, 1] digits,
    whose feature variances are far below the moving variance's initial 1.0; at 0.99 the moving
    statistics have not forgotten their start after ~500 steps and inference-mode outputs
    collapse to one class.
    """
    x = layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _small_cnn(input_shape, num_classes, width, dropout, name):
    inputs = keras.Input(input_shape, name="image")
    x = apply_conv_bn(inputs, width, "block1a")
    x = apply_conv_bn(x, width, "block1b")
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = apply_conv_bn(x, 2 * width, "block2a")
    x = apply_conv_bn(x, 2 * width, "block2b")
    x = layers.MaxPooling2D(2, name="block2_pool")(x)
    x = layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = layers.Dense(4 * width, activation="relu", name="head_dense")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model("robust_cnn", paper="robustness", input_shape=(28, 28, 1),
                test_kwargs={"input_shape": (16, 16, 1), "num_classes": 4, "width": 8})
def build_robust_cnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    width: int = 16,
    dropout: float = 0.3,
    name: str = "robust_cnn",
) -> keras.Model:
    """Small batch-normalised CNN digit classifier: 2 x (2 conv-BN-ReLU, max-pool), GAP, dense.

    Paper: Gutierrez & Sze (the classifier of the pipeline); kerasdoc's fast alternative to
    ``digits_vit`` for the breakout tables.

    Args:
        input_shape: tuple. Defaults to (28, 28, 1).
        num_classes: int. Defaults to 10.
        width: int. Filters of the first block (the second has twice). Defaults to 16.
        dropout: float. Before the output layer. Defaults to 0.3.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> build_robust_cnn().count_params()
        19418
    """
    return _small_cnn(input_shape, num_classes, width, dropout, name)


@register_model("distortion_detector", paper="robustness", input_shape=(28, 28, 1),
                test_kwargs={"input_shape": (16, 16, 1), "width": 8})
def build_distortion_detector(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 2,
    *,
    width: int = 16,
    dropout: float = 0.2,
    name: str = "distortion_detector",
) -> keras.Model:
    """Distortion classifier: is an image clean (class 0) or distorted (class 1)?

    Paper: Gutierrez & Sze, Figure 1: "raw images are classified to have some type of
    distortion"; only the flagged images go to the denoiser.

    Args:
        input_shape: tuple. Defaults to (28, 28, 1).
        num_classes: int. 2 (clean, distorted), or one class per corruption type.
        width: int. Filters of the first block. Defaults to 16.
        dropout: float. Defaults to 0.2.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> build_distortion_detector().output_shape
        (None, 2)
    """
    return _small_cnn(input_shape, num_classes, width, dropout, name)


@register_model("conv_denoiser", paper="robustness", input_shape=(28, 28, 1),
                task="image-to-image", test_kwargs={"input_shape": (16, 16, 1), "filters": (8, 4)})
def build_conv_denoiser(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    *,
    filters: tuple[int, int] = (16, 32),
    output_activation: str = "linear",
    name: str = "conv_denoiser",
) -> keras.Model:
    """ConvDenoiser: Conv2D + max-pool encoder, Conv2DTranspose decoder, image out.

    Paper: Gutierrez & Sze, section 4.1.1: "The ConvDenoiser model employed Conv2DTranspose
    layers ... to upsample the input data, gradually reconstructing the clean image"; trained
    noisy -> clean with MSE.

    Args:
        input_shape: tuple. (height, width, channels); height and width multiples of 4.
            Defaults to (28, 28, 1).
        filters: (int, int). Encoder widths; the decoder mirrors them. Defaults to (16, 32).
        output_activation: str. ``"linear"`` (default): a linear output layer trained with MSE,
            clipped to [0, 1] at inference only (:class:`ClipAtInference`). ``"sigmoid"``: the
            usual sigmoid image output of the paper's PyTorch-style ConvDenoiser. Why the default
            differs: with Keras' initialisation, sigmoid + MSE on sparse digit strokes collapses
            to an all-black image within the first epoch and never leaves it (the sigmoid's
            gradient vanishes there): measured on Kannada-MNIST, validation MSE stuck at 0.0527,
            the MSE of a black image, over 15 epochs and at learning rates 1e-3 and 3e-4; the
            linear output reached 0.0157 in 5 epochs (noisy input: 0.0194).
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` mapping images in [0, 1] to images of the same shape.

    Example:
        >>> build_conv_denoiser((32, 32, 3)).output_shape
        (None, 32, 32, 3)
    """
    h, w, c = input_shape
    if (h is not None and h % 4) or (w is not None and w % 4):
        raise ValueError(f"conv_denoiser needs a height and width that are multiples of 4. "
                         f"Received: input_shape={input_shape}")
    f1, f2 = filters
    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(f1, 3, padding="same", activation="relu", name="enc1_conv")(inputs)
    x = layers.MaxPooling2D(2, name="enc1_pool")(x)
    x = layers.Conv2D(f2, 3, padding="same", activation="relu", name="enc2_conv")(x)
    x = layers.MaxPooling2D(2, name="enc2_pool")(x)
    x = layers.Conv2DTranspose(f2, 3, strides=2, padding="same", activation="relu",
                               name="dec1_tconv")(x)
    x = layers.Conv2DTranspose(f1, 3, strides=2, padding="same", activation="relu",
                               name="dec2_tconv")(x)
    if output_activation not in ("linear", "sigmoid"):
        raise ValueError(f"output_activation must be 'linear' or 'sigmoid'. Received: "
                         f"output_activation={output_activation!r}")
    if output_activation == "sigmoid":
        outputs = layers.Conv2D(c, 3, padding="same", activation="sigmoid", dtype="float32",
                                name="reconstruction")(x)
    else:
        x = layers.Conv2D(c, 3, padding="same", dtype="float32", name="reconstruction_linear")(x)
        outputs = ClipAtInference(dtype="float32", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


def apply_svhn_classifier(x, num_classes: int, prefix: str = ""):
    """The paper's SVHN CNN layers, in its order, applied to ``x``."""
    x = layers.Conv2D(32, (5, 5), activation="relu", padding="same", name=f"{prefix}conv1")(x)
    x = layers.BatchNormalization(name=f"{prefix}bn1")(x)
    x = layers.Conv2D(64, (5, 5), activation="relu", padding="same", name=f"{prefix}conv2")(x)
    x = layers.Dropout(0.2, name=f"{prefix}dropout")(x)
    x = layers.MaxPooling2D((2, 2), strides=2, name=f"{prefix}pool")(x)
    x = layers.Dense(32, activation="relu", name=f"{prefix}head_dense")(x)
    x = layers.Flatten(name=f"{prefix}head_flatten")(x)
    return layers.Dense(num_classes, activation="softmax", dtype="float32",
                        name="predictions")(x)


@register_model("svhn_cnn", paper="robustness", input_shape=(32, 32, 3),
                test_kwargs={"input_shape": (16, 16, 3), "num_classes": 5})
def build_svhn_cnn(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    *,
    name: str = "svhn_cnn",
) -> keras.Model:
    """The paper's SVHN baseline CNN, exactly as listed (137,834 parameters at 32x32x3).

    Paper: Gutierrez & Sze, section 4.2: Conv2D(32, 5x5, relu, same), BatchNormalization,
    Conv2D(64, 5x5, relu, same), Dropout(0.2), MaxPooling2D(2x2, strides 2), Dense(32, relu),
    Flatten, Dense(10, softmax); trained with batch 16, validation_split 0.2, 15 epochs.

    Args:
        input_shape: tuple. Defaults to (32, 32, 3).
        num_classes: int. Defaults to 10.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> build_svhn_cnn().count_params()
        137834
    """
    inputs = keras.Input(input_shape, name="image")
    return keras.Model(inputs, apply_svhn_classifier(inputs, num_classes), name=name)


@register_model("svhn_denoising_cnn", paper="robustness", input_shape=(32, 32, 3),
                test_kwargs={"input_shape": (16, 16, 3), "num_classes": 5})
def build_svhn_denoising_cnn(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    *,
    filters: tuple[int, int] = (32, 64),
    name: str = "svhn_denoising_cnn",
) -> keras.Model:
    """The paper's "denoising autoencoder CNN": a convolutional autoencoder before the SVHN CNN.

    Paper: Gutierrez & Sze, section 4.2: "The encoder will consist in a stack of Conv2D and
    MaxPooling2D layers ..., while the decoder will consist in a stack of Conv2D and UpSampling2D
    layers", followed by the baseline CNN (79.5% against the baseline's 77.0% on SVHN). The
    whole model trains end to end on the labels (the paper gives no separate autoencoder
    stage); the autoencoder's layers are named ``ae_*`` (output ``ae_reconstruction``).

    Args:
        input_shape: tuple. Height and width multiples of 4. Defaults to (32, 32, 3).
        num_classes: int. Defaults to 10.
        filters: (int, int). Encoder widths (the decoder mirrors them). Defaults to (32, 64).
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> build_svhn_denoising_cnn().output_shape
        (None, 10)
    """
    inputs = keras.Input(input_shape, name="image")
    x = apply_svhn_autoencoder(inputs, input_shape[-1], filters)
    return keras.Model(inputs, apply_svhn_classifier(x, num_classes, prefix="clf_"), name=name)


def apply_svhn_autoencoder(x, channels: int, filters: tuple[int, int] = (32, 64)):
    """Conv2D + MaxPooling2D encoder, Conv2D + UpSampling2D decoder, sigmoid reconstruction."""
    f1, f2 = filters
    x = layers.Conv2D(f1, 3, activation="relu", padding="same", name="ae_enc1_conv")(x)
    x = layers.MaxPooling2D(2, padding="same", name="ae_enc1_pool")(x)
    x = layers.Conv2D(f2, 3, activation="relu", padding="same", name="ae_enc2_conv")(x)
    x = layers.MaxPooling2D(2, padding="same", name="ae_enc2_pool")(x)
    x = layers.Conv2D(f2, 3, activation="relu", padding="same", name="ae_dec1_conv")(x)
    x = layers.UpSampling2D(2, name="ae_dec1_up")(x)
    x = layers.Conv2D(f1, 3, activation="relu", padding="same", name="ae_dec2_conv")(x)
    x = layers.UpSampling2D(2, name="ae_dec2_up")(x)
    return layers.Conv2D(channels, 3, activation="sigmoid", padding="same",
                         name="ae_reconstruction")(x)

"""The numeric-loss paper's small digit models: ``digits_dnn``, ``digits_cnn``, ``digits_rnn``.

Suzuki et al., "An Image Classification Model that Learns Image Features and Numerical
Information" (2021), seeds/002. The paper's Figure 4 (the architectures) is not in its text, so
these are the standard small Keras models for 28x28 digits that the paper's setting ("the image
size is small, the architecture of the models used was set to be simple", Keras on Colab)
evidently refers to: the Keras ``mnist_mlp``, ``mnist_cnn`` and an LSTM over image rows. All three
end in a softmax, which the numeric loss needs (it takes expected values under the predicted
distribution); the softmax is kept in float32 under mixed precision.
"""

from __future__ import annotations

import keras
from keras import layers

from kerasdoc.models.registry import register_model


@register_model("digits_dnn", paper="numeric-loss", input_shape=(28, 28, 1),
                test_kwargs={"input_shape": (16, 16, 1), "num_classes": 5})
def build_digits_dnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    hidden_units: int = 512,
    dropout: float = 0.2,
    name: str = "digits_dnn",
) -> keras.Model:
    """Fully connected digit classifier (Keras ``mnist_mlp``): 2 x (Dense 512, ReLU, Dropout 0.2).

    Paper: seeds/002 (Suzuki et al. 2021), the "DNN" model; its Figure 4 is missing from the text,
    so this is the standard Keras MLP for MNIST (669,706 parameters at 28x28x1 and 10 classes).

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (28, 28, 1).
        num_classes: int. Number of classes. Defaults to 10.
        hidden_units: int. Width of both hidden layers. Defaults to 512.
        dropout: float. Dropout after each hidden layer. Defaults to 0.2.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output of ``num_classes``.

    Example:
        >>> build_digits_dnn().count_params()
        669706
    """
    inputs = keras.Input(input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    for i in (1, 2):
        x = layers.Dense(hidden_units, activation="relu", name=f"dense{i}")(x)
        x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model("digits_cnn", paper="numeric-loss", input_shape=(28, 28, 1),
                test_kwargs={"input_shape": (20, 20, 1), "num_classes": 5})
def build_digits_cnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    name: str = "digits_cnn",
) -> keras.Model:
    """Small CNN (Keras ``mnist_cnn``): Conv 32 -> Conv 64 -> MaxPool -> Dropout -> Dense 128.

    Paper: seeds/002, the "CNN" model (architecture not given in the text; this is the standard
    Keras MNIST CNN: 3x3 convolutions with 32 and 64 filters, 2x2 max-pooling, dropout 0.25,
    dense 128, dropout 0.5; 1,199,882 parameters at 28x28x1 and 10 classes).

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (28, 28, 1).
        num_classes: int. Number of classes. Defaults to 10.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> build_digits_cnn().count_params()
        1199882
    """
    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Dropout(0.25, name="dropout1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5, name="dropout2")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


@register_model("digits_rnn", paper="numeric-loss", input_shape=(28, 28, 1),
                test_kwargs={"input_shape": (12, 14, 1), "num_classes": 5})
def build_digits_rnn(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    *,
    units: int = 128,
    name: str = "digits_rnn",
) -> keras.Model:
    """LSTM over image rows: each of the ``height`` rows is one time step of ``width*channels``.

    Paper: seeds/002, the "RNN" model (not given in the text; this is the usual Keras MNIST LSTM,
    one LSTM layer of 128 units reading the image row by row; 81,674 parameters at 28x28x1).

    Args:
        input_shape: tuple. (height, width, channels). Defaults to (28, 28, 1).
        num_classes: int. Number of classes. Defaults to 10.
        units: int. LSTM units. Defaults to 128.
        name: str. Model name.

    Returns:
        A functional ``keras.Model`` with a softmax output.

    Example:
        >>> build_digits_rnn().count_params()
        81674
    """
    h, w, c = input_shape
    inputs = keras.Input(input_shape, name="image")
    x = layers.Reshape((h, w * c), name="rows")(inputs)
    x = layers.LSTM(units, name="lstm")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32",
                           name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)

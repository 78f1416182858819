"""The standard test battery run over every registered model (keras-hub style).

``run_model_battery(name, tmp_dir)`` checks, for the model registered as ``name``:

1. it builds with its default arguments and with the registry's non-default ``test_kwargs``
   (another input shape / class count), no layer with a Keras-generated name like ``dense_1``;
   the default build takes the input shape the registry declares, and the registry's layer
   groups fit it (a head layer exists; a declared body split names a layer);
2. the output shape is ``(batch, num_classes)`` (or the input's shape for image-to-image models);
3. ``predict`` on a ``tf.data.Dataset`` equals calling the model directly;
4. ``get_config`` / ``from_config`` round-trips to the same architecture;
5. a few training steps on one tiny batch lower the loss;
6. a ``.keras`` save and reload with ``safe_mode=True`` gives the same predictions.

Example:
    >>> import tempfile
    >>> run_model_battery("digits_dnn", tempfile.mkdtemp())  # raises AssertionError on failure
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kerasdoc.keras_internals import build_before_fit
from kerasdoc.models.registry import get_model, model_spec

# Keras' generated names for a second unnamed layer of a class ("dense_1", "conv2d_3").
_AUTO_NAME = re.compile(r"^(conv2d|conv2d_transpose|dense|batch_normalization|activation|dropout|"
                        r"add|concatenate|flatten|max_pooling2d|lstm|reshape)_\d+$")


def _check_named(model: keras.Model) -> None:
    auto = [layer.name for layer in model.layers
            if _AUTO_NAME.match(layer.name) and not isinstance(layer, keras.layers.InputLayer)]
    assert not auto, f"{model.name}: layers without explicit names: {auto[:5]}"


def run_model_battery(name: str, tmp_dir: str | Path, *, batch: int = 4, seed: int = 0,
                      train_steps: int = 12) -> None:
    """Run the battery described in the module docstring; raises ``AssertionError`` on failure."""
    spec = model_spec(name)
    keras.utils.set_random_seed(seed)

    default = get_model(name)
    assert isinstance(default, keras.Model), f"{name}: builder must return a keras.Model"
    _check_named(default)
    assert tuple(default.input_shape[1:]) == tuple(spec.input_shape), (
        f"{name}: registered input_shape {spec.input_shape}, builder default "
        f"{default.input_shape[1:]}")
    names = [layer.name for layer in default.layers]
    if spec.task == "classification":
        assert any(n == p or n.startswith(p) for n in names for p in spec.head), (
            f"{name}: no layer matches the registered head prefixes {spec.head}")
    for p in spec.split_before:
        assert any(n.startswith(p) for n in names), (
            f"{name}: no layer matches split_before prefix {p!r}")
    del default

    model = get_model(name, **spec.test_kwargs)
    in_shape = tuple(model.input_shape[1:])
    assert None not in in_shape or spec.test_kwargs, f"{name}: test_kwargs must fix the input"
    in_shape = tuple(d if d is not None else 64 for d in in_shape)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (batch, *in_shape)).astype("float32")
    out = np.asarray(model(x, training=False))

    image_to_image = len(model.output_shape) > 2
    if image_to_image:
        assert out.shape == x.shape, f"{name}: output {out.shape} != input {x.shape}"
        y = x
        loss = "mse"
    else:
        n_classes = model.output_shape[-1]
        if "num_classes" in spec.test_kwargs:
            assert n_classes == spec.test_kwargs["num_classes"], f"{name}: {n_classes} classes"
        assert out.shape == (batch, n_classes), f"{name}: output shape {out.shape}"
        y = np.arange(batch) % n_classes
        loss = "sparse_categorical_crossentropy"

    ds = tf.data.Dataset.from_tensor_slices(x).batch(2)
    np.testing.assert_allclose(model.predict(ds, verbose=0), out, rtol=1e-4, atol=1e-5)

    clone = model.__class__.from_config(model.get_config())
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights], (
        f"{name}: from_config changed the weights' shapes")

    Path(tmp_dir).mkdir(parents=True, exist_ok=True)
    path = Path(tmp_dir) / f"{name}.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(reloaded(x, training=False)), out, rtol=1e-4, atol=1e-5,
                               err_msg=f"{name}: .keras reload changed predictions")

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    build_before_fit(model, x, y)  # the step traced once, not twice
    losses = [float(model.train_on_batch(x, y)) for _ in range(train_steps)]
    assert all(np.isfinite(losses)), f"{name}: non-finite loss {losses}"
    assert min(losses[-3:]) < losses[0], f"{name}: training did not lower the loss: {losses}"

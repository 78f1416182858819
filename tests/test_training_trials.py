"""TrialModels: repeated trials of one recipe on one compiled model train exactly as a new model
per trial would, on the training step traced once."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasdoc.generators.epoch_arrays import EpochArrays
from kerasdoc.training.trials import TrialModels

X = np.random.default_rng(0).normal(size=(48, 5)).astype("float32")
Y = (X[:, 0] + X[:, 1] > 0).astype("int64")


def build(seed: int, width: int = 16) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(width, activation="relu"),
                             keras.layers.Dropout(0.3),
                             keras.layers.Dense(2, activation="softmax")], name="trial")


def compile_(model: keras.Model) -> None:
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"], steps_per_execution=4)


def train(model: keras.Model, seed: int) -> list[np.ndarray]:
    model.fit(EpochArrays(X, Y, batch_size=8, seed=seed), epochs=3, verbose=0)
    return model.get_weights()


def test_a_reused_model_trains_as_a_new_one_per_trial_on_one_trace():
    fresh = []
    for seed in (0, 1, 2):
        model = build(seed)
        compile_(model)
        fresh.append(train(model, seed))
    trials = TrialModels()
    models, reused = [], []
    for seed in (0, 1, 2):
        model = trials.get("dense", lambda seed=seed: build(seed), compile_, X, Y)
        models.append(model)
        reused.append(train(model, seed))
        if seed == 0:
            step = model.train_function
    assert models[0] is models[1] is models[2] and models[2].train_function is step
    for want, got in zip(fresh, reused, strict=True):
        for a, b in zip(want, got, strict=True):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(reused[0][0], reused[1][0])  # the trials differ


def test_each_trial_starts_from_its_fresh_build_and_an_untrained_optimizer():
    trials = TrialModels()
    model = trials.get("dense", lambda: build(0), compile_, X, Y)
    before = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    train(model, 0)
    assert int(model.optimizer.iterations) > 0
    again = trials.get("dense", lambda: build(1), compile_, X, Y)
    assert again is model and int(model.optimizer.iterations) == 0
    for v, want in zip(model.optimizer.variables, before, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), want)
    numpy = keras.ops.convert_to_numpy
    for v, want in zip(model.variables, build(1).variables, strict=True):  # seed states too
        np.testing.assert_array_equal(numpy(v), numpy(want))


def test_one_key_one_architecture():
    trials = TrialModels()
    trials.get("dense", lambda: build(0), compile_, X, Y)
    with pytest.raises(ValueError, match="one key, one architecture"):
        trials.get("dense", lambda: keras.Sequential([keras.Input((5,)), keras.layers.Dense(2)]),
                   compile_, X, Y)

"""Repeated trials of one recipe on one compiled model: :class:`TrialModels` (several at once:
:mod:`kerasdoc.training.workers`).

A paper's table is often the mean of a few trials that differ only in their seed (the
numeric-loss experiment: three models x two losses x three trials). A new model per trial makes
Keras trace its training step again and TensorFlow set up that graph again: on two CPU cores
~0.5-1 s a trial, as much as a small model's whole training. :class:`TrialModels` keeps one
compiled model per recipe and, for each trial, sets every one of its variables to a fresh
build's (weights and the dropout layers' seed states: the trial's own initialisation) and the
optimizer's to their values before any training, so the trial trains exactly as a new model
would (the same variables, values and graph; ``tests/test_training_trials.py`` compares the
weights), on the training step already traced.

Example:
    >>> import keras, numpy as np
    >>> x, y = np.zeros((8, 3), "float32"), np.zeros(8, "int64")
    >>> def build(seed):
    ...     keras.utils.set_random_seed(seed)
    ...     return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    >>> def compile_(m):
    ...     m.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    >>> trials = TrialModels()
    >>> first = trials.get("dense", lambda: build(0), compile_, x, y)
    >>> _ = first.fit(x, y, epochs=1, verbose=0)
    >>> again = trials.get("dense", lambda: build(0), compile_, x, y)
    >>> again is first, bool(np.all(again.get_weights()[0] == build(0).get_weights()[0]))
    (True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import keras
import numpy as np

from kerasdoc.keras_internals import build_before_fit


class TrialModels:
    """One compiled model per recipe key, set to a fresh build's state for each trial (module
    docstring). Where the optimizer cannot be built before training (a model under a
    distribution strategy builds it in its first step), every trial gets its own new model."""

    def __init__(self):
        self._models: dict[Hashable, tuple[keras.Model, list[np.ndarray]]] = {}

    def get(self, key: Hashable, build: Callable[[], keras.Model],
            compile_fn: Callable[[keras.Model], Any], x: Any, y: Any = None) -> keras.Model:
        """The model of trial ``build()`` of recipe ``key``, compiled by ``compile_fn``.

        Args:
            key: the recipe (architecture, loss, optimizer settings): trials of one key differ
                only in what ``build`` draws from its seed.
            build: a new, uncompiled model of the trial (seeded by the caller).
            compile_fn: compiles a model (called once per key).
            x, y: the training data (the optimizer is built from its shapes).
        """
        fresh = build()
        entry = self._models.get(key)
        if entry is None:
            compile_fn(fresh)
            build_before_fit(fresh, x, y)
            optimizer = fresh.optimizer
            if getattr(optimizer, "built", False):
                self._models[key] = (fresh, [keras.ops.convert_to_numpy(v)
                                             for v in optimizer.variables])
            return fresh
        model, before_training = entry
        if len(model.variables) != len(fresh.variables):
            raise ValueError(f"build() for key {key!r} gave a model with "
                             f"{len(fresh.variables)} variables; the key's model has "
                             f"{len(model.variables)}: one key, one architecture")
        for var, value in zip(model.variables, fresh.variables, strict=True):
            var.assign(value.value)
        for var, value in zip(model.optimizer.variables, before_training, strict=True):
            var.assign(value)
        return model

"""The private Keras API that kerasdoc.keras_internals relies on is still there (a Keras release
that changes it fails here, saying what changed), and its in-memory weights file loads."""

from __future__ import annotations

import keras
import numpy as np

from kerasdoc.keras_internals import check_keras_internals, weights_h5_bytes


def test_keras_private_api_the_internals_module_uses_is_unchanged():
    problems = check_keras_internals()
    assert not problems, ("Keras changed what kerasdoc/keras_internals.py relies on; update that "
                          "module: " + " | ".join(problems))


def test_weights_h5_bytes_loads_as_a_weights_file(tmp_path):
    def tiny():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])

    model, fresh = tiny(), tiny()
    data = weights_h5_bytes(model)
    assert data is not None
    (tmp_path / "w.weights.h5").write_bytes(data)
    fresh.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)

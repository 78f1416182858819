"""docs/porting_from_keras2.md: the custom ``Iterator`` port runs as written, and the legacy
Keras 3 generator it compares with is what the guide says it is."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "docs" / "porting_from_keras2.md").read_text()


def _port_block() -> str:
    section = GUIDE.split("### A custom `Iterator` subclass")[1]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]


def test_the_guides_iterator_port_fits_evaluates_and_predicts():
    import keras

    scope: dict = {}
    exec(compile(_port_block(), "porting_from_keras2.md", "exec"), scope)  # noqa: S102
    pair, x, y, model = scope["PairIterator"], scope["x"], scope["y"], scope["model"]
    assert scope["batch_x"].shape == (8, 8) and scope["batch_y"].shape == (8,)
    it = pair(x, y, seed=0)
    assert isinstance(it, keras.utils.PyDataset) and len(it) == 5
    history = model.fit(it, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(pair(x, y, shuffle=False), verbose=0).shape == (40, 2)
    # evaluate in file order equals evaluating the arrays
    ours = model.evaluate(pair(x, y, shuffle=False), verbose=0, return_dict=True)
    ref = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert ours["loss"] == pytest.approx(ref["loss"], rel=1e-5)
    # PyDataset's own options reach it (the guide's **kwargs)
    assert pair(x, y, workers=2).workers == 2


def test_without_the_port_fit_refuses_the_subclass():
    """What the guide says happens after the bare import swap (update both together if
    kerasdoc's Iterator becomes a PyDataset)."""
    import keras

    from kerasdoc.generators.keras2 import Iterator

    class Bare(Iterator):
        def __init__(self, x, y):
            self.x, self.y = x, y
            super().__init__(len(x), 4, False, None)

        def _get_batches_of_transformed_samples(self, index_array):
            return self.x[index_array], self.y[index_array]

    x, y = np.zeros((8, 3), "float32"), np.zeros(8, "int32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="Unrecognized data type"):
        model.fit(Bare(x, y), epochs=1, verbose=0)
    assert "Unrecognized data type" in GUIDE


def test_the_legacy_generator_is_keras_3s_pydataset_copy():
    import keras
    import tensorflow as tf

    legacy = tf.keras.preprocessing.image
    assert legacy.ImageDataGenerator.__module__ == "keras.src.legacy.preprocessing.image"
    assert issubclass(legacy.Iterator, keras.utils.PyDataset)
    assert "tf.keras.preprocessing.image.ImageDataGenerator" in GUIDE

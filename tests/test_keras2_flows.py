"""Keras 2 flow features: class modes, data-frame options, saving, iterator semantics."""

from __future__ import annotations

import numpy as np
import pytest
from test_generators import make_folder

from generators import ImageDataGenerator


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "data", {"a": 3, "b": 2})


def test_class_mode_input_yields_the_image_as_target(folder):
    gen = ImageDataGenerator(rescale=1 / 255)
    f = gen.flow_from_directory(folder, (4, 4), "grayscale", class_mode="input", batch_size=4,
                                shuffle=False)
    x, y = next(iter(f.dataset))
    assert x.shape == (4, 4, 4, 1) and np.array_equal(x.numpy(), y.numpy())
    assert f.classes.tolist() == [0, 0, 0, 1, 1]  # classes still known
    df = {"filename": ["a/000.png", "b/000.png"]}
    f = gen.flow_from_dataframe(df, folder, target_size=(4, 4), class_mode="input")
    x, y = next(iter(f.dataset))
    assert x.shape == (2, 4, 4, 3) and np.array_equal(x.numpy(), y.numpy())

"""A Keras 2 ``ImageDataGenerator`` script, unchanged but for its import, runs on ``generators``.

The script is written as Keras 2 tutorials wrote it: ``flow_from_directory``, a first batch with
``next()``, ``fit(steps_per_epoch=samples // batch_size)`` over several epochs, ``reset()`` then
``predict(steps=len(test))``, and the file names and predictions in a table.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from test_generators import make_folder

from kerasdoc.generators import ImageDataGenerator  # was: from keras.preprocessing.image import ...


class CountBatches(keras.callbacks.Callback):
    """Batches trained in each epoch."""

    def __init__(self):
        super().__init__()
        self.per_epoch: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


def keras2_script(train_dir, test_dir, callback):
    """The Keras 2 script (only the import above differs from the original)."""
    train_datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=5, zoom_range=0.1)
    test_datagen = ImageDataGenerator(rescale=1.0 / 255)
    train_generator = train_datagen.flow_from_directory(
        train_dir, target_size=(16, 16), color_mode="grayscale", batch_size=4,
        class_mode="categorical", seed=0)
    test_generator = test_datagen.flow_from_directory(
        test_dir, target_size=(16, 16), color_mode="grayscale", batch_size=4,
        class_mode="categorical", shuffle=False)
    x_batch, y_batch = next(train_generator)
    model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(len(train_generator.class_indices),
                                                 activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_generator,
                        steps_per_epoch=train_generator.samples // train_generator.batch_size,
                        epochs=3, validation_data=test_generator, callbacks=[callback],
                        verbose=0)
    test_generator.reset()
    pred = model.predict(test_generator, steps=len(test_generator), verbose=0)
    predicted = np.argmax(pred, axis=1)
    labels = {v: k for k, v in train_generator.class_indices.items()}
    rows = {"Filename": test_generator.filenames,
            "Predictions": [labels[k] for k in predicted]}
    return x_batch, y_batch, history, pred, rows, train_generator, test_generator


@pytest.fixture
def dirs(tmp_path):
    return (make_folder(tmp_path / "train", {"a": 9, "b": 9}, size=(20, 20)),
            make_folder(tmp_path / "test", {"a": 3, "b": 2}, size=(20, 20)))


def test_keras2_script_runs_unchanged(dirs):
    cb = CountBatches()
    x, y, history, pred, rows, train, test = keras2_script(*dirs, cb)
    assert isinstance(x, np.ndarray) and x.shape == (4, 16, 16, 1) and x.dtype == np.float32
    assert y.shape == (4, 2) and y.dtype == np.float32 and train.batch_index == 1
    # 18 images, batch 4: steps_per_epoch = 4 < len = 5; every epoch gets its 4 batches
    assert len(train) == 5 and cb.per_epoch == [4, 4, 4]
    assert len(history.history["val_loss"]) == 3
    assert pred.shape == (5, 2)  # one prediction per test image, in file order
    assert rows["Filename"] == ["a/000.png", "a/001.png", "a/002.png", "b/000.png", "b/001.png"]
    assert test.classes.tolist() == [0, 0, 0, 1, 1]
    try:  # the script's last step: the table as a pandas DataFrame, where pandas is installed
        import pandas as pd
    except ImportError:
        return
    assert pd.DataFrame(rows).shape == (5, 2)

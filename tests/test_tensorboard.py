"""TensorBoard logs of a fit (kerasdoc.tensorboard): scalars, learning rate, the validation
confusion matrix image and the hyper-parameters, read back from the event files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kerasdoc.tensorboard import (
    CONFUSION_TAG,
    HPARAMS_TEXT_TAG,
    TensorBoardLogger,
    read_events,
    write_hparams,
)


def _hparams_present(tags: dict[str, str]) -> bool:
    """The HParams plugin's session summary, or the text fallback without ``tensorboard``."""
    return any(p == "hparams" for p in tags.values()) or tags.get(HPARAMS_TEXT_TAG) == "text"


def _data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(0, 0.3, (n, 8, 8, 1)).astype("float32") + y[:, None, None, None]
    return x, y


def test_run_logs_scalars_confusion_image_and_hparams(tmp_path):
    from kerasdoc.runs import Run

    x, y = _data(48, 0)
    xv, yv = _data(12, 1)
    tb = tmp_path / "tb"
    with Run(tmp_path / "run", batch_size=16, seed=0, tensorboard=tb,
             hparams={"experiment": "unit"}) as run:
        model = run.build("digits_dnn", input_shape=(8, 8, 1), num_classes=3)
        run.compile(model)
        history = run.fit(model, x, y, epochs=2, validation_data=(xv, yv),
                          folder=tmp_path / "run" / "stage1", verbose=0)
    assert len(history["loss"]) == 2
    assert not (tmp_path / "run" / "stage1" / "logs").exists()  # the folder given instead
    events = read_events(tb / "stage1")
    train, val, top = events["train"], events["validation"], events["."]
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(train)
    assert train["epoch_loss"] == "scalars"
    assert {"epoch_loss", "epoch_accuracy"} <= set(val)
    assert val[CONFUSION_TAG] == "images"
    assert _hparams_present(top)
    assert "hparams/val_accuracy" in top


def test_confusion_image_is_a_png_of_the_matrix(tmp_path):
    import tensorflow as tf

    from kerasdoc.tensorboard import write_confusion_image

    cm = write_confusion_image(tmp_path, [0, 1, 1, 2], [0, 1, 2, 2], ["a", "b", "c"])
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    f = next(tmp_path.glob("events.out.tfevents.*"))
    values = [v for e in tf.compat.v1.train.summary_iterator(str(f)) for v in e.summary.value
              if v.tag == CONFUSION_TAG]
    blob = tf.make_ndarray(values[0].tensor)
    width, height, png = int(blob[0]), int(blob[1]), blob[2]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and width > 100 and height > 100


def test_hparams_text_fallback_lists_the_values(tmp_path, monkeypatch):
    import builtins

    import tensorflow as tf

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert write_hparams(tmp_path, {"lr": 0.01, "model": "m", "skip": None,
                                    "shape": (2, 3)}) == "text"
    f = next(tmp_path.glob("events.out.tfevents.*"))
    texts = [tf.make_ndarray(v.tensor).item().decode()
             for e in tf.compat.v1.train.summary_iterator(str(f)) for v in e.summary.value
             if v.tag == HPARAMS_TEXT_TAG]
    assert "| lr | 0.01 |" in texts[0] and "| shape | (2, 3) |" in texts[0]
    assert "skip" not in texts[0]


def test_logger_skips_confusion_for_non_classifiers(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile("adam", "mse")
    x = np.zeros((8, 4), "float32")
    logger = TensorBoardLogger(tmp_path, validation_data=(x, x + 0.5))
    model.fit(x, x, epochs=1, validation_data=(x, x + 0.5), callbacks=[logger], verbose=0)
    assert logger.confusion is None
    assert CONFUSION_TAG not in read_events(tmp_path).get("validation", {})


@pytest.fixture
def image_folder(tmp_path):
    rng = np.random.RandomState(0)
    for split, n in (("train", 8), ("val", 3)):
        for cls, base in (("bright", 200), ("dark", 50)):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                arr = np.clip(rng.normal(base, 25, (12, 12)), 0, 255).astype(np.uint8)
                Image.fromarray(arr).save(tmp_path / split / cls / f"{i}.png")
    return tmp_path


def test_cli_train_tensorboard_flag(image_folder):
    from kerasdoc.cli import main

    tb = image_folder / "tb"
    rc = main(["train", "digits_dnn", "--data", str(image_folder / "train"), "--val",
               str(image_folder / "val"), "--epochs", "1", "--batch-size", "8",
               "--image-size", "12", "12", "--out", str(image_folder / "run"), "--quiet",
               "--tensorboard", str(tb)])
    assert rc == 0
    events = read_events(tb)
    assert {"epoch_loss", "epoch_learning_rate"} <= set(events["train"])
    assert events["validation"][CONFUSION_TAG] == "images"
    assert _hparams_present(events["."])


def test_every_experiment_takes_the_tensorboard_flag():
    from kerasdoc.experiments import get_experiment, list_experiments

    for name in list_experiments():
        parser = get_experiment(name).build_parser()
        assert parser.parse_args(["--tensorboard", "tb"]).tensorboard == "tb", name

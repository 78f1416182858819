"""kerasdoc.runs.Run: the one run recipe (build, compile, resilient fit, atomic finish, export)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from kerasdoc.generators.spec import ImageSpec
from kerasdoc.runs import Run, export_model_file, float32_outputs

SPEC = ImageSpec((16, 16), "grayscale")
NAMES = ["a", "b", "c"]


def _data(n=48):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (n, 16, 16, 1)).astype("float32"), np.arange(n) % 3


def _model(run):
    model = run.build("digits_dnn", input_shape=(16, 16, 1), num_classes=3)
    return run.compile(model, keras.optimizers.Adam(1e-3))


def test_a_kill_after_the_last_epoch_loses_nothing(tmp_path):
    x, y = _data()
    with Run(tmp_path, batch_size=16, tensorboard=False) as run:
        hist = run.fit(_model(run), x, y, epochs=2, verbose=0)
    # killed here, before finish(): the backup of the last epoch is still on disk
    assert (tmp_path / "backup").is_dir() and len(hist["loss"]) == 2
    with Run(tmp_path, batch_size=16, tensorboard=False) as run:
        model = _model(run)
        hist2 = run.fit(model, x, y, epochs=2, verbose=0)  # the re-run resumes at the end
        assert run.backup.restored_epoch == 2 and hist2["loss"] == hist["loss"]
        path = run.finish(model, NAMES, SPEC, hist2, model="digits_dnn")
    assert path.is_file() and not (tmp_path / "backup").exists()
    card = json.loads((tmp_path / "model.kerasdoc.json").read_text())
    assert card["class_names"] == NAMES and card["model"] == "digits_dnn"
    assert card["image_spec"]["image_size"] == [16, 16] and card["run"]["replicas_in_sync"] == 1
    assert json.loads((tmp_path / "history.json").read_text())["loss"] == hist["loss"]


def test_backup_interval_backs_up_less_often_and_still_resumes(tmp_path):
    """backup_interval (numeric-loss trials, issue 24): an epoch ending sooner than the interval
    after the last backup is not backed up; a run killed then resumes from the last backup.
    No per-epoch checkpoint.keras is written."""
    import time

    from kerasdoc.training.resilient import METADATA

    x, y = _data()

    class Slow(keras.callbacks.Callback):  # epoch 1 ends "late": its backup is due
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                time.sleep(0.3)

    with Run(tmp_path, batch_size=16, tensorboard=False) as run:
        run.fit(_model(run), x, y, epochs=3, verbose=0, backup_interval=3600)
    assert not (tmp_path / "backup" / METADATA).exists()  # none due within the hour
    assert not (tmp_path / "checkpoint.keras").exists()
    with Run(tmp_path / "b", batch_size=16, tensorboard=False) as run:
        run.fit(_model(run), x, y, epochs=3, verbose=0, backup_interval=0.25,
                callbacks=[Slow()])
    # the Slow callback runs after the backup's on_epoch_end: epoch 1 was not due, epoch 2 was
    meta = json.loads((tmp_path / "b" / "backup" / METADATA).read_text())
    assert meta["epoch"] in (2, 3)
    with Run(tmp_path / "b", batch_size=16, tensorboard=False) as run:
        hist = run.fit(_model(run), x, y, epochs=4, verbose=0, backup_interval=0.25)
        assert run.backup.restored_epoch == meta["epoch"] and len(hist["loss"]) == 4


def test_finish_refuses_a_spec_the_model_cannot_take(tmp_path):
    with Run(tmp_path, batch_size=8, tensorboard=False) as run:
        model = _model(run)
        with pytest.raises(ValueError, match=r"image spec gives \(16, 16, 3\)"):
            run.finish(model, NAMES, SPEC.replace(color_mode="rgb"))
        with pytest.raises(ValueError, match="no image spec"):
            run.finish(model, NAMES, None)


def test_global_batch_policy_and_float32_outputs(tmp_path):
    with Run(tmp_path, batch_size=8, mixed_precision=True, tensorboard=False) as run:
        assert run.batch_size == 8 * run.replicas
        assert run.policy in ("mixed_bfloat16", "mixed_float16")
        model = run.build("digits_dnn", input_shape=(16, 16, 1), num_classes=3)
        assert model.outputs[0].dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"  # restored on exit
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    assert float32_outputs(plain) is plain


def test_export_uses_the_card_spec(tmp_path):
    x, y = _data()
    spec = ImageSpec((16, 16), "grayscale", resize_mode="pad", mean=0.5, std=0.25)
    with Run(tmp_path / "run", batch_size=16, tensorboard=False) as run:
        model = _model(run)
        hist = run.fit(model, x, y, epochs=1, verbose=0)
        path = run.finish(model, NAMES, spec, hist)
    exported = export_model_file(path, "m", tmp_path / "sm")
    meta = json.loads((exported / "assets.extra" / "kerasdoc.json").read_text())
    assert meta["image_spec"] == [spec.get_config()] and meta["class_names"] == NAMES
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        Run(None).fit(model, x, y, epochs=0)


def test_resume_refuses_another_models_backup_and_a_concurrent_run(tmp_path):
    import subprocess
    import sys
    import time

    x, y = _data()
    with Run(tmp_path / "a", batch_size=16, tensorboard=False) as run:
        run.fit(_model(run), x, y, epochs=1, verbose=0)  # interrupted: backup left behind
        other = run.compile(run.build("digits_dnn", input_shape=(16, 16, 1), num_classes=4))
        with pytest.raises(ValueError, match=r"backup in .* is of another run.*output_shape"):
            run.fit(other, x, y % 2, epochs=1, verbose=0)
    folder = tmp_path / "b"
    folder.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
         "fcntl.flock(f, fcntl.LOCK_EX); f.write('pid 4242'); f.flush(); print('ok', flush=True);"
         " time.sleep(30)", str(folder / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with Run(folder, batch_size=16, tensorboard=False) as run:
            with pytest.raises(RuntimeError, match=r"being trained into by pid 4242"):
                run.fit(_model(run), x, y, epochs=1, verbose=0)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    time.sleep(0.1)


def test_keras_trainer_retracing_warning_is_off_the_console_inside_a_run(caplog, monkeypatch):
    # Keras traces the same trainer function for each new model's fit / evaluate / predict,
    # and TensorFlow warned "retracing" (the rvl-cdip and persian-ocr quick runs printed it, as
    # logged here). Inside a Run that warning is dropped; a user's own tf.function's is not;
    # after the run, TensorFlow's logger is as it was. (TensorFlow counts traces per function
    # for the whole process, so the warning is logged here by hand, as TensorFlow logs it.)
    import logging

    keras_msg = ("5 out of the last 7 calls to <function TensorFlowTrainer._make_function."
                 "<locals>.multi_step_on_iterator at 0x7f969c151300> triggered tf.function "
                 "retracing. Tracing is expensive and the excessive number of tracings could be "
                 "due to (1) creating @tf.function repeatedly in a loop")
    user_msg = keras_msg.replace("TensorFlowTrainer._make_function.<locals>.multi_step_on_iterator",
                                 "my_step")
    tf_logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(tf_logger, "filters", [])  # not another test's Run left open
    before = list(tf_logger.filters)

    def logged(msg):
        caplog.clear()
        tf_logger.warning(msg)
        return [r.getMessage() for r in caplog.records] == [msg]

    with Run(None, tensorboard=False):
        assert not logged(keras_msg) and logged(user_msg)
    assert tf_logger.filters == before
    assert logged(keras_msg) and logged(user_msg)

"""Resumable training: SIGKILL mid-epoch and resume, atomic backups, NaN guard, safe loading."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from kerasdoc.models.weights import load_keras_model
from kerasdoc.training.resilient import (
    AtomicBackupAndRestore,
    AtomicModelCheckpoint,
    atomic_save_model,
    fit_resilient,
    load_pickle,
)

REPO = Path(__file__).resolve().parents[1]

# A training run: 5 epochs of 8 batches; in "victim" mode it writes MARKER in the middle of
# epoch 3 (index 2) and then hangs, so the parent can SIGKILL it mid-epoch. Run as a child
# process (with deterministic ops) or, for the uninterrupted reference, by exec in-process.
CHILD = r"""
import os, sys, json, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf, keras
if __name__ == "__main__":
    tf.config.experimental.enable_op_determinism()
    out, result, marker = sys.argv[1], sys.argv[2], sys.argv[3]
keras.utils.set_random_seed(0)
from kerasdoc.training.resilient import fit_resilient
rng = np.random.RandomState(0)
x = rng.rand(256, 8).astype("float32")
y = (x.sum(1) > 4).astype("int32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu", name="h"),
                          keras.layers.Dense(2, activation="softmax", name="p")], name="tiny")
model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")

class Hang(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        print("EPOCH", epoch, flush=True)
    def on_train_batch_end(self, batch, logs=None):
        if marker != "-" and self.epoch == 2 and batch == 3:
            open(marker, "w").write("mid-epoch")
            time.sleep(600)

hist = fit_resilient(model, x, y, epochs=5, out_dir=out, batch_size=32, shuffle=False,
                     verbose=0, callbacks=[Hang()])
np.savez(result, *model.get_weights())
json.dump(hist, open(result + ".json", "w"))
"""


def _run_child(tmp: Path, out: str, result: str, marker: str = "-", wait: bool = True):
    script = tmp / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    proc = subprocess.Popen([sys.executable, str(script), out, result, marker], cwd=tmp,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait:
        stdout, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, stdout
        return stdout
    return proc


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path):
    start = time.perf_counter()
    # Victim: killed with SIGKILL in the middle of epoch index 2.
    marker = tmp_path / "marker"
    proc = _run_child(tmp_path, str(tmp_path / "run"), str(tmp_path / "run.npz"),
                      str(marker), wait=False)
    # Meanwhile the uninterrupted reference, in this process.
    exec(CHILD, {"__name__": "reference", "out": str(tmp_path / "ref"),  # noqa: S102
                 "result": str(tmp_path / "ref.npz"), "marker": "-"})
    deadline = time.time() + 200
    while not marker.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, "victim never reached epoch 3"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    meta = json.loads((tmp_path / "run" / "backup" / "training_metadata.json").read_text())
    assert meta["epoch"] == 2  # epochs 0 and 1 completed and backed up
    assert len(meta["history"]["loss"]) == 2
    assert not list((tmp_path / "run" / "backup").glob(".tmp-*"))
    # Same command again: resumes at epoch index 2, not 0.
    log = _run_child(tmp_path, str(tmp_path / "run"), str(tmp_path / "run.npz"))
    assert "EPOCH 0" not in log and "EPOCH 1" not in log and "EPOCH 2" in log, log
    ref, got = np.load(tmp_path / "ref.npz"), np.load(tmp_path / "run.npz")
    for k in ref.files:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-6)
    hist = json.loads((tmp_path / "run.npz.json").read_text())
    ref_hist = json.loads((tmp_path / "ref.npz.json").read_text())
    assert len(hist["loss"]) == 5
    np.testing.assert_allclose(hist["loss"], ref_hist["loss"], rtol=1e-5)
    assert not (tmp_path / "run" / "backup").exists()  # removed after a finished run
    print(f"kill-and-resume test wall time: {time.perf_counter() - start:.1f} s")


def _tiny_model(lr=1e-2):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d"),
                              keras.layers.Dense(2, activation="softmax", name="p")])
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy")
    return model


def test_terminate_on_nan_keeps_last_good_checkpoint_and_backup(tmp_path):
    x = np.random.RandomState(0).rand(64, 4).astype("float32")
    y = np.zeros(64, "int32")
    model = _tiny_model()

    class Explode(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate.assign(1e30)

    with pytest.warns(UserWarning, match="NaN"):
        hist = fit_resilient(model, x, y * 0, epochs=5, out_dir=tmp_path, batch_size=8,
                             verbose=0, callbacks=[Explode()])
    # Stopped in epoch 2 (index 1) instead of running 5 epochs; its loss is NaN.
    assert len(hist["loss"]) == 2 and np.isfinite(hist["loss"][0]) and np.isnan(hist["loss"][1])
    meta = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
    assert meta["epoch"] == 1 and len(meta["history"]["loss"]) == 1
    good = load_keras_model(tmp_path / "checkpoint.keras")
    assert all(np.isfinite(w).all() for w in good.get_weights())


def test_backup_files_are_replaced_atomically(tmp_path):
    model = _tiny_model()
    x = np.ones((16, 4), "float32")
    cb = AtomicBackupAndRestore(str(tmp_path / "b"), delete_checkpoint=False)
    model.fit(x, np.zeros(16), epochs=3, batch_size=8, verbose=0, callbacks=[cb])
    files = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert files == ["ckpt-3-0.weights.h5", "training_metadata.json"]
    meta = json.loads((tmp_path / "b" / "training_metadata.json").read_text())
    assert meta["epoch"] == 3 and meta["weights"] == "ckpt-3-0.weights.h5"
    assert len(meta["history"]["loss"]) == 3
    # A fresh model restored from it starts after epoch 3 with the same weights.
    model2 = _tiny_model()
    cb2 = AtomicBackupAndRestore(str(tmp_path / "b"), delete_checkpoint=False)
    model2.fit(x, np.zeros(16), epochs=3, batch_size=8, verbose=0, callbacks=[cb2])
    assert cb2.restored_epoch == 3
    for a, b in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_metadata_naming_missing_weights_is_a_clear_error(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "training_metadata.json").write_text(
        json.dumps({"epoch": 1, "batch": 0, "weights": "ckpt-1-0.weights.h5"}))
    model = _tiny_model()
    with pytest.raises(FileNotFoundError, match="ckpt-1-0.weights.h5"):
        model.fit(np.ones((8, 4)), np.zeros(8), epochs=2, verbose=0,
                  callbacks=[AtomicBackupAndRestore(str(tmp_path / "b"))])


def test_atomic_model_checkpoint_monitor_and_load_safe(tmp_path):
    model = _tiny_model()
    cb = AtomicModelCheckpoint(tmp_path / "best.keras", monitor="loss")
    model.fit(np.ones((16, 4)), np.zeros(16), epochs=3, verbose=0, callbacks=[cb])
    assert cb.saved_epochs == [0, 1, 2]  # SGD on a constant target keeps improving
    loaded = load_keras_model(tmp_path / "best.keras")
    np.testing.assert_allclose(loaded.predict(np.ones((2, 4)), verbose=0),
                               model.predict(np.ones((2, 4)), verbose=0), rtol=1e-6)
    assert not list(tmp_path.glob(".best*"))
    with pytest.raises(ValueError, match="must end in .keras"):
        AtomicModelCheckpoint(tmp_path / "best.h5")


def test_load_keras_model_refuses_lambda_layers_and_bad_paths(tmp_path):
    inp = keras.Input((2,))
    out = keras.layers.Lambda(lambda t: t * 2, name="double")(inp)
    atomic_save_model(keras.Model(inp, out), tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode=True"):
        load_keras_model(tmp_path / "lambda.keras")
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        load_keras_model(tmp_path / "nope.keras")
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match="Expected a .keras"):
        load_keras_model(tmp_path / "m.h5")


def test_load_pickle_warns_and_loads_only_named_files(tmp_path):
    import joblib

    joblib.dump({"a": [1, 2]}, tmp_path / "labels.joblib")
    with pytest.warns(UserWarning, match="trust"):
        assert load_pickle(tmp_path / "labels.joblib") == {"a": [1, 2]}
    with pytest.raises(FileNotFoundError, match="missing.joblib"):
        load_pickle(tmp_path / "missing.joblib")

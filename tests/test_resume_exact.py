"""Issue 13, item 5: a run killed after any epoch and resumed ends with the weights of the
uninterrupted run (within 1e-5), with shuffling, augmentation and dropout on: the backup keeps
the SeedGenerator states and a seeded flow's epoch k is a pure function of (seed, k)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kerasdoc.generators import ImageDataGenerator
from kerasdoc.runs import Run

EPOCHS = 4


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume") / "data"
    rng = np.random.default_rng(0)
    for k in range(3):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(10):
            arr = np.clip(rng.normal(60 + 60 * k, 40, (10, 10)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / f"c{k}" / f"{i}.png")
    return root


def make_flow(root):
    gen = ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True, width_shift_range=0.2,
                             rotation_range=10)
    return gen.flow_from_directory(root, (8, 8), "grayscale", class_mode="sparse",
                                   batch_size=7, shuffle=True, seed=11)


def builder(input_shape, num_classes):
    import keras

    inp = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dropout(0.4)(x)
    out = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inp, out, name="tiny")


def train(root, out, epochs, callbacks=()):
    """A fresh Run, model, optimizer and flow, as a new process would make them."""
    import keras

    with Run(out, batch_size=7, seed=5, tensorboard=False) as run:
        flow = make_flow(root)
        model = run.build(builder, input_shape=(8, 8, 1), num_classes=3)
        run.compile(model, keras.optimizers.Adam(0.01))
        history = run.fit(model, flow, epochs=epochs, verbose=0, callbacks=list(callbacks))
        return [w.copy() for w in model.get_weights()], history


def snapshots(out, into):
    """A callback copying the run folder's backup after each epoch: what a kill right after
    that epoch (or anywhere in the next one) leaves behind."""
    import shutil

    import keras

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # runs after the backup callback's
            shutil.copytree(out / "backup", into / f"killed{epoch + 1}" / "backup")

    return [Snapshot()]


def test_killed_after_any_epoch_resumes_to_the_uninterrupted_weights(data, tmp_path):
    full = tmp_path / "full"
    want, full_history = train(data, full, EPOCHS, snapshots(full, tmp_path))
    assert len(full_history["loss"]) == EPOCHS
    tried = []
    for k in range(1, EPOCHS):
        out = tmp_path / f"killed{k}"
        assert (out / "backup" / "training_metadata.json").is_file()
        got, history = train(data, out, EPOCHS)
        assert len(history["loss"]) == EPOCHS
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(history["loss"], full_history["loss"], rtol=1e-5)
        tried.append(k)
    assert tried == [1, 2, 3]


@pytest.mark.slow
def test_the_pieces_matter(data, tmp_path):
    """Without the epoch-indexed passes (an unseeded-style restart at pass 0) the resumed run
    differs: the test above is not passing by accident."""
    want, _ = train(data, tmp_path / "full", 2)
    out = tmp_path / "k1"
    train(data, out, 1)
    import kerasdoc.runs as runs

    original = runs.Run._backup_epoch
    runs.Run._backup_epoch = staticmethod(lambda folder: 0)  # forget the epoch: replays pass 0
    try:
        got, _ = train(data, out, 2)
    finally:
        runs.Run._backup_epoch = staticmethod(original)
    assert max(float(np.abs(a - b).max()) for a, b in zip(got, want)) > 1e-4


def test_seeded_flow_epoch_passes_are_pure_functions_of_the_epoch(data):
    f = make_flow(data)
    a = [y.numpy() for _, y in f._pass_fn(2)]
    b = [y.numpy() for _, y in make_flow(data)._pass_fn(2)]
    c = [y.numpy() for _, y in f._pass_fn(3)]
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


@pytest.mark.slow
def test_cli_train_sigkilled_mid_epoch_resumes_to_the_same_model(tmp_path):
    """`kerasdoc train` (shuffled flow, dropout) SIGKILLed at three points, each re-run to the
    end: the final model.keras equals the uninterrupted run's within 1e-5."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    import keras

    repo = Path(__file__).resolve().parents[1]
    rng = np.random.default_rng(1)
    for cls, base in (("bright", 180), ("dark", 70)):
        (tmp_path / "d" / cls).mkdir(parents=True)
        for i in range(40):
            arr = np.clip(rng.normal(base, 50, (24, 20)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / "d" / cls / f"{i}.png")
    env = dict(os.environ, PYTHONPATH=str(repo), CUDA_VISIBLE_DEVICES="")

    def cmd(out):
        return [sys.executable, "-m", "kerasdoc", "train", "digits_dnn", "--data",
                str(tmp_path / "d"), "--epochs", "4", "--batch-size", "4", "--image-size", "12",
                "12", "--seed", "3", "--out", str(out), "--quiet"]

    def weights(out):
        return keras.saving.load_model(out / "model.keras", compile=False).get_weights()

    res = subprocess.run(cmd(tmp_path / "full"), env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    want = weights(tmp_path / "full")
    kills = []
    for k in (1, 2, 3):
        out = tmp_path / f"k{k}"
        proc = subprocess.Popen(cmd(out), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        meta = out / "backup" / "training_metadata.json"
        deadline = time.time() + 240
        while not (meta.exists() and json.loads(meta.read_text())["epoch"] >= k):
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # during epoch k + 1
        proc.wait()
        done = json.loads(meta.read_text())["epoch"]
        assert not (out / "model.keras").exists()
        res = subprocess.run(cmd(out), env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0 and f"resumed after epoch {done}" in res.stdout, res.stderr
        for a, b in zip(weights(out), want):
            np.testing.assert_allclose(a, b, atol=1e-5)
        kills.append(done)
    print(f"killed after epochs {kills}; all resumed to within 1e-5")


def test_resume_refuses_another_dataset_or_class_set(data, tmp_path, capsys):
    import shutil

    out = tmp_path / "run"
    train(data, out, 1)  # a backup after epoch 1
    fewer = tmp_path / "fewer"
    shutil.copytree(data, fewer)
    (fewer / "c1" / "3.png").unlink()
    with pytest.raises(ValueError, match=r"backup in .*run/backup is of another run .*'samples'"
                                         r": \(30, 29\).*'data'"):
        train(fewer, out, 2)
    renamed = tmp_path / "renamed"
    shutil.copytree(data, renamed)
    (renamed / "c2").rename(renamed / "c9")
    with pytest.raises(ValueError, match=r"backup in .*run/backup is of another run .*'classes'"
                                         r": \(\['c0', 'c1', 'c2'\], \['c0', 'c1', 'c9'\]\)"):
        train(renamed, out, 2)
    capsys.readouterr()
    train(data, out, 1)  # the same run asked for no more epochs than the backup holds
    assert "already holds 1 epoch(s), not fewer than epochs=1: no further training" in \
        capsys.readouterr().out


def test_seeded_array_flow_passes_too():
    x = np.arange(20, dtype="float32").reshape(20, 1, 1, 1)
    gen = ImageDataGenerator(horizontal_flip=True)
    a = [b.numpy() for b, _ in gen.flow(x, np.arange(20), batch_size=6, seed=2)._pass_fn(1)]
    b = [b.numpy() for b, _ in gen.flow(x, np.arange(20), batch_size=6, seed=2)._pass_fn(1)]
    got = np.sort(np.concatenate(a).ravel())
    np.testing.assert_array_equal(got, np.arange(20))  # a permutation of the array, once
    assert all(np.array_equal(u, v) for u, v in zip(a, b))

"""EpochArrays: arrays in memory fed to Keras 3's ``fit`` in an order of their own each epoch,
replayed on resume; ``Run.fit`` feeds NumPy arrays through it.

Why it exists (the first test): Keras 3.15's own array feed repeats one order in every epoch once
a global seed is set, which every kerasdoc run does.
"""

from __future__ import annotations

import shutil

import keras
import numpy as np
import pytest

from kerasdoc.generators.epoch_arrays import EpochArrays, feedable
from kerasdoc.runs import Run

N, BATCH = 20, 8


class Recorder(keras.Model):
    """A functional model that keeps the targets of every training batch it is given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[np.ndarray] = []

    def train_step(self, data):
        self.seen.append(np.asarray(data[1]))
        return super().train_step(data)


def recorder(n_inputs: int = 1) -> Recorder:
    inputs = [keras.Input((2,)) for _ in range(n_inputs)]
    x = inputs[0] if n_inputs == 1 else keras.layers.Concatenate()(inputs)
    model = Recorder(inputs if n_inputs > 1 else inputs[0], keras.layers.Dense(N)(x))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)
    return model


def epoch_orders(model: Recorder, epochs: int) -> list[list[int]]:
    """The row order of each epoch (the targets are the row indices)."""
    per = -(-N // BATCH)
    return [np.concatenate(model.seen[e * per:(e + 1) * per]).tolist() for e in range(epochs)]


def rows():
    return np.random.default_rng(0).normal(size=(N, 2)).astype("float32"), np.arange(N)


def test_keras_own_array_feed_repeats_one_order_under_a_seed():
    x, y = rows()
    keras.utils.set_random_seed(0)
    model = recorder()
    model.fit(x, y, batch_size=BATCH, epochs=3, shuffle=True, verbose=0)
    orders = epoch_orders(model, 3)
    assert orders[0] != list(range(N))  # shuffled ...
    assert orders[0] == orders[1] == orders[2]  # ... but the same way every epoch


def test_every_epoch_is_a_permutation_of_its_own():
    x, y = rows()
    model = recorder()
    model.fit(EpochArrays(x, y, batch_size=BATCH, seed=3), epochs=3, verbose=0)
    orders = epoch_orders(model, 3)
    assert [len(b) for b in model.seen[:3]] == [8, 8, 4]
    assert all(sorted(o) == list(range(N)) for o in orders)
    assert len({tuple(o) for o in orders}) == 3


def test_orders_are_a_function_of_seed_and_epoch_and_resume_replays_them():
    x, y = rows()
    full = recorder()
    full.fit(EpochArrays(x, y, batch_size=BATCH, seed=3), epochs=3, verbose=0)
    again = recorder()
    again.fit(EpochArrays(x, y, batch_size=BATCH, seed=3), epochs=3, verbose=0)
    assert epoch_orders(again, 3) == epoch_orders(full, 3)
    other = recorder()
    other.fit(EpochArrays(x, y, batch_size=BATCH, seed=4), epochs=1, verbose=0)
    assert epoch_orders(other, 1)[0] != epoch_orders(full, 1)[0]
    resumed = recorder()
    feed = EpochArrays(x, y, batch_size=BATCH, seed=3)
    feed.start_epoch = 2
    resumed.fit(feed, epochs=1, verbose=0)
    assert epoch_orders(resumed, 1)[0] == epoch_orders(full, 3)[2]


def test_unshuffled_is_row_order_every_epoch_and_two_inputs_are_fed():
    x, y = rows()
    model = recorder(2)
    model.fit(EpochArrays((x, x[:, ::-1].copy()), y, batch_size=BATCH, shuffle=False),
              epochs=2, verbose=0)
    assert epoch_orders(model, 2) == [list(range(N))] * 2


def test_floats_become_floatx_and_integers_stay():
    feed = EpochArrays(np.zeros((5, 3)), np.arange(5), batch_size=2, shuffle=False)
    xb, yb = next(iter(feed.get_tf_dataset()))
    assert xb.dtype.name == keras.config.floatx() and yb.dtype.name == "int64"
    assert feed.num_batches == 3 and feed.has_partial_batch and feed.partial_batch_size == 1
    assert EpochArrays(np.zeros((4, 1)), np.zeros(4), batch_size=2).partial_batch_size is None


@pytest.mark.parametrize(("x", "y", "batch_size", "match"), [
    (np.array(["a", "b"]), np.arange(2), 1, r"x=array of shape \(2,\) and dtype <U1"),
    (np.zeros((3, 2)), np.arange(4), 1, r"one length.*y=array of shape \(4,\)"),
    (np.zeros((0, 2)), np.arange(0), 1, "at least one row"),
    ([np.zeros((3, 2)), "x"], np.arange(3), 1, r"x=\[array of shape \(3, 2\).*, str\]"),
    (np.zeros((3, 2)), np.arange(3), 0, "batch_size must be >= 1. Received: batch_size=0"),
])
def test_bad_input_is_refused_naming_it(x, y, batch_size, match):
    with pytest.raises(ValueError, match=match):
        EpochArrays(x, y, batch_size=batch_size)


def test_run_fit_feeds_numpy_arrays_through_it_and_leaves_the_rest_to_keras():
    import tensorflow as tf

    x, y = rows()
    with Run(None, batch_size=BATCH, seed=7, tensorboard=False) as run:
        feed, none, kwargs = run._array_feed(x, y, {"shuffle": True, "verbose": 0})
        assert isinstance(feed, EpochArrays) and none is None and kwargs == {"verbose": 0}
        assert (feed.seed, feed.batch_size, feed.shuffle) == (7, BATCH, True)
        for kwargs in ({"class_weight": {0: 1.0}}, {"sample_weight": np.ones(N)},
                       {"shuffle": "batch"}, {"validation_split": 0.2}):
            assert run._array_feed(x, y, kwargs)[0] is x
        assert run._array_feed(tf.constant(x), y, {})[0].__class__ is not EpochArrays
    assert not feedable(x, None) and feedable((x, x), y)
    assert not feedable(x, (y, y)) and not feedable({"a": x}, y)  # Keras' feed takes these


@pytest.mark.parametrize("epoch_known", [True, False])
def test_run_fit_on_arrays_resumes_to_the_uninterrupted_weights(tmp_path, monkeypatch,
                                                                epoch_known):
    """Killed after epoch 1 of 3 and resumed: the resumed epochs see the orders the
    uninterrupted run saw (epoch-keyed), so the weights match (shuffle and dropout on); with
    the feed not told the epoch it resumes at, they differ (the match is not an accident)."""
    x = np.random.default_rng(1).normal(size=(40, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def train(out, epochs, callbacks=()):
        with Run(out, batch_size=8, seed=5, tensorboard=False) as run:
            model = run.build(lambda: keras.Sequential([
                keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                keras.layers.Dropout(0.3), keras.layers.Dense(2, activation="softmax")],
                name="tiny"))
            run.compile(model, keras.optimizers.Adam(0.05),
                        keras.losses.SparseCategoricalCrossentropy())
            run.fit(model, x, y, epochs=epochs, verbose=0, callbacks=list(callbacks))
            return model.get_weights()

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                shutil.copytree(tmp_path / "full" / "backup", tmp_path / "killed" / "backup")

    want = train(tmp_path / "full", 3, [Snapshot()])
    if not epoch_known:  # the feed restarts at epoch 0's order
        monkeypatch.setattr(Run, "_backup_epoch", staticmethod(lambda folder: 0))
    got = train(tmp_path / "killed", 3)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(got, want, strict=True))
    assert diff < 1e-6 if epoch_known else diff > 1e-4


def test_the_arrays_are_held_once_not_copied_again_by_each_iterator():
    """TensorFlow's one copy of the arrays serves every epoch: the default graph rewrites, which
    serialise a pipeline with its captured tensors at every ``iter()`` (a second copy for the
    iterator's life), are off, as in Keras' own array feed."""
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process()
    x = np.random.default_rng(0).random((1024, 128, 128, 1), dtype=np.float32)  # 64 MiB
    y = np.arange(1024) % 4
    warm = EpochArrays(x[:64].copy(), y[:64], batch_size=32)
    for _ in warm.get_tf_dataset():  # TensorFlow's own first-use memory, before measuring
        pass
    base = proc.memory_info().rss
    feed = EpochArrays(x, y, batch_size=32)
    ds = feed.get_tf_dataset()
    assert ds.options().experimental_optimization.apply_default_optimizations is False
    for _ in range(2):
        feed.on_epoch_begin()
        seen = np.concatenate([by.numpy() for _, by in ds])
    grown = proc.memory_info().rss - base
    assert sorted(seen.tolist()) == sorted(y.tolist())
    assert grown < 1.5 * x.nbytes, f"{grown / 2**20:.0f} MiB for {x.nbytes / 2**20:.0f} MiB"

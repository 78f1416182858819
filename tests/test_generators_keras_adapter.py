"""Keras integration of flows: the private Keras API that kerasdoc.generators.keras_adapter relies
on is still there (a Keras release that changes it fails here, saying what changed),
model.fit(flow) reads the flow's own one-pass pipeline, as fit(flow.dataset) does, and a fit reads
its epochs through one iterator (keep_iterator)."""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.generators import ImageDataGenerator
from kerasdoc.generators.keras_adapter import check_keras_internals

PACKAGE = Path(__file__).resolve().parents[1] / "kerasdoc" / "generators"


def test_keras_private_api_the_adapter_uses_is_unchanged():
    problems = check_keras_internals()
    assert not problems, ("Keras changed what kerasdoc/generators/keras_adapter.py relies on; "
                          "update that module: " + " | ".join(problems))


def test_only_the_adapter_module_of_generators_touches_keras_internals():
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.startswith(("keras.src", "tf_keras.src")) for n in names):
                found.append(path.relative_to(PACKAGE).as_posix())
    assert sorted(set(found)) == ["keras_adapter.py"], found


def test_keras_reads_the_flows_own_pipeline():
    x, y = np.zeros((10, 4, 4, 1), np.uint8), np.arange(10) % 2
    plain = ImageDataGenerator().flow(x, y, batch_size=4)
    assert plain.get_tf_dataset() is plain.dataset and plain.num_batches == 3
    seeded = ImageDataGenerator().flow(x, y, batch_size=4, seed=1)
    ds = seeded.get_tf_dataset()
    assert ds is seeded.get_tf_dataset()  # one pipeline for every epoch
    passes = []
    for epoch in (0, 1, 0):
        seeded._epoch_var.assign(epoch)
        passes.append([b.numpy().tolist() for _, b in ds])
    want = [[b.numpy().tolist() for _, b in seeded._pass_fn(e)] for e in (0, 1)]
    assert passes == [want[0], want[1], want[0]] and want[0] != want[1]


# ---------------------------------------------------------------- one iterator for a whole fit
class _Seen(keras.Model):
    """A model that keeps the targets of every training batch (the targets are row ids)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list = []

    def train_step(self, data):
        self.seen.append(np.asarray(data[1]).ravel().tolist())
        return super().train_step(data)


def _seen_model(shape, steps_per_execution: int = 1) -> _Seen:
    inputs = keras.Input(shape)
    model = _Seen(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    model.compile("sgd", "mse", run_eagerly=True, steps_per_execution=steps_per_execution)
    return model


@pytest.fixture
def iterators_made(monkeypatch):
    """How many iterators of tf.data datasets are made (``iter(dataset)``)."""
    made = []
    original = tf.data.Dataset.__iter__

    def counted(self):
        made.append(type(self).__name__)
        return original(self)

    monkeypatch.setattr(tf.data.Dataset, "__iter__", counted)
    return made


def _rows(n=10):
    return np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1), np.arange(n, dtype=np.float32)


def test_fit_reads_every_epoch_through_one_iterator(iterators_made):
    x, y = _rows()
    gen = ImageDataGenerator(width_shift_range=0.2)
    flow = gen.flow(x, y, batch_size=4, seed=3)
    model = _seen_model((1, 1, 1))
    model.fit(flow, epochs=3, verbose=0)
    assert len(iterators_made) == 1 and flow._passes_run_on
    # ... and the epochs are the passes of epochs 0, 1, 2, as one iterator per epoch gave them
    want = []
    for epoch in range(3):
        flow._epoch_var.assign(epoch)
        want += [b.numpy().tolist() for _, b in flow._epoch_pass]
    assert model.seen == want and len(want) == 9
    assert sorted(sum(want[:3], [])) == list(range(10)) and want[:3] != want[3:6]
    # Keras' own feed of the same pipeline: two iterators an epoch (one thrown away)
    iterators_made.clear()
    _seen_model((1, 1, 1)).fit(flow.dataset, epochs=3, verbose=0, shuffle=False)
    assert len(iterators_made) >= 6


def test_a_resumed_fit_reads_the_passes_of_its_epochs(iterators_made):
    x, y = _rows()
    full, resumed = (ImageDataGenerator().flow(x, y, batch_size=4, seed=5) for _ in range(2))
    a = _seen_model((1, 1, 1))
    a.fit(full, epochs=3, verbose=0)
    resumed.start_epoch = 1  # what Run.fit sets for a run resumed after one epoch
    b = _seen_model((1, 1, 1))
    b.fit(resumed, epochs=3, initial_epoch=1, verbose=0)
    assert b.seen == a.seen[3:] and resumed._passes_run_on
    again = _seen_model((1, 1, 1))  # a second fit of the same flow starts at its epoch 0 again
    again.fit(full, epochs=2, verbose=0)
    assert again.seen == a.seen[:6] and len(full._endless) == 1  # its passes built once


def test_array_feed_reads_every_epoch_through_one_iterator(iterators_made):
    from kerasdoc.generators.epoch_arrays import EpochArrays

    x, y = _rows()
    feed = EpochArrays(x.reshape(10, 1), y, batch_size=4, seed=2)
    model = _seen_model((1,))
    model.fit(feed, epochs=3, verbose=0)
    assert len(iterators_made) == 1 and feed.num_batches is None
    orders = [sum(model.seen[3 * e:3 * e + 3], []) for e in range(3)]
    assert all(sorted(o) == list(range(10)) for o in orders) and len(set(map(tuple, orders))) == 3


def test_evaluate_predict_and_validation_get_a_pass_per_call(iterators_made):
    x, y = _rows()
    flow = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    model = _seen_model((1, 1, 1))
    model.evaluate(flow.dataset, verbose=0)  # builds the metrics (an iterator of its own)
    made = {}
    for name, call in (("predict", model.predict), ("evaluate", model.evaluate)):
        out = {}
        for feed in (flow, flow.dataset):
            iterators_made.clear()
            out[feed is flow] = call(feed, verbose=0)
            made[name, feed is flow] = len(iterators_made)
        np.testing.assert_allclose(out[True], out[False], rtol=1e-6)
    # Keras' own feed: one iterator per call and one more when the data ends; the flow: one
    assert made == {("predict", True): 1, ("predict", False): 2,
                    ("evaluate", True): 1, ("evaluate", False): 2}, made
    assert not flow._passes_run_on
    # validation: a pass per epoch, epoch after epoch (a seeded, shuffled validation flow's
    # epoch k is its pass k, as before), the training flow through one iterator
    val = ImageDataGenerator().flow(x, y, batch_size=4, seed=2)
    seen = []

    class Order(keras.callbacks.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            seen.append(int(val._epoch_var.numpy()))

    train = ImageDataGenerator().flow(x, y, batch_size=4, seed=1)
    iterators_made.clear()
    history = model.fit(train, validation_data=val, epochs=2, verbose=0, callbacks=[Order()])
    assert train._passes_run_on and not val._passes_run_on
    assert len(history.history["val_loss"]) == 2 and seen == [0, 0, 0, 1, 1, 1]
    assert len(iterators_made) == 3  # the training data's and one per validation pass


@pytest.mark.parametrize("steps_per_execution, kept", [(2, False), (3, True)])
def test_steps_per_execution_must_divide_the_epoch(steps_per_execution, kept):
    x, y = _rows(12)  # 3 batches of 4
    flow = ImageDataGenerator().flow(x, y, batch_size=4, seed=0)
    model = _seen_model((1, 1, 1), steps_per_execution)
    model.fit(flow, epochs=2, verbose=0)
    assert flow._passes_run_on is kept
    assert sorted(sum(model.seen[:3], [])) == list(range(12))  # an epoch is one whole pass
    assert sorted(sum(model.seen[3:], [])) == list(range(12))


def test_a_fit_with_steps_per_epoch_of_its_own_is_left_to_keras():
    x, y = _rows()
    flow = ImageDataGenerator().flow(x, y, batch_size=4, seed=0)
    model = _seen_model((1, 1, 1))
    model.fit(flow, epochs=2, steps_per_epoch=2, verbose=0)
    assert not flow._passes_run_on and len(model.seen) == 4


@pytest.mark.filterwarnings("ignore:Your input ran out of data")  # Keras counting the pass
def test_a_pass_of_another_length_than_len_flow_is_counted_by_keras():
    from kerasdoc.generators.flow import Flow

    x, y = _rows(6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)  # 3 batches, but len(flow) == 5
    flow = Flow(ds, samples=10, batch_size=2)
    assert len(flow) == 5 and flow.num_batches is None
    model = _seen_model((1, 1, 1))
    model.fit(flow, epochs=2, verbose=0)
    assert not flow._passes_run_on and len(model.seen) == 6  # every epoch one whole pass

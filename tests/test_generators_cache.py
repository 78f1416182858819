"""A cached flow (``cache=True``, the rvl-cdip recipe's default) tells Keras its steps per epoch."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
from test_generators import make_folder, tiny_model
from test_keras2_script import CountBatches

from kerasdoc.generators import ImageDataGenerator


@pytest.mark.parametrize("seed", [0, None])
def test_cached_flow_fits_without_running_out_of_data(tmp_path, seed):
    """Its decoded images pass through the decode guard once; unless the guard may skip files,
    the number of batches is known, so ``fit`` neither counts steps nor warns "Your input ran
    out of data" every epoch (it did: the guard's pass had unknown cardinality)."""
    folder = make_folder(tmp_path / "data", {"a": 6, "b": 4, "c": 5})
    flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        folder, (8, 8), "grayscale", batch_size=4, seed=seed, cache=True)
    assert flow.num_batches == len(flow) == 4
    steps = CountBatches()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny_model((8, 8, 1), 3).fit(flow, epochs=3, verbose=0, callbacks=[steps])
    assert steps.per_epoch == [4, 4, 4]
    assert not [w for w in caught if "ran out of data" in str(w.message)]
    seen = np.concatenate([y.numpy().argmax(1) for _, y in flow.dataset])
    assert sorted(seen.tolist()) == [0] * 6 + [1] * 4 + [2] * 5  # every image, once a pass


def test_a_cached_flow_that_may_skip_files_leaves_the_count_to_keras(tmp_path):
    """With ``on_bad="skip"`` a file that passes the header check but fails to decode is dropped
    while the cache fills: the count is not asserted (it would fail the pass)."""
    import cv2

    folder = make_folder(tmp_path / "data", {"a": 3, "b": 3})
    noise = np.random.default_rng(0).integers(0, 255, (16, 16), np.uint8)
    data = bytearray(cv2.imencode(".png", noise)[1].tobytes())
    data[60:120] = bytes(60)  # the compressed pixels, header and trailer intact
    (folder / "a" / "broken.png").write_bytes(bytes(data))
    flow = ImageDataGenerator().flow_from_directory(
        folder, (8, 8), "grayscale", batch_size=2, cache=True, on_bad="skip")
    assert flow.samples == 7 and flow.num_batches is None
    assert sum(len(x) for x, _ in flow.dataset) == 6
    assert [p for p, _ in flow.skipped] == [str(folder / "a" / "broken.png")]


def _noise_folder(root, per_class=7, size=(8, 8)):
    """Noise images whose pixels survive the cache's uint8 rounding: read at their own size
    (no resize), cached and uncached images are the same numbers."""
    import cv2

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            cv2.imwrite(str(root / c / f"{i}.png"), rng.integers(0, 255, size, np.uint8))
    return root


def _augmenting_flow(root, cache, check=True):
    gen = ImageDataGenerator(rescale=1 / 255, rotation_range=20, horizontal_flip=True,
                             width_shift_range=0.2, brightness_range=(0.8, 1.2))
    return gen.flow_from_directory(root, (8, 8), "grayscale", batch_size=4, seed=3,
                                   cache=cache, check=check)


def _pass(flow, epoch):
    return [(x.numpy(), y.numpy()) for x, y in flow._pass_fn(epoch)]


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(xa, xb) and np.array_equal(ya, yb)
                                    for (xa, ya), (xb, yb) in zip(a, b))


@pytest.mark.parametrize("check", [True, False])
def test_a_cached_seeded_flow_gives_each_epoch_the_uncached_flows_batches(tmp_path, check):
    """A cached seeded flow's epoch k is the uncached one's: the same (seed, k) shuffle order and
    augmentation draws, on the decoded images kept after the first pass (exact resume)."""
    root = _noise_folder(tmp_path / "d")
    cached = _augmenting_flow(root, True, check)
    streamed = _augmenting_flow(root, False, check)
    assert cached._pass_fn is not None
    for k in (0, 2):
        want = _pass(streamed, k)
        assert _same(_pass(cached, k), want)
        assert _same(_pass(_augmenting_flow(root, True, check), k), want)  # rebuilt fresh
    assert not _same(_pass(cached, 1), _pass(cached, 2))


def test_a_cached_flow_reads_its_files_in_the_first_epoch_only(tmp_path):
    """After fit's first epoch filled the cache, the image files are gone and the next epochs
    still give epoch k's batches: the pass pipeline Keras reads every epoch keeps one cache."""
    import shutil

    import keras

    root = _noise_folder(tmp_path / "d")
    flow = _augmenting_flow(root, True)
    want = [_pass(_augmenting_flow(root, False), k) for k in range(3)]

    class Remove(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                shutil.rmtree(root)

    tiny_model((8, 8, 1), 2).fit(flow, epochs=3, verbose=0, callbacks=[Remove()])
    assert not root.exists()
    ds = flow.get_tf_dataset()  # the pass pipeline fit read, as Keras reads it each epoch
    for k in range(3):
        flow.start_epoch, flow._epochs_begun = k, 0
        flow.on_epoch_begin()
        assert _same([(x.numpy(), y.numpy()) for x, y in ds], want[k])


def test_a_seeded_cached_flow_that_skipped_a_file_shuffles_the_images_it_kept(tmp_path):
    """An epoch's pass permutes the rows the cache holds (6 of 7 here), not the file count."""
    import cv2

    folder = make_folder(tmp_path / "data", {"a": 3, "b": 3})
    noise = np.random.default_rng(0).integers(0, 255, (16, 16), np.uint8)
    data = bytearray(cv2.imencode(".png", noise)[1].tobytes())
    data[60:120] = bytes(60)
    (folder / "a" / "broken.png").write_bytes(bytes(data))
    flow = ImageDataGenerator().flow_from_directory(
        folder, (8, 8), "grayscale", batch_size=4, cache=True, on_bad="skip", seed=1,
        class_mode="sparse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        epochs = [np.concatenate([y.numpy() for _, y in flow._pass_fn(k)]) for k in range(3)]
    assert [sorted(e.tolist()) for e in epochs] == [[0, 0, 0, 1, 1, 1]] * 3
    values = [np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in flow._pass_fn(k)])
              for k in range(3)]
    assert len({tuple(v) for v in values}) > 1  # reshuffled per epoch


def test_a_seeded_file_cache_shuffles_with_a_buffer_not_a_whole_pass_table(tmp_path):
    """A file cache (a path) is for data larger than memory: its pass must not hold every image
    at once, so it is not epoch-keyed (tf.data's shuffle buffer, as before); a memory cache is."""
    root = _noise_folder(tmp_path / "d")
    on_disk = _augmenting_flow(root, str(tmp_path / "cache"))
    assert on_disk._pass_fn is None and _augmenting_flow(root, True)._pass_fn is not None
    for _ in range(2):  # every image once a pass, read from the file cache after the first
        labels = np.concatenate([y.numpy().argmax(1) for _, y in on_disk.dataset])
        assert sorted(labels.tolist()) == [0] * 7 + [1] * 7
    assert any(p.name.startswith("cache") for p in tmp_path.iterdir())


@pytest.mark.parametrize("budget", [1, 3 * 16 * 16 * 4, 1 << 40])
def test_an_epoch_pass_gives_the_same_batches_whatever_rows_it_gathers_at_once(monkeypatch,
                                                                                budget):
    """A seeded pass over a table in memory (arrays, a filled cache) gathers its rows a few at
    a time (``gather_rows``: one by one for large rows, at most 256): the chunk changes the
    cost, never the pass (epoch 3's order of ``(seed, epoch)``, every row once)."""
    from kerasdoc.generators import pipeline

    x = np.arange(40 * 16 * 16, dtype="float32").reshape(40, 16, 16, 1)
    y = np.arange(40)

    def epoch_pass():
        flow = ImageDataGenerator().flow(x, y, batch_size=8, seed=5)
        ds = flow.get_tf_dataset()
        for _ in range(4):  # Keras begins epochs 0..3: the pass is epoch 3's
            flow.on_epoch_begin()
        assert int(flow._epoch_var.numpy()) == 3
        return [(bx.numpy(), by.numpy()) for bx, by in ds]

    monkeypatch.setattr(pipeline, "GATHER_BYTES", budget)
    rows = pipeline.gather_rows(tf.constant(x))
    assert rows == {1: 1, 3 * 16 * 16 * 4: 3, 1 << 40: 256}[budget]
    got = epoch_pass()
    monkeypatch.setattr(pipeline, "GATHER_BYTES", 1 << 20)  # the default: 256 rows of 1 KB
    want = epoch_pass()
    assert len(got) == 5 and all(a[0].shape == (8, 16, 16, 1) for a in got)
    for (gx, gy), (wx, wy) in zip(got, want, strict=True):
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)
    order = np.concatenate([by for _, by in got])
    assert sorted(order.tolist()) == list(range(40)) and order.tolist() != list(range(40))
    np.testing.assert_array_equal(np.concatenate([bx for bx, _ in got]), x[order])


def test_a_seeded_array_flow_holds_its_images_once():
    """``flow(x, y, seed=...)``: the dataset's slices and each epoch's pass (its table) read one
    tensor copy of ``x``; they were three copies (``x[idx]`` of all rows, the slices' tensor and
    a table gathered from the dataset when the epoch pass was built), and then each iterator
    made one more (``tf.data``'s default rewrites serialise the pipeline with its tensors: this
    test failed run alone, 132 MiB for 64 MiB, and passed in the suite's warmed process)."""
    psutil = pytest.importorskip("psutil")
    proc = psutil.Process()
    x = np.random.default_rng(0).random((1024, 128, 128, 1), dtype=np.float32)  # 64 MiB
    y = np.arange(1024) % 4
    warm = ImageDataGenerator().flow(x[:64].copy(), y[:64], batch_size=32, seed=0)
    for _ in warm.get_tf_dataset():  # TensorFlow's own first-use memory, before measuring
        pass
    base = proc.memory_info().rss
    flow = ImageDataGenerator().flow(x, y, batch_size=32, seed=0)
    ds = flow.get_tf_dataset()
    for d in (ds, flow.dataset):  # no second copy of the table made by each iter() (rewrites)
        assert d.options().experimental_optimization.apply_default_optimizations is False
    flow.on_epoch_begin()
    seen = np.concatenate([by.numpy() for _, by in ds])
    grown = proc.memory_info().rss - base
    assert sorted(seen.tolist()) == sorted(y.tolist())
    assert grown < 1.5 * x.nbytes, f"{grown / 2**20:.0f} MiB for {x.nbytes / 2**20:.0f} MiB"


def test_a_seeded_array_flows_epoch_pass_is_whole_batches_in_the_pass_order():
    """Without augmentation an array flow's epoch pass gathers whole batches from its table;
    they are the rows of epoch k's order (``permute`` of ``flow_seed(seed, "shuffle", k)``),
    batched, as the row-by-row pass gave them."""
    from kerasdoc.generators.flow import flow_seed, permute

    x = np.random.default_rng(0).random((10, 3, 3, 1), dtype=np.float32)
    y = np.arange(10)
    flow = ImageDataGenerator(rescale=0.5).flow(x, y, batch_size=4, seed=5)
    ds = flow.get_tf_dataset()
    for k in range(2):
        flow.on_epoch_begin()
        batches = [(bx.numpy(), by.numpy()) for bx, by in ds]
        order = permute(tf.range(10, dtype=tf.int64), flow_seed(5, "shuffle", k), 10).numpy()
        assert [len(by) for _, by in batches] == [4, 4, 2]
        assert np.concatenate([by for _, by in batches]).tolist() == order.tolist()
        np.testing.assert_array_equal(np.concatenate([bx for bx, _ in batches]), x[order] * 0.5)

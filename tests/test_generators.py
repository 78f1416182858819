"""ImageDataGenerator flows: arrays, folders, archives, label files, data frames, fit / predict."""

from __future__ import annotations

import os
import tarfile
import zipfile
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.generators import RVL_CDIP_CLASSES, Flow, ImageDataGenerator, extract_archive


def make_folder(root: Path, counts: dict[str, int], size=(12, 10), color=False,
                ext=".png") -> Path:
    """``root/<class>/<i>.png`` images whose mean intensity encodes the class index."""
    for ci, (name, n) in enumerate(sorted(counts.items())):
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            val = 20 * ci + i
            shape = (*size, 3) if color else size
            cv2.imwrite(str(d / f"{i:03d}{ext}"), np.full(shape, val, np.uint8))
    return root


def tiny_model(shape, n):
    m = keras.Sequential([keras.Input(shape), keras.layers.Flatten(name="flat"),
                          keras.layers.Dense(n, activation="softmax", name="out")])
    m.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "data", {"a": 6, "b": 4, "c": 5})


def test_flow_from_directory_attributes_and_order(folder):
    f = ImageDataGenerator().flow_from_directory(folder, (8, 8), "grayscale", batch_size=4,
                                                 shuffle=False)
    assert isinstance(f, Flow) and isinstance(f, tf.data.Dataset)
    assert f.class_indices == {"a": 0, "b": 1, "c": 2}
    assert f.samples == 15 and f.num_classes == 3 and f.batch_size == 4 and len(f) == 4
    assert f.filenames[:2] == ["a/000.png", "a/001.png"] and f.filenames[-1] == "c/004.png"
    assert f.classes.tolist() == [0] * 6 + [1] * 4 + [2] * 5
    assert f.image_shape == (8, 8, 1) and isinstance(f.as_dataset(), tf.data.Dataset)
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in f.dataset])
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (15, 8, 8, 1) and x.dtype == np.float32
    # pixel value encodes (class, index): order is the file order, labels are one-hot
    expected = [20 * c + i for c, n in enumerate([6, 4, 5]) for i in range(n)]
    np.testing.assert_allclose(x[:, 0, 0, 0], expected)
    np.testing.assert_array_equal(y.argmax(1), f.classes)
    np.testing.assert_allclose(y.sum(1), 1.0)


@pytest.mark.parametrize("mode,check", [
    ("sparse", lambda y: y.dtype == np.int32 and y.tolist()[:2] == [0, 0]),
    ("categorical", lambda y: y.shape == (4, 3)),
])
def test_class_modes(folder, mode, check):
    f = ImageDataGenerator().flow_from_directory(folder, (4, 4), class_mode=mode, batch_size=4,
                                                 shuffle=False)
    _, y = next(iter(f.dataset))
    assert check(y.numpy())


def test_binary_and_none_class_modes(tmp_path, folder):
    two = make_folder(tmp_path / "two", {"neg": 2, "pos": 3})
    f = ImageDataGenerator().flow_from_directory(two, (4, 4), class_mode="binary", shuffle=False)
    _, y = next(iter(f.dataset))
    assert y.numpy().tolist() == [0, 0, 1, 1, 1] and y.dtype == tf.float32
    with pytest.raises(ValueError, match="binary' needs exactly 2 classes"):
        ImageDataGenerator().flow_from_directory(folder, (4, 4), class_mode="binary")
    f = ImageDataGenerator().flow_from_directory(folder, (4, 4), class_mode=None)
    x = next(iter(f.dataset))
    assert isinstance(x, tf.Tensor) and x.shape == (15, 4, 4, 3)
    assert isinstance(next(f), np.ndarray)  # hand-pulled batches are NumPy, as in Keras 2
    with pytest.raises(ValueError, match="Invalid class_mode"):
        ImageDataGenerator().flow_from_directory(folder, (4, 4), class_mode="onehot")
    with pytest.raises(ValueError, match="Invalid color mode"):
        ImageDataGenerator().flow_from_directory(folder, (4, 4), color_mode="cmyk")


def test_color_modes_and_rescale(tmp_path):
    d = tmp_path / "c"
    (d / "x").mkdir(parents=True)
    img = np.zeros((6, 6, 3), np.uint8)
    img[..., 2] = 255  # red in BGR
    cv2.imwrite(str(d / "x" / "r.png"), img)
    rgb = next(iter(ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        d, (6, 6), "rgb", class_mode=None)))
    np.testing.assert_allclose(rgb[0, 0, 0], [1.0, 0.0, 0.0])
    gray = next(iter(ImageDataGenerator().flow_from_directory(d, (6, 6), "grayscale",
                                                              class_mode=None)))
    assert gray.shape == (1, 6, 6, 1) and abs(float(gray[0, 0, 0, 0]) - 76) <= 1
    kept = next(iter(ImageDataGenerator(grayscale=True).flow_from_directory(
        d, (6, 6), "rgb", class_mode=None)))
    assert kept.shape[-1] == 3 and np.allclose(kept[0, 0, 0], kept[0, 0, 0, 0])


def test_preprocessing_function_runs_before_rescale(folder):
    gen = ImageDataGenerator(rescale=0.5, preprocessing_function=lambda im: im + 10.0)
    x, _ = next(iter(gen.flow_from_directory(folder, (4, 4), "grayscale", shuffle=False)))
    assert float(x[0, 0, 0, 0]) == pytest.approx((0 + 10) * 0.5)


def test_shuffle_is_seeded_and_reshuffles_each_pass(folder):
    gen = ImageDataGenerator()

    def order(flow):
        return np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in flow.dataset]).tolist()

    f1 = gen.flow_from_directory(folder, (4, 4), "grayscale", batch_size=5, seed=3)
    f2 = gen.flow_from_directory(folder, (4, 4), "grayscale", batch_size=5, seed=3)
    first, second = order(f1), order(f1)
    assert first == order(f2)  # same seed, same order
    assert first != second  # a new pass reshuffles
    assert sorted(first) == sorted(second)


def test_stratified_subsets_are_disjoint_and_complete(folder):
    gen = ImageDataGenerator(validation_split=0.4)
    tr = gen.flow_from_directory(folder, (4, 4), subset="training", seed=1)
    va = gen.flow_from_directory(folder, (4, 4), subset="validation")
    assert tr.samples + va.samples == 15
    assert not set(tr.filenames) & set(va.filenames)
    assert sorted(np.bincount(va.classes).tolist()) == [2, 2, 2]  # every class, 40% each
    assert va.shuffle is False and tr.shuffle is True
    with pytest.raises(ValueError, match="needs validation_split > 0"):
        ImageDataGenerator().flow_from_directory(folder, (4, 4), subset="training")
    with pytest.raises(ValueError, match="Invalid subset name"):
        gen.flow_from_directory(folder, (4, 4), subset="test")


def test_fit_evaluate_predict_take_flows_directly_and_order_is_repeatable(folder):
    gen = ImageDataGenerator(rescale=1 / 255, validation_split=0.4, rotation_range=10)
    tr = gen.flow_from_directory(folder, (8, 8), "grayscale", batch_size=4, subset="training")
    va = gen.flow_from_directory(folder, (8, 8), "grayscale", batch_size=4, subset="validation")
    model = tiny_model((8, 8, 1), 3)
    hist = model.fit(tr, validation_data=va, epochs=2, verbose=0, shuffle=False)
    assert len(hist.history["loss"]) == 2 and "val_accuracy" in hist.history
    assert len(model.evaluate(va, verbose=0)) == 2
    p1, p2 = model.predict(va, verbose=0), model.predict(va, verbose=0)
    assert p1.shape == (va.samples, 3)
    np.testing.assert_array_equal(p1, p2)  # no hidden iterator position: same order twice
    # predictions line up with flow.classes (unaugmented validation images are deterministic)
    labels = np.concatenate([y.numpy().argmax(1) for _, y in va.dataset])
    np.testing.assert_array_equal(labels, va.classes)


def test_augmentation_only_on_training_and_reproducible(folder):
    gen = ImageDataGenerator(noise_stddev=20.0, validation_split=0.4)

    def first(flow):
        return next(iter(flow.dataset))[0].numpy()

    va = gen.flow_from_directory(folder, (4, 4), "grayscale", subset="validation")
    a, b = first(va), first(va)
    np.testing.assert_array_equal(a, b)
    assert np.all(a == a[:, :1, :1])  # flat images stay flat: no noise
    tr = gen.flow_from_directory(folder, (4, 4), "grayscale", subset="training", seed=5,
                                 shuffle=False)
    t1, t2 = first(tr), first(tr)
    assert not np.array_equal(t1, t2)  # new noise every epoch
    tr2 = gen.flow_from_directory(folder, (4, 4), "grayscale", subset="training", seed=5,
                                  shuffle=False)
    np.testing.assert_array_equal(first(tr2), t1)  # same seed, same augmentation


def test_flow_arrays(folder):
    x = np.arange(10 * 4 * 4).reshape(10, 4, 4).astype("uint8")
    y = np.arange(10) % 2
    f = ImageDataGenerator(rescale=2.0).flow(x, y, batch_size=3, shuffle=False)
    xb, yb = next(iter(f.dataset))
    assert xb.shape == (3, 4, 4, 1) and f.samples == 10 and len(f) == 4
    np.testing.assert_allclose(xb.numpy()[..., 0], x[:3] * 2.0)
    assert yb.numpy().tolist() == [0, 1, 0] and f.num_classes == 2
    w = ImageDataGenerator().flow(x, y, sample_weight=np.ones(10), batch_size=10, shuffle=False)
    assert len(next(iter(w))) == 3
    with pytest.raises(ValueError, match="should have the same length"):
        ImageDataGenerator().flow(x, y[:5])
    with pytest.raises(ValueError, match="should have rank 4"):
        ImageDataGenerator().flow(np.zeros((3, 4)))


def test_archives_extract_once_and_flow(tmp_path):
    src = make_folder(tmp_path / "src" / "digits" / "train", {"0": 3, "1": 2})
    tgz = tmp_path / "digits.tgz"
    with tarfile.open(tgz, "w:gz") as t:
        t.add(src.parent, arcname="digits")
    zpath = tmp_path / "digits.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for p in sorted(src.rglob("*.png")):
            z.write(p, os.path.relpath(p, src.parent.parent))
    cache = tmp_path / "cache"
    os.environ["KERASDOC_CACHE"] = str(cache)
    try:
        for arc in (tgz, zpath):
            out = extract_archive(arc)
            stamp = (out / ".complete").stat().st_mtime_ns
            assert extract_archive(arc) == out and (out / ".complete").stat().st_mtime_ns == stamp
            f = ImageDataGenerator().flow_from_directory(arc / "digits" / "train", (4, 4),
                                                         shuffle=False)
            assert f.samples == 5 and f.classes.tolist() == [0, 0, 0, 1, 1]
    finally:
        del os.environ["KERASDOC_CACHE"]


def test_flow_from_labelfile_and_dataframe(tmp_path):
    root = make_folder(tmp_path / "r", {"x": 2, "y": 2})
    lf = tmp_path / "labels.txt"
    lf.write_text("y/000.png 1\nx/001.png 0\n\ny/001.png 1\n")
    f = ImageDataGenerator().flow_from_labelfile(lf, root, (4, 4), "grayscale",
                                                 classes=["x", "y"], shuffle=False)
    assert f.filenames == ["y/000.png", "x/001.png", "y/001.png"]
    assert f.classes.tolist() == [1, 0, 1] and f.class_indices == {"x": 0, "y": 1}
    x, _ = next(iter(f.dataset))
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], [20, 1, 21])
    df = {"filename": ["y/000.png", "x/000.png"], "class": ["y", "x"]}
    g = ImageDataGenerator().flow_from_dataframe(df, root, target_size=(4, 4), shuffle=False,
                                                 class_mode="sparse")
    assert g.classes.tolist() == [1, 0] and next(g)[1].tolist() == [1, 0]
    r = ImageDataGenerator().flow_from_dataframe({"f": ["x/000.png"], "v": [2.5]}, root, "f",
                                                 "v", target_size=(4, 4), class_mode="raw")
    assert next(r)[1].tolist() == [2.5]
    only_x = ImageDataGenerator().flow_from_dataframe(df, root, classes=["x"])  # Keras 2: rows
    assert only_x.filenames == ["x/000.png"]  # of other classes are dropped
    with pytest.raises(ValueError, match="no column x_col='file'"):
        ImageDataGenerator().flow_from_dataframe(df, root, x_col="file")


def test_mirrored_strategy_distributes_a_flow(folder):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    f = ImageDataGenerator().flow_from_directory(folder, (4, 4), batch_size=5, shuffle=False)
    dist = strategy.experimental_distribute_dataset(f)
    x, y = next(iter(dist))
    assert x.shape == (5, 4, 4, 3) and y.shape == (5, 3)


# ----------------------------------------------------------------- real data (../shared/data)
@pytest.mark.data
def test_hoda_digits_from_tgz(shared_data):
    # extracted once per machine into the default cache (~/.cache/kerasdoc or $KERASDOC_CACHE)
    gen = ImageDataGenerator(rescale=1 / 255)
    arc = shared_data / "hoda-digits.tgz"
    train = gen.flow_from_directory(arc / "hoda-digits" / "train", (32, 32), "grayscale",
                                    batch_size=64, seed=0)
    valid = gen.flow_from_directory(arc / "hoda-digits" / "valid", (32, 32), "grayscale",
                                    classes=train.class_indices, batch_size=64)
    assert (train.samples, valid.samples) == (16000, 4000)
    assert train.class_indices == {str(i): i for i in range(10)}
    assert valid.classes.tolist() == sorted(valid.classes.tolist())
    assert len(set(valid.classes.tolist())) == 10
    x, y = next(iter(train))
    assert x.shape == (64, 32, 32, 1) and 0.0 <= float(tf.reduce_min(x)) <= float(
        tf.reduce_max(x)) <= 1.0 and y.shape == (64, 10)


@pytest.mark.data
def test_sroie_grayscale_with_augmentation(shared_data):
    gen = ImageDataGenerator(rescale=1 / 255, rotation_range=5, zoom_range=0.1,
                             brightness_range=(0.8, 1.2), noise_stddev=4.0, validation_split=0.25)
    tr = gen.flow_from_directory(shared_data / "sroie-vendors" / "train", (128, 96), "grayscale",
                                 batch_size=8, subset="training", seed=0)
    va = gen.flow_from_directory(shared_data / "sroie-vendors" / "train", (128, 96), "grayscale",
                                 batch_size=8, subset="validation")
    assert set(tr.class_indices) == {"gardenia", "sanyu", "unihakka"}
    assert tr.samples + va.samples == 82 and set(np.unique(va.classes)) == {0, 1, 2}
    x, y = next(iter(tr))
    assert x.shape == (8, 128, 96, 1) and y.shape == (8, 3)


@pytest.mark.data
def test_rvl_cdip_labelfile_top_crop(shared_data):
    root = shared_data / "rvl-cdip-mini"
    f = ImageDataGenerator(rescale=1 / 255).flow_from_labelfile(
        root / "labels" / "val.txt", root, target_size=None, crop="top",
        classes=RVL_CDIP_CLASSES, batch_size=16, shuffle=False)
    assert f.samples == 240 and f.num_classes == 16 and f.image_shape == (256, 256, 3)
    assert np.bincount(f.classes).tolist() == [15] * 16
    x, y = next(iter(f.dataset))
    assert x.shape == (16, 256, 256, 3) and y.numpy().argmax(1).tolist() == [0] * 15 + [1]


def test_cache_keeps_decoded_images_and_still_augments(tmp_path, folder):
    plain = ImageDataGenerator().flow_from_directory(folder, (5, 5), shuffle=False)
    cached = ImageDataGenerator().flow_from_directory(folder, (5, 5), shuffle=False, cache=True)
    ref = np.concatenate([x.numpy() for x, _ in plain.dataset])
    for _ in range(2):
        got = np.concatenate([x.numpy() for x, _ in cached.dataset])
        np.testing.assert_allclose(got, ref, atol=0.5)
    on_disk = ImageDataGenerator(noise_stddev=5.0).flow_from_directory(
        folder, (5, 5), shuffle=False, cache=str(tmp_path / "cache"), seed=0)
    a, b = (np.concatenate([x.numpy() for x, _ in on_disk.dataset]) for _ in range(2))
    assert not np.array_equal(a, b)  # augmentation runs after the cache, every epoch
    assert list(tmp_path.glob("cache*"))


_MIRRORED = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
import keras
import numpy as np
from kerasdoc.generators import ImageDataGenerator
gen = ImageDataGenerator(rescale=1 / 255, rotation_range=5, validation_split=0.25)
tr = gen.flow_from_directory(sys.argv[1], (8, 8), "grayscale", batch_size=4, subset="training")
va = gen.flow_from_directory(sys.argv[1], (8, 8), "grayscale", batch_size=4, subset="validation")
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(name="flat"),
                          keras.layers.Dense(3, activation="softmax", name="out")])
    m.compile("adam", "categorical_crossentropy")
h = m.fit(tr, validation_data=va, epochs=2, verbose=0)
p = m.predict(va, verbose=0)
print("OK", strategy.num_replicas_in_sync, len(h.history["loss"]), p.shape[0], va.samples)
"""


@pytest.mark.slow
def test_fit_under_mirrored_strategy_with_two_cpu_replicas(folder):
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", _MIRRORED, str(folder)], cwd=repo,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(repo)})
    assert out.returncode == 0, out.stderr[-3000:]
    ok = [line for line in out.stdout.splitlines() if line.startswith("OK")][0].split()
    assert ok[1:] == ["2", "2", ok[4], ok[4]]  # 2 replicas, 2 epochs, every sample predicted

"""Keras 2 flow features: class modes, data-frame options, saving, iterator semantics."""

from __future__ import annotations

import numpy as np
import pytest
from test_generators import make_folder

from kerasdoc.generators import ImageDataGenerator


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


def test_iterator_protocol_matches_keras2(folder):
    f = ImageDataGenerator().flow_from_directory(folder, (4, 4), "grayscale", batch_size=2,
                                                 shuffle=False, class_mode="sparse")
    assert len(f) == 3 and f.n == 5 and f.directory == str(folder) and f.target_size == (4, 4)
    x, y = next(f)
    assert isinstance(x, np.ndarray) and x.dtype == np.float32 and y.dtype == np.int32
    assert f.batch_index == 1 and f.total_batches_seen == 1
    x2, y2 = f.next()
    x3, y3 = next(f)  # the last, partial batch of the pass
    assert x3.shape[0] == 1 and f.batch_index == 0
    x4, _ = next(f)  # iteration never stops: the next pass starts over
    np.testing.assert_array_equal(x4, x)
    next(f)
    f.reset()
    np.testing.assert_array_equal(next(f)[0], x)
    np.testing.assert_array_equal(f[1][1], y2)
    with pytest.raises(ValueError, match="Asked to retrieve element 3"):
        f[3]
    assert y.tolist() + y2.tolist() + y3.tolist() == f.classes.tolist()


def test_shuffled_passes_are_seeded_and_reshuffled(folder):
    gen = ImageDataGenerator()
    a = gen.flow_from_directory(folder, (4, 4), "grayscale", batch_size=5, seed=3,
                                class_mode="sparse")
    b = gen.flow_from_directory(folder, (4, 4), "grayscale", batch_size=5, seed=3,
                                class_mode="sparse")
    ya = [next(a)[1].tolist() for _ in range(4)]
    yb = [next(b)[1].tolist() for _ in range(4)]
    assert ya == yb and all(sorted(v) == [0, 0, 0, 1, 1] for v in ya)
    assert len({tuple(next(a)[1]) for _ in range(8)}) > 1  # each pass reshuffles


def test_fit_steps_per_epoch_below_len_and_class_weight(folder):
    import keras

    f = ImageDataGenerator().flow_from_directory(folder, (4, 4), "grayscale", batch_size=2,
                                                 seed=0)
    seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(0)

        def on_train_batch_end(self, batch, logs=None):
            seen[-1] += 1

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(2, activation="softmax")])
    m.compile("sgd", "categorical_crossentropy")
    m.fit(f, steps_per_epoch=2, epochs=3, verbose=0, callbacks=[Count()])
    m.fit(f, epochs=2, verbose=0, callbacks=[Count()])
    assert seen == [2, 2, 2, 3, 3]
    plain = ImageDataGenerator().flow_from_directory(folder, (4, 4), "grayscale",
                                                     batch_size=5, shuffle=False)
    loss = m.evaluate(plain, verbose=0)
    h1 = m.fit(plain, epochs=1, verbose=0, class_weight={0: 5.0, 1: 5.0}).history["loss"][0]
    assert h1 == pytest.approx(5 * loss, rel=1e-4)  # the weights reach the loss


def test_standardisation_in_flows_and_numpy(folder):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (16, 6, 6, 3)).astype("float32")
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    gen.fit(x)
    assert gen.mean.shape == (1, 1, 3) and gen.std.shape == (1, 1, 3)
    batch = next(gen.flow(x, batch_size=16, shuffle=False))
    np.testing.assert_allclose(batch.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(batch.std(axis=(0, 1, 2)), 1, atol=1e-3)
    tensors = next(iter(gen.flow(x, batch_size=16, shuffle=False).dataset)).numpy()
    np.testing.assert_allclose(tensors, batch, atol=1e-5)
    np.testing.assert_allclose(gen.standardize(x.copy()), batch, atol=1e-4)
    zca = ImageDataGenerator(zca_whitening=True)
    with pytest.warns(UserWarning, match="zca_whitening"):
        zca.standardize(x[:1].copy())
    zca.fit(x)
    w = next(zca.flow(x, batch_size=16, shuffle=False)).reshape(16, -1)
    assert abs(np.corrcoef(w[:, :4].T)[0, 1]) < 0.5
    s = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True)
    b = next(s.flow(x, batch_size=4, shuffle=False))
    np.testing.assert_allclose(b.mean(axis=(1, 2, 3)), 0, atol=1e-4)


def test_random_transform_api():
    gen = ImageDataGenerator(rotation_range=30, width_shift_range=0.1, zoom_range=0.2,
                             horizontal_flip=True)
    p1, p2 = gen.get_random_transform((8, 8, 1), seed=1), gen.get_random_transform((8, 8, 1), 1)
    assert p1 == p2 and p1["theta"] != 0 and set(p1) >= {"tx", "ty", "zx", "zy", "shear"}
    x = np.random.default_rng(0).random((8, 8, 1))
    np.testing.assert_allclose(gen.apply_transform(x, {"flip_horizontal": True}), x[:, ::-1])
    assert gen.random_transform(x, seed=2).shape == (8, 8, 1)


def test_numpy_preprocessing_function_gets_arrays(folder):
    def numpy_only(img):
        assert type(img) is np.ndarray
        return np.zeros_like(img) + 7

    gen = ImageDataGenerator(preprocessing_function=numpy_only)
    f = gen.flow_from_directory(folder, (4, 4), batch_size=5, shuffle=False, class_mode=None)
    assert np.all(next(f) == 7) and np.all(next(iter(f.dataset)).numpy() == 7)


def test_dataframe_features(folder, tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"filename": ["a/000.png", "a/001.png", "b/000.png", "gone.png",
                                    "a/000.png"],
                       "class": ["x", ["x", "y"], "y", "x", "x"],
                       "score": [0.5, 1.5, 2.5, 3.5, 0.5], "w": [1, 2, 3, 4, 1]})
    gen = ImageDataGenerator()
    with pytest.warns(UserWarning, match="Found 1 invalid image filename"):
        f = gen.flow_from_dataframe(df, str(folder), y_col="class", weight_col="w",
                                    target_size=(4, 4), batch_size=8, shuffle=False,
                                    drop_duplicates=True)
    x, y, w = next(f)
    assert y.tolist() == [[1, 0], [1, 1], [0, 1]] and w.tolist() == [1, 2, 3]  # multi-hot
    r = gen.flow_from_dataframe(df.iloc[:3], str(folder), y_col="score", class_mode="raw",
                                target_size=(4, 4), shuffle=False)
    _, yr = next(r)
    assert yr.dtype == np.float64 and yr.tolist() == [0.5, 1.5, 2.5]
    m = gen.flow_from_dataframe(df.iloc[:3], str(folder), y_col=["score", "w"],
                                class_mode="multi_output", target_size=(4, 4), shuffle=False)
    _, ym = next(m)
    assert [v.tolist() for v in ym] == [[0.5, 1.5, 2.5], [1, 2, 3]]
    with pytest.raises(TypeError, match="must be a list"):
        gen.flow_from_dataframe(df, str(folder), y_col="score", class_mode="multi_output")
    with pytest.raises(TypeError, match="must be numeric"):
        gen.flow_from_dataframe(df, str(folder), weight_col="class")
    out = tmp_path / "saved"
    out.mkdir()
    s = gen.flow_from_dataframe(df.iloc[:3], str(folder), target_size=(4, 4), color_mode="rgba",
                                save_to_dir=str(out), save_prefix="aug", shuffle=False)
    xs, _ = next(s)
    assert xs.shape == (3, 4, 4, 4) and np.all(xs[..., 3] == 255)
    assert len(list(out.glob("aug_*.png"))) == 3


def test_flow_with_misc_inputs_and_weights():
    x = np.random.default_rng(0).uniform(0, 255, (6, 4, 4, 1))
    misc = np.arange(6.0)
    f = ImageDataGenerator().flow((x, misc), np.arange(6), batch_size=4, shuffle=False,
                                  sample_weight=np.ones(6) * 2)
    (bx, bm), by, bw = next(f)
    assert bx.shape == (4, 4, 4, 1) and bm.tolist() == [0, 1, 2, 3] and bw.tolist() == [2] * 4
    (tx, tm), ty, tw = next(iter(f.dataset))
    assert tm.numpy().tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="same length"):
        ImageDataGenerator().flow((x, misc[:3]), np.arange(6))


def test_pil_interpolation_parity(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    img = (rng.random((60, 44)) * 255).astype(np.uint8)
    (tmp_path / "c").mkdir()
    Image.fromarray(img).save(tmp_path / "c" / "p.png")
    for interp, tol in (("nearest", 0.0), ("bilinear", 0.6), ("bicubic", 1.0),
                        ("lanczos", 1.5), ("box", 1.5)):
        f = ImageDataGenerator().flow_from_directory(tmp_path, (15, 11), "grayscale",
                                                     class_mode=None, interpolation=interp)
        ours = next(f)[0, ..., 0]
        from kerasdoc.generators import img_to_array, load_img

        ref = img_to_array(load_img(tmp_path / "c" / "p.png", color_mode="grayscale",
                                    target_size=(15, 11), interpolation=interp))[..., 0]
        assert np.abs(ours - ref).mean() <= tol, interp


def test_reduced_jpeg_decode_is_close(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    page = cv2.GaussianBlur((rng.random((200, 160)) * 255).astype(np.uint8), (9, 9), 3)
    (tmp_path / "c").mkdir()
    cv2.imwrite(str(tmp_path / "c" / "p.jpg"), page)
    kw = dict(target_size=(40, 32), color_mode="grayscale", class_mode=None,
              interpolation="bilinear")
    full = next(ImageDataGenerator().flow_from_directory(tmp_path, **kw))
    fast = next(ImageDataGenerator().flow_from_directory(tmp_path, reduced_decode=True, **kw))
    assert fast.shape == full.shape and 0 < np.abs(fast - full).mean() < 3.0

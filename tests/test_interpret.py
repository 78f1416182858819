"""Interpretation, heatmaps and the kernel demo (seeds/004)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.interpret import (
    EDGE_KERNEL,
    KEPT_IMAGES,
    DatasetImages,
    Interpretation,
    activation_map,
    apply_kernel,
    grad_cam,
    last_conv_layer,
    plot_heatmap,
    predict_probs,
)


def _interp():
    probs = np.array([[0.9, 0.05, 0.05],   # 0 -> 0
                      [0.1, 0.8, 0.1],     # 0 -> 1
                      [0.2, 0.7, 0.1],     # 0 -> 1
                      [0.1, 0.1, 0.8],     # 1 -> 2
                      [0.05, 0.9, 0.05],   # 1 -> 1
                      [0.6, 0.2, 0.2]])    # 2 -> 0
    targets = np.array([0, 0, 0, 1, 1, 2])
    losses = -np.log(probs[np.arange(6), targets])
    return Interpretation(probs, targets, losses, ["a", "b", "c"])


def test_confusion_most_confused_top_losses():
    it = _interp()
    np.testing.assert_array_equal(it.confusion_matrix(), [[1, 2, 0], [0, 1, 1], [1, 0, 0]])
    assert it.most_confused() == [("a", "b", 2), ("b", "c", 1), ("c", "a", 1)]
    assert it.most_confused(min_val=2) == [("a", "b", 2)]
    losses, idx = it.top_losses(2)
    assert idx.tolist() == [1, 3]  # p(true) 0.1 twice: stable order
    np.testing.assert_allclose(losses, [-np.log(0.1)] * 2)
    assert it.error_rate() == pytest.approx(4 / 6)
    rep = it.classification_report(as_dict=True)
    assert rep["a"]["recall"] == pytest.approx(1 / 3)
    assert "precision" in it.classification_report()


def _tiny_model():
    inp = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inp)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(3, name="logits")(x)
    return keras.Model(inp, keras.layers.Activation("softmax", name="predictions")(x))


def test_from_model_arrays_and_dataset_agree(tmp_path):
    m = _tiny_model()
    rng = np.random.default_rng(0)
    x, y = rng.random((20, 8, 8, 1)).astype("float32"), np.arange(20) % 3
    a = Interpretation.from_model(m, (x, y), ["a", "b", "c"], batch_size=7)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(6)
    b = Interpretation.from_model(m, ds, ["a", "b", "c"])
    np.testing.assert_allclose(a.probs, b.probs, rtol=1e-5)
    np.testing.assert_allclose(a.losses, -np.log(a.probs[np.arange(20), y]), rtol=1e-6)
    assert a.confusion_matrix().sum() == 20
    for path in (a.plot_top_losses(4, tmp_path / "top.png", heatmap=True),
                 a.plot_confusion_matrix(tmp_path / "cm.png")):
        assert path.stat().st_size > 1000
    with pytest.raises(ValueError, match="2 class names for a model with 3 outputs"):
        Interpretation.from_model(m, (x, y), ["a", "b"])
    with pytest.raises(ValueError, match="differ in length"):
        Interpretation.from_model(m, (x, y[:5]))


def test_predict_probs_equals_predict_and_traces_nothing(caplog):
    rng = np.random.default_rng(1)
    x = rng.random((11, 8, 8, 1))  # float64, as model.predict takes it
    models = [_tiny_model() for _ in range(6)]
    want = models[0].predict(x, verbose=0)
    for m in models:  # six models: model.predict would have printed "retracing" at the fifth
        got = predict_probs(m, x, batch_size=4)
        assert got.shape == (11, 3) and got.dtype == np.float32
        np.testing.assert_allclose(got, want if m is models[0] else got, rtol=1e-5, atol=1e-6)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
    assert predict_probs(models[0], x[:0]).shape == (0, 3)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        predict_probs(models[0], x, batch_size=0)


def test_from_a_dataset_holds_one_batch_and_the_images_the_plots_use(tmp_path):
    # a Persian OCR validation set at 352 px is ~15 GB of float32: a dataset is read one batch
    # at a time, and only its first and highest-loss images are kept; others are read again
    m = _tiny_model()
    rng = np.random.default_rng(2)
    x, y = rng.random((50, 8, 8, 1)).astype("float32"), np.arange(50) % 3
    a = Interpretation.from_model(m, (x, y))
    reads = []

    def counted(t):
        reads.append(1)
        return t

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(7).map(
        lambda xb, yb: (tf.numpy_function(counted, [xb], tf.float32), yb))
    b = Interpretation.from_model(m, ds)
    np.testing.assert_allclose(b.probs, a.probs, rtol=1e-5)
    np.testing.assert_allclose(b.losses, a.losses, rtol=1e-5)
    assert isinstance(b.images, DatasetImages) and len(b.images) == 50
    _, top = a.top_losses(KEPT_IMAGES)
    assert set(b.images.kept) == {0, *top.tolist()}  # the plots' images, nothing more
    assert all(im.base is None for im in b.images.kept.values())  # copies, not batch views
    n = len(reads)  # 8 batches, read once
    for i in (0, int(top[0]), int(top[-1]), -50):
        np.testing.assert_array_equal(b.images[i], x[i])
    assert len(reads) == n  # kept: no second pass
    others = [i for i in range(50) if i not in b.images.kept][:3]
    for got, i in zip(b.images.take(others), others):
        np.testing.assert_array_equal(got, x[i])
    assert 0 < len(reads) - n <= 8  # one more pass, stopped at the last image wanted
    assert b.plot_top_losses(KEPT_IMAGES + 2, tmp_path / "top.png").stat().st_size > 1000
    with pytest.raises(IndexError, match="image index 50 out of range for 50 images"):
        b.images[50]
    short = DatasetImages(tf.data.Dataset.from_tensor_slices((x[:5], y[:5])).batch(2), 50, {})
    with pytest.raises(ValueError, match="gave 5 images on another pass, expected 50"):
        short[40]
    with pytest.raises(ValueError, match="batches without labels"):
        Interpretation.from_model(m, tf.data.Dataset.from_tensor_slices(x).batch(4))


def test_activation_map_is_the_channel_mean():
    m = _tiny_model()
    img = np.random.default_rng(1).random((8, 8, 1)).astype("float32")
    acts = np.asarray(keras.Model(m.input, m.get_layer("conv").output)(img[None]))[0]
    assert last_conv_layer(m) == "conv"
    np.testing.assert_allclose(activation_map(m, img), acts.mean(-1), rtol=1e-5)


def test_grad_cam_finds_the_region_that_drives_the_class():
    # conv = identity on the pixel; class 1's logit = the mean activation; only the top-left
    # quadrant of the image is bright, so Grad-CAM must peak there.
    inp = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Conv2D(1, 1, use_bias=False, name="conv")(inp)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(2, name="logits")(x)
    m = keras.Model(inp, keras.layers.Activation("softmax", name="predictions")(x))
    m.get_layer("conv").set_weights([np.ones((1, 1, 1, 1))])
    m.get_layer("logits").set_weights([np.array([[-1.0, 1.0]]), np.zeros(2)])
    img = np.zeros((8, 8, 1), "float32")
    img[:4, :4] = 1.0
    cam = grad_cam(m, img, class_index=1)
    assert cam.max() == pytest.approx(1.0)
    assert cam[:4, :4].min() == pytest.approx(1.0) and cam[4:, 4:].max() == 0.0
    assert grad_cam(m, img, class_index=0).max() == 0.0  # class 0 is hurt by the bright region
    with pytest.raises(ValueError, match="class_index must be in"):
        grad_cam(m, img, class_index=5)


def test_kernel_demo_matches_a_manual_correlation(tmp_path):
    np.testing.assert_allclose(EDGE_KERNEL[0], [0, -5 / 18, 1 / 6])
    rng = np.random.default_rng(2)
    img = rng.random((7, 9, 3)).astype("float32")
    out = apply_kernel(img, path=tmp_path / "edge.png")
    manual = np.zeros((5, 7))
    for i in range(5):
        for j in range(7):
            manual[i, j] = (img[i:i + 3, j:j + 3, :] * EDGE_KERNEL[:, :, None]).sum()
    np.testing.assert_allclose(out, manual, rtol=1e-5, atol=1e-6)
    assert (tmp_path / "edge.png").stat().st_size > 100
    with pytest.raises(ValueError, match="smaller than the kernel"):
        apply_kernel(np.zeros((2, 2)))


def test_plot_heatmap(tmp_path):
    p = plot_heatmap(np.zeros((8, 8, 3)), np.eye(4), tmp_path / "hm.png", title="t")
    assert p.stat().st_size > 1000

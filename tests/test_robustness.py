"""kerasdoc.robustness: breakouts, the detector-gated pipeline, the oracle, training glue, data."""

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from kerasdoc import robustness as R
from kerasdoc.generators.sources import load_tfds_arrays
from kerasdoc.runs import Run


def pool(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.uint8)
    y = np.arange(n) % 10
    for i in range(n):
        r = int(rng.integers(5, 12))
        x[i, r:r + 10, 10 + y[i]:14 + y[i]] = 255
    return x, y


def test_breakouts_follow_the_paper_shares_and_are_seeded():
    x, y = pool()
    bos = R.make_breakouts(x, y, n=100, seed=0)
    assert [b.name for b in bos] == list(R.BREAKOUTS)
    assert bos[0].counts() == {"identity": 100}
    assert bos[3].counts() == {"identity": 50, "fog": 50}
    assert bos[4].counts() == {"identity": 25, "shot_noise": 25, "motion_blur": 25, "fog": 25}
    b = bos[2]
    assert b.images.shape == (100, 28, 28, 1) and b.images.dtype == np.float32
    np.testing.assert_array_equal(b.images[~b.distorted], b.clean[~b.distorted])
    assert all((b.images[i] != b.clean[i]).any() for i in np.flatnonzero(b.distorted))
    again = R.make_breakouts(x, y, n=100, seed=0)[2]
    np.testing.assert_array_equal(again.images, b.images)
    np.testing.assert_array_equal(again.labels, b.labels)
    assert not np.array_equal(R.make_breakouts(x, y, n=100, seed=1)[2].labels, b.labels)
    assert len(set(map(tuple, R.make_breakout(x, y, {"identity": 1.0}, n=200).clean.reshape(
        200, -1)))) == len({tuple(v) for v in R.as_unit_images(x).reshape(200, -1)})
    with pytest.raises(ValueError, match="sum to 1"):
        R.make_breakout(x, y, {"identity": 0.5, "fog": 0.6})
    assert R.PAPER_TABLE1["100% clean"] == 99.0 and R.PAPER_TABLE2[b.name] == 84.06


def _fixed_models():
    """A classifier, a detector flagging images brighter than 0.2 on average, a denoiser that
    returns black images."""
    inp = keras.Input((28, 28, 1), name="image")
    logits = keras.layers.Dense(10, activation="softmax", name="predictions",
                                kernel_initializer=keras.initializers.RandomNormal(seed=1))(
        keras.layers.Flatten(name="flatten")(inp))
    clf = keras.Model(inp, logits, name="clf")
    d_in = keras.Input((28, 28, 1), name="image")
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    det = keras.Model(d_in, dense(keras.layers.GlobalAveragePooling2D(name="gap")(d_in)))
    dense.set_weights([np.array([[-50.0, 50.0]]), np.array([10.0, -10.0])])
    n_in = keras.Input((28, 28, 1), name="image")
    den = keras.Model(n_in, keras.layers.Rescaling(0.0, name="black")(n_in))
    return clf, det, den


def test_detector_gated_pipeline_denoises_only_flagged_images():
    clf, det, den = _fixed_models()
    x = np.zeros((6, 28, 28, 1), np.float32)
    x[:3] = 0.5  # bright: flagged
    x[3:, 5:9, 5:9] = 1.0  # dark on average: kept
    out = R.run_pipeline(clf, det, den, x)
    assert out["flagged"].tolist() == [True] * 3 + [False] * 3
    black = int(np.argmax(clf(np.zeros((1, 28, 28, 1)))))
    assert out["after"][:3].tolist() == [black] * 3
    np.testing.assert_array_equal(out["after"][3:], out["before"][3:])
    np.testing.assert_array_equal(out["denoised"][:3], 0)
    np.testing.assert_array_equal(out["denoised"][3:], x[3:])
    none = R.run_pipeline(clf, det, den, x, threshold=1.01)
    np.testing.assert_array_equal(none["after"], none["before"])


def test_oracle_touches_only_wrong_images_and_never_lowers_accuracy():
    clf, det, den = _fixed_models()
    x = np.random.default_rng(0).uniform(0, 1, (40, 28, 28, 1)).astype("float32")
    before = R.predict_batches(clf, x).argmax(-1)
    labels = before.copy()
    labels[:20] = (labels[:20] + 1) % 10  # the first 20 are wrong
    out = R.oracle_pipeline(clf, den, x, labels)
    assert out["flagged"].tolist() == [True] * 20 + [False] * 20
    np.testing.assert_array_equal(out["after"][20:], before[20:])
    assert (out["after"] == labels).mean() >= (before == labels).mean()


def test_evaluate_breakouts_rows():
    clf, det, den = _fixed_models()
    x, y = pool()
    rows = R.evaluate_breakouts(clf, det, den, R.make_breakouts(x, y, n=40, seed=0))
    assert len(rows) == 5 and rows[0]["paper_before"] == 99.0
    for r in rows:
        assert 0 <= r["before"] <= 100 and r["after_oracle"] >= r["before"]
        assert 0 <= r["detector_accuracy"] <= 100
    assert rows[0]["distorted_flagged_pct"] is None


def test_distortion_dataset_labels_match_the_images():
    x, _ = pool(64)
    ds = R.distortion_dataset(x, ["brightness"], batch_size=32, seed=0)
    img, lab = next(iter(ds))
    img, lab = img.numpy(), lab.numpy()
    clean = R.as_unit_images(x)
    assert img.shape == (32, 28, 28, 1) and set(lab.tolist()) == {0, 1}
    assert all(img[i].min() == 0 for i in np.flatnonzero(lab == 0))
    assert all(img[i].min() >= 0.5 for i in np.flatnonzero(lab == 1))
    fx, fy = R.fixed_distortion_set(x, ["brightness"], seed=0)
    np.testing.assert_array_equal(fx[fy == 0], clean[fy == 0])


def test_denoiser_training_writes_model_card_and_history(tmp_path):
    x, _ = pool(64)
    with Run(tmp_path, batch_size=32, seed=0, tensorboard=False) as run:
        den, hist = R.train_denoiser(run, x, epochs=1, validation=x[:16],
                                     folder=tmp_path / "den", filters=(4, 4))
    assert len(hist["loss"]) == 1 and "val_loss" in hist
    assert (tmp_path / "den" / "model.keras").is_file()
    assert (tmp_path / "den" / "model.kerasdoc.json").is_file()
    assert den.output_shape == (None, 28, 28, 1)
    assert set(R.denoiser_mse(den, x[:8])) == {"motion_blur", "shot_noise"}


@pytest.mark.slow
def test_detector_and_classifier_training(tmp_path):
    x, y = pool(96)
    with Run(tmp_path, batch_size=32, seed=0, tensorboard=False) as run:
        det, _ = R.train_detector(run, x, epochs=1, folder=tmp_path / "det", width=4)
        clf, _ = R.train_classifier(run, x, y, epochs=1, folder=tmp_path / "clf", width=4)
    for sub in ("det", "clf"):
        assert (tmp_path / sub / "model.keras").is_file()
    assert det.output_shape == (None, 2) and clf.output_shape == (None, 10)


def test_figures(tmp_path):
    x = R.as_unit_images(pool(12)[0])
    p5 = R.plot_reconstructions(x, x * 0.5, x, tmp_path / "fig5.png", k=6)
    p6 = R.plot_loss_curve({"loss": [0.3, 0.2, 0.1], "val_loss": [0.3, 0.25, 0.2]},
                           tmp_path / "fig6.png")
    assert p5.stat().st_size > 3000 and p6.stat().st_size > 3000


def test_warp_and_mnist_style_and_digit_folders(tmp_path):
    import cv2

    w = R.warp_digits(pool(2)[0], size=224)
    assert w.shape == (2, 224, 224, 3) and np.allclose(w[..., 0], w[..., 2])
    tall = np.zeros((40, 10), np.uint8)
    tall[2:38, 3:7] = 255
    m = R.mnist_style(tall)
    rows = np.nonzero(m.max(1))[0]
    assert m.shape == (28, 28) and rows.max() - rows.min() + 1 == 20  # ink box 20 px high
    for c in ("0", "1"):
        (tmp_path / c).mkdir()
        for i in range(3):
            cv2.imwrite(str(tmp_path / c / f"{i}.png"), tall)
    x, y, names = R.load_digit_folder(tmp_path)
    assert x.shape == (6, 28, 28, 1) and y.tolist() == [0, 0, 0, 1, 1, 1] and names == ["0", "1"]
    with pytest.raises(FileNotFoundError, match="expected class folders"):
        R.load_digit_folder(tmp_path / "none")


@pytest.mark.parametrize("name,shape", [("mnist_corrupted/fog", (28, 28, 1)),
                                        ("svhn_cropped", (32, 32, 3))])
def test_tfds_arrays_with_mock_data(name, shape):
    with tfds.testing.mock_data(num_examples=7):
        x, y, names = load_tfds_arrays(name, "test")
        assert x.shape == (7, *shape) and x.dtype == np.uint8 and len(y) == 7
        assert names[:2] == ["0", "1"]
        assert len(load_tfds_arrays(name, "test", limit=3)[1]) == 3
    with pytest.raises(ValueError, match="unknown MNIST-C corruption"):
        load_tfds_arrays("mnist_corrupted/sparkle")


def test_pipeline_exports_as_one_savedmodel_and_runs_on_a_folder(tmp_path):
    import cv2
    import tensorflow as tf

    clf, det, den = _fixed_models()
    dark = np.zeros((28, 28), np.uint8)
    dark[5:9, 5:9] = 255
    bright = np.full((20, 20), 128, np.uint8)  # another size: the spec resizes it
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), dark)
    cv2.imwrite(str(folder / "b.png"), bright)
    rows = R.classify_folder(folder, clf, det, den, class_names=list("abcdefghij"))
    assert [r["flagged"] for r in rows] == [False, True]
    assert rows[0]["class_id"] == rows[0]["class_id_before"]
    assert rows[1]["class_name"] == "abcdefghij"[rows[1]["class_id"]]
    path = R.export_pipeline(clf, det, den, "pipe", tmp_path / "saved",
                             class_names=list("abcdefghij"))
    assert path.name == "1" and (path / "assets.extra" / "kerasdoc.json").is_file()
    served = tf.saved_model.load(str(path)).signatures["serving_default"](
        images=tf.constant([(folder / n).read_bytes() for n in ("a.png", "b.png")]))
    assert served["flagged"].numpy().tolist() == [False, True]
    assert served["class_ids"].numpy().tolist() == [r["class_id"] for r in rows]
    assert served["class_ids_before"].numpy().tolist() == [r["class_id_before"] for r in rows]
    assert served["probabilities"].shape == (2, 10)
    with pytest.raises(FileNotFoundError, match="no image files"):
        R.classify_folder(tmp_path / "saved" / "none", clf, det, den)
    with pytest.raises(FileExistsError):
        R.export_pipeline(clf, det, den, "pipe", tmp_path / "saved", version=1)


def test_short_training_models_use_fast_batchnorm_statistics():
    """At Keras' momentum 0.99 a few hundred steps leave the moving variance near its initial
    1.0 while digit features vary by ~0.01: inference then predicted one class for everything."""
    from kerasdoc.models import get_model

    for name in ("robust_cnn", "distortion_detector"):
        bns = [la for la in get_model(name).layers
               if isinstance(la, keras.layers.BatchNormalization)]
        assert bns and all(b.momentum == 0.9 for b in bns), name


@pytest.mark.slow
def test_svhn_comparison_and_figures_7_to_9(tmp_path):
    x, y = pool(60)
    x32 = R.to_svhn_shape(x)
    assert x32.shape == (60, 32, 32, 3)
    res = R.svhn_comparison(x32, y, x32, y, seeds=(0,), epochs=1, n_train=40, n_test=20)
    assert [r["model"] for r in res["runs"]] == ["svhn_cnn", "svhn_denoising_cnn"]
    assert all(0 <= r["test_accuracy"] <= 100 and len(r["correct_probability"]) == 20
               and "val_loss" in r["history"] for r in res["runs"])
    assert set(res["summary"]) == {"svhn_cnn", "svhn_denoising_cnn"}
    paths = R.plot_svhn(res, tmp_path)
    assert [p.name for p in paths] == ["fig7_svhn_curves.png", "fig8_svhn_probabilities.png",
                                       "fig9_svhn_scores.png"]


def test_conv_denoiser_linear_output_is_clipped_at_inference_only_and_reloads(tmp_path):
    import keras

    from kerasdoc.models import get_model
    from kerasdoc.models.weights import load_keras_model

    m = get_model("conv_denoiser", input_shape=(16, 16, 1), filters=(4, 4))
    # Large weights on the last layer push raw outputs outside [0, 1].
    last = m.get_layer("reconstruction_linear")
    last.set_weights([w * 0 + 5.0 for w in last.get_weights()])
    x = np.random.default_rng(0).random((2, 16, 16, 1)).astype("float32")
    raw = keras.ops.convert_to_numpy(m(x, training=True))
    served = keras.ops.convert_to_numpy(m(x))
    assert raw.max() > 1.0 and served.min() >= 0.0 and served.max() <= 1.0
    np.testing.assert_allclose(served, np.clip(raw, 0, 1), atol=1e-5)
    m.save(tmp_path / "d.keras")
    again = load_keras_model(tmp_path / "d.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), served, atol=1e-6)
    sig = get_model("conv_denoiser", input_shape=(16, 16, 1), output_activation="sigmoid")
    assert sig.get_layer("reconstruction").activation.__name__ == "sigmoid"
    with pytest.raises(ValueError, match="output_activation must be"):
        get_model("conv_denoiser", output_activation="relu")

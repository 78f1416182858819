"""The private Keras API that kerasdoc.keras_internals relies on is still there (a Keras release
that changes it fails here, saying what changed), and its in-memory weights file loads."""

from __future__ import annotations

import keras
import numpy as np

from kerasdoc.keras_internals import check_keras_internals, weights_h5_bytes


def test_keras_private_api_the_internals_module_uses_is_unchanged():
    problems = check_keras_internals()
    assert not problems, ("Keras changed what kerasdoc/keras_internals.py relies on; update that "
                          "module: " + " | ".join(problems))


def test_weights_h5_bytes_loads_as_a_weights_file(tmp_path):
    def tiny():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])

    model, fresh = tiny(), tiny()
    data = weights_h5_bytes(model)
    assert data is not None
    (tmp_path / "w.weights.h5").write_bytes(data)
    fresh.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_build_before_fit_traces_the_step_once_and_trains_the_same():
    import tensorflow as tf

    from kerasdoc.keras_internals import build_before_fit

    traces = []

    class Counting(keras.Sequential):
        def train_step(self, data):
            traces.append(1)
            return super().train_step(data)

    x = np.random.default_rng(0).random((24, 5)).astype("float32")
    y = np.arange(24) % 3

    def trained(prebuild, data):
        keras.utils.set_random_seed(0)
        m = Counting([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        if prebuild:
            assert build_before_fit(m, *data) is True
            assert m.optimizer.built and build_before_fit(m, *data) is False  # built: no-op
        traces.clear()
        if len(data) == 2:
            m.fit(*data, epochs=2, batch_size=8, verbose=0)
        else:
            m.fit(data[0], epochs=2, verbose=0)
        return len(traces), m.get_weights()

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    for data in ((x, y), (ds,)):
        n_plain, w_plain = trained(False, data)
        n_built, w_built = trained(True, data)
        assert (n_plain, n_built) == (2, 1)  # Keras 3.15 + TF 2.21: traced twice without it
        for a, b in zip(w_plain, w_built):
            np.testing.assert_array_equal(a, b)


def test_build_before_fit_leaves_other_data_and_strategy_models_to_keras():
    import tensorflow as tf

    from kerasdoc.keras_internals import build_before_fit

    def model():
        m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        m.compile("adam", "mse")
        return m

    assert build_before_fit(model(), (np.zeros((2, 2)) for _ in range(1))) is False
    assert build_before_fit(model(), np.array(["a", "b"])) is False
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        m = model()
    assert build_before_fit(m, np.zeros((2, 2)), np.zeros((2, 1))) is False
    assert not m.optimizer.built


def _archive(model, traces):
    import tensorflow as tf

    def serve(x):
        traces.append(1)  # runs once per trace of the endpoint
        return {"y": model(x, training=False)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve,
                         input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    return archive


def test_write_export_archive_traces_each_endpoint_once_and_writes_the_same_model(tmp_path):
    import tensorflow as tf

    from kerasdoc.keras_internals import write_export_archive

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    x = np.random.default_rng(0).random((4, 3)).astype("float32")
    plain, ours = [], []
    _archive(model, plain).write_out(str(tmp_path / "plain"), verbose=False)
    archive = _archive(model, ours)
    write_export_archive(archive, str(tmp_path / "ours"))
    assert (len(plain), len(ours)) == (2, 1)
    assert "_filter_and_track_resources" not in vars(archive)  # the archive is left as it was
    a, b = (tf.saved_model.load(str(tmp_path / n)) for n in ("plain", "ours"))
    assert sorted(b.signatures) == sorted(a.signatures) == ["serve", "serving_default"]
    want = model(x).numpy()
    for loaded in (a, b):
        np.testing.assert_allclose(loaded.signatures["serving_default"](x=x)["y"], want,
                                   rtol=1e-6)
        np.testing.assert_allclose(loaded.serve(x)["y"], want, rtol=1e-6)
    assert len(b.variables) == len(a.variables) == 2


def test_write_export_archive_writes_a_strategy_trained_model(tmp_path):
    import tensorflow as tf

    from kerasdoc.keras_internals import write_export_archive

    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
        model.compile("adam", "mse")
    x = np.random.default_rng(1).random((8, 3)).astype("float32")
    model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    traces = []
    write_export_archive(_archive(model, traces), str(tmp_path / "m"))
    assert len(traces) == 1
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    np.testing.assert_allclose(loaded.serve(x)["y"], model.predict(x, verbose=0), rtol=1e-6)

"""kerasdoc.training: groups, freeze, discriminative rates, one-cycle, lr_find, transfer, resize."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.models.resnet import build_resnet
from kerasdoc.training import (
    DiscriminativeAdam,
    compile_discriminative,
    fit_one_cycle,
    freeze,
    layer_groups,
    lr_find,
    lr_range,
    lr_suggestions,
    one_cycle_values,
    transfer_weights,
    unfreeze,
    with_input_size,
)


def _small_resnet(n_classes=4, size=32):
    return build_resnet((size, size, 3), n_classes, blocks=(1, 1, 1, 1), widths=(8, 8, 16, 16))


def _tiny(n_classes=4, size=32):
    """Four weighted layers named like a ResNet with the fastai head: quick to trace."""
    inp = keras.Input((size, size, 3), name="image")
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="stem_1_conv")(inp)
    x = keras.layers.BatchNormalization(name="stem_1_bn")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="stage3_block1_1_conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="head_avgpool")(x)
    x = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(inp, keras.layers.Activation("softmax", name="predictions")(x))


def _data(n=64, size=32, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    x = rng.random((n, size, size, 3)).astype("float32") * 0.2
    for c in range(n_classes):  # a learnable signal: a bright quadrant per class
        r, q = divmod(c, 2)
        x[y == c, r * size // 2:(r + 1) * size // 2, q * size // 2:(q + 1) * size // 2] += 0.8
    return x, y


def test_lr_range_like_fastai():
    np.testing.assert_allclose(lr_range(slice(1e-6, 1e-4), 3), [1e-6, 1e-5, 1e-4])
    assert lr_range(slice(1e-2), 3) == [1e-3, 1e-3, 1e-2]
    assert lr_range(3e-3, 2) == [3e-3, 3e-3]
    with pytest.raises(ValueError, match="Expected 3 learning rates"):
        lr_range([1e-3, 1e-2], 3)
    with pytest.raises(ValueError, match="> 0"):
        lr_range(slice(0.0, 1e-3), 3)


def test_layer_groups_and_freeze_keep_bn_trainable():
    m = _small_resnet()
    groups = layer_groups(m)
    assert [g[0].name for g in groups] == ["stem_1_conv", "stage3_block1_1_conv", "head_maxpool"]
    freeze(m)
    assert not m.get_layer("stage4_block1_2_conv").trainable
    assert m.get_layer("stage4_block1_2_bn").trainable  # fastai's train_bn
    assert m.get_layer("head_dense1").trainable and m.get_layer("logits").trainable
    frozen_convs = [w for w in m.weights if "conv/kernel" in w.path and not w.trainable]
    assert len(frozen_convs) == 12  # stem + 4 blocks x 2 + 3 projections
    freeze(m, upto=1)  # first body half frozen, second trains
    assert not m.get_layer("stage2_block1_1_conv").trainable
    assert m.get_layer("stage3_block1_1_conv").trainable
    freeze(m, upto="stage4_block1_1_conv")
    assert not m.get_layer("stage3_block1_1_conv").trainable
    assert m.get_layer("stage4_block1_1_conv").trainable
    unfreeze(m)
    assert all(w.trainable for w in m.weights if "moving" not in w.path)
    with pytest.raises(ValueError, match="No layer named 'nope'"):
        freeze(m, upto="nope")
    with pytest.raises(ValueError, match="upto must be a group index"):
        freeze(m, upto=7)


def test_frozen_body_does_not_move_in_training():
    m = _tiny()
    x, y = _data()
    freeze(m)
    kernel = m.get_layer("stem_1_conv").kernel.numpy()
    head = m.get_layer("logits").kernel.numpy()
    fit_one_cycle(m, (x, y), 1, 1e-2, batch_size=32, verbose=0)
    np.testing.assert_array_equal(m.get_layer("stem_1_conv").kernel.numpy(), kernel)
    assert np.abs(m.get_layer("logits").kernel.numpy() - head).max() > 0


def _group_steps(model, before, groups):
    """Median |change| of each group's conv / dense kernels and biases (BN excluded)."""
    out = []
    for g in groups:
        d = [np.abs(w.numpy() - before[w.path]).ravel() for layer in g
             if not isinstance(layer, keras.layers.BatchNormalization)
             for w in layer.trainable_weights]
        out.append(float(np.median(np.concatenate(d))))
    return out


def test_discriminative_rates_move_each_group_at_its_own_rate():
    """MEASURES the rates: after one Adam step every weight moves by ~lr * g / |g| = lr of its
    group, so each group's median |delta w| divided by its group's rate must be ~1, and the
    groups' steps must stand in the ratio 1 : 10 : 100 of slice(1e-5, 1e-3)."""
    m = _small_resnet()
    x, y = _data()
    groups = layer_groups(m)
    rates = compile_discriminative(m, slice(1e-5, 1e-3), wd=0.0, metrics=None)
    np.testing.assert_allclose(rates, [1e-5, 1e-4, 1e-3])
    before = {w.path: w.numpy() for w in m.trainable_weights}
    m.train_on_batch(x, y)
    steps = _group_steps(m, before, groups)
    np.testing.assert_allclose(np.array(steps) / rates, 1.0, rtol=0.05)

    # The same through fit_one_cycle (pct_start=0: its first step is at lr_max): one batch.
    m2 = _tiny()
    before = {w.path: w.numpy() for w in m2.trainable_weights}
    h = fit_one_cycle(m2, (x, y), 1, slice(1e-5, 1e-3), pct_start=0.0, batch_size=64, wd=0.0,
                      metrics=None, verbose=0)
    assert h.one_cycle.lrs == [pytest.approx(1e-3)]
    steps = _group_steps(m2, before, layer_groups(m2))
    # (Adam's epsilon, 1e-5 as in fastai, shortens the step of weights with tiny gradients)
    np.testing.assert_allclose(np.array(steps) / rates, 1.0, rtol=0.1)


def test_discriminative_adam_matches_keras_adam_at_factor_one():
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 5)).astype("float32"), rng.random((16, 1)).astype("float32")

    def run(opt):
        keras.utils.set_random_seed(1)
        m = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, name="d")])
        m.compile(opt, "mse")
        for _ in range(3):
            m.train_on_batch(x, y)
        return m.get_layer("d").kernel.numpy()

    ours = run(DiscriminativeAdam(1e-2, beta_1=0.9, beta_2=0.999, epsilon=1e-7))
    ref = run(keras.optimizers.Adam(1e-2, beta_1=0.9, beta_2=0.999, epsilon=1e-7))
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)
    half = run(DiscriminativeAdam(1e-2, lr_multipliers={"d": 0.0}))
    keras.utils.set_random_seed(1)
    init = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, name="d")])
    np.testing.assert_array_equal(half, init.get_layer("d").kernel.numpy())


def test_optimizer_serialises_with_the_model(tmp_path):
    m = _tiny()
    x, y = _data(16)
    compile_discriminative(m, slice(1e-4, 1e-2))
    m.train_on_batch(x, y)
    m.save(tmp_path / "m.keras")
    re = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(re.optimizer, DiscriminativeAdam)
    assert re.optimizer.lr_multipliers["stem_1_conv"] == pytest.approx(0.01)
    assert re.optimizer.lr_multipliers["stage3_block1_1_conv"] == pytest.approx(0.1)
    np.testing.assert_allclose(re(x[:2]), m(x[:2]), rtol=1e-5, atol=1e-6)


def test_one_cycle_values_follow_the_policy():
    lr0, m0 = one_cycle_values(0, 100, 1e-2)
    assert lr0 == pytest.approx(1e-2 / 25) and m0 == pytest.approx(0.95)
    assert one_cycle_values(25, 100, 1e-2) == pytest.approx((1e-2, 0.85))
    lr_end, m_end = one_cycle_values(100, 100, 1e-2)
    assert lr_end == pytest.approx(1e-2 / 1e4) and m_end == pytest.approx(0.95)
    lrs = [one_cycle_values(i, 100, 1.0)[0] for i in range(101)]
    assert np.all(np.diff(lrs[:26]) > 0) and np.all(np.diff(lrs[25:]) < 0)
    with pytest.raises(ValueError, match="pct_start"):
        one_cycle_values(0, 10, 1.0, pct_start=1.5)


def test_fit_one_cycle_schedules_lr_and_beta1_in_the_optimizer():
    m = _tiny()
    x, y = _data(64)
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            opt = self.model.optimizer
            seen.append((float(opt.learning_rate.numpy()), float(opt.beta_1_var.numpy())))

    h = fit_one_cycle(m, (x, y), 2, 1e-2, batch_size=16, pct_start=0.25, verbose=0,
                      callbacks=[Spy()])
    expected = [one_cycle_values(i, 8, 1e-2) for i in range(8)]
    np.testing.assert_allclose(seen, expected, rtol=1e-5)
    assert len(h.history["lr"]) == 2 and h.history["mom"][-1] == pytest.approx(expected[-1][1])
    with pytest.raises(ValueError, match="one array of shape"):
        fit_one_cycle(m, x, 1)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    h2 = fit_one_cycle(m, ds, 1, 1e-3, verbose=0)
    assert len(h2.one_cycle.lrs) == 2


def test_lr_find_restores_weights_and_suggests(tmp_path):
    m = _tiny()
    x, y = _data(128)
    before = [w.numpy() for w in m.weights]
    res = lr_find(m, (x, y), batch_size=16, num_iter=40, start_lr=1e-6, end_lr=10.0,
                  plot_path=tmp_path / "lr.png")
    for w, b in zip(m.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)
    assert res.plot_path.stat().st_size > 1000
    assert 3 <= len(res.lrs) <= 40 and res.lrs[0] == pytest.approx(1e-6)
    assert np.all(np.diff(np.log(res.lrs)) > 0)
    for v in res.suggestions.values():
        assert 1e-7 <= v <= 10
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        lr_find(m, (x, y), start_lr=1.0, end_lr=0.1)


def test_lr_suggestions_on_a_known_curve():
    lrs = np.geomspace(1e-6, 1, 100)
    loss = 2 - np.tanh(np.log10(lrs) + 3)  # steepest descent at 1e-3
    loss[lrs > 0.1] += 5 * (np.log10(lrs[lrs > 0.1]) + 1)  # divergence
    s = lr_suggestions(lrs, loss)
    assert s["steepest"] == pytest.approx(1e-3, rel=0.2)
    assert 1e-4 < s["valley"] < 1e-1
    with pytest.raises(ValueError, match="Too few"):
        lr_suggestions([1e-3, 1e-2], [1.0, math.nan])


def test_transfer_weights_by_name():
    src, dst = _small_resnet(4), _small_resnet(6)
    report = transfer_weights(src, dst)
    assert report["skipped_shape"] == ["logits"] and not report["missing_in_src"]
    np.testing.assert_array_equal(dst.get_layer("stage2_block1_1_conv").kernel,
                                  src.get_layer("stage2_block1_1_conv").kernel)
    with pytest.raises(ValueError, match="'logits': weight shapes"):
        transfer_weights(src, dst, skip_mismatch=False)
    lone = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="zzz")])
    with pytest.raises(ValueError, match="No layer of"):
        transfer_weights(src, lone)


def test_progressive_resizing_keeps_weights_and_trains_on():
    m = _tiny()
    x, y = _data(32)
    freeze(m)
    fit_one_cycle(m, (x, y), 1, 1e-3, batch_size=16, verbose=0)
    same = with_input_size(m, 32)
    np.testing.assert_allclose(same(x[:4]), m(x[:4]), rtol=1e-5, atol=1e-6)
    big = with_input_size(m, 48)
    assert big.input_shape == (None, 48, 48, 3)
    assert not big.get_layer("stem_1_conv").trainable  # frozen state carried
    for a, b in zip(big.weights, m.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    xb = tf.image.resize(x, (48, 48)).numpy()
    unfreeze(big)
    h = fit_one_cycle(big, (xb, y), 1, 1e-3, batch_size=16, verbose=0)
    assert np.isfinite(h.history["loss"][-1])
    with pytest.raises(ValueError, match="size must be positive"):
        with_input_size(m, 0)


def test_fit_one_cycle_and_lr_find_feed_arrays_each_epoch_in_its_own_order(monkeypatch):
    from kerasdoc.generators.epoch_arrays import EpochArrays

    m = _tiny()
    x, y = _data(64)
    feeds = []
    fit = m.fit

    def spy(x=None, y=None, **kwargs):
        feeds.append((x, y))
        return fit(x, y, **kwargs)

    monkeypatch.setattr(m, "fit", spy)
    fit_one_cycle(m, (x, y), 2, 1e-2, batch_size=16, verbose=0)
    lr_find(m, (x, y), batch_size=16, num_iter=6, start_lr=1e-5, end_lr=1e-1)
    assert [(type(f).__name__, t) for f, t in feeds] == [("EpochArrays", None)] * 2
    feed = feeds[0][0]
    assert feed.batch_size == 16 and feed.shuffle
    ds = feed.get_tf_dataset()

    def epoch():
        feed.on_epoch_begin()
        return np.concatenate([b.numpy() for _, b in ds]).tolist()

    assert isinstance(feed, EpochArrays) and epoch() != epoch()

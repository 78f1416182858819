"""NumericLoss and CombinedNumericLoss against values computed by hand (seeds/002, Algorithm 1)."""

import keras
import numpy as np
import pytest

from kerasdoc.losses import CombinedNumericLoss, NumericLoss, numeric_loss


def _probs(rows):
    return np.asarray(rows, dtype="float32")


def test_numeric_loss_one_hot_prediction_is_alpha_times_digit_distance():
    # True 3, predicted one-hot 5: 0.05 * |3 - 5| = 0.1
    np.testing.assert_allclose(float(NumericLoss()(np.array([3]), np.eye(10)[[5]])), 0.1,
                               rtol=1e-6)


def test_numeric_loss_uses_expected_value_of_prediction():
    # Predict = 0.5 on '2' and 0.5 on '8': PredictNumeric = 5; true 9 -> 0.05 * 4 = 0.2
    pred = np.zeros((1, 10), "float32")
    pred[0, 2] = pred[0, 8] = 0.5
    np.testing.assert_allclose(float(NumericLoss()(np.array([9]), pred)), 0.2, rtol=1e-6)
    # ... and with alpha = 1: |9 - 5| = 4
    np.testing.assert_allclose(float(NumericLoss(alpha=1.0)(np.array([9]), pred)), 4.0,
                               rtol=1e-6)


def test_sparse_and_one_hot_labels_agree_and_batch_is_averaged():
    rng = np.random.default_rng(0)
    pred = rng.dirichlet(np.ones(10), size=6).astype("float32")
    labels = np.array([0, 3, 9, 4, 4, 7])
    sparse = float(NumericLoss()(labels, pred))
    column = float(NumericLoss()(labels[:, None], pred))
    one_hot = float(NumericLoss()(np.eye(10)[labels], pred))
    by_hand = np.mean(0.05 * np.abs(labels - pred @ np.arange(10)))
    np.testing.assert_allclose([sparse, column, one_hot], [by_hand] * 3, rtol=1e-5)


def test_custom_class_values():
    # Three classes standing for 10, 20, 40; true '40', predicted uniformly -> mean 70/3
    pred = np.full((1, 3), 1 / 3, "float32")
    loss = NumericLoss(alpha=1.0, values=[10, 20, 40])
    np.testing.assert_allclose(float(loss(np.array([2]), pred)), 40 - 70 / 3, rtol=1e-5)


def test_combined_loss_is_beta_weighted_sum():
    pred = _probs([[0.7, 0.1, 0.1, 0.1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0.2, 0.3, 0.5]])
    labels = np.array([0, 9])
    ce = -np.log([0.7, 0.5])
    num = 0.05 * np.abs(labels - pred @ np.arange(10))
    expected = np.mean(0.9 * ce + 0.1 * num)
    np.testing.assert_allclose(float(CombinedNumericLoss()(labels, pred)), expected, rtol=1e-5)
    np.testing.assert_allclose(float(CombinedNumericLoss(beta=1.0)(labels, pred)), ce.mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(float(CombinedNumericLoss(beta=0.0)(labels, pred)), num.mean(),
                               rtol=1e-5)


def test_from_logits_equals_softmax_then_loss():
    logits = np.random.default_rng(1).normal(size=(4, 10)).astype("float32")
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([1, 2, 3, 4])
    np.testing.assert_allclose(float(CombinedNumericLoss(from_logits=True)(y, logits)),
                               float(CombinedNumericLoss()(y, probs)), rtol=1e-5)


def test_serialisation_round_trip():
    loss = CombinedNumericLoss(alpha=0.1, beta=0.8, values=[0, 2, 4])
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, CombinedNumericLoss)
    assert (restored.alpha, restored.beta, restored.values) == (0.1, 0.8, [0.0, 2.0, 4.0])
    n = keras.losses.deserialize(keras.losses.serialize(NumericLoss(alpha=0.2)))
    assert isinstance(n, NumericLoss) and n.alpha == 0.2


def test_model_compiled_with_combined_loss_saves_and_reloads(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="out")(inputs))
    model.compile("adam", loss=CombinedNumericLoss())
    x, y = np.ones((8, 4), "float32"), np.arange(8) % 10
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(reloaded.loss, CombinedNumericLoss)
    np.testing.assert_allclose(reloaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="beta must be in"):
        CombinedNumericLoss(beta=1.5)
    with pytest.raises(ValueError, match="predicts 10 classes but 3 class values"):
        numeric_loss(np.array([0]), np.full((1, 10), 0.1, "float32"), values=[0, 1, 2])

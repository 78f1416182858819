"""The three indicators of seeds/002 on hand-made predictions."""

import math

import numpy as np
import pytest

from kerasdoc.metrics import (
    NumericError,
    error_rate,
    numeric_error_histogram,
    numeric_error_per_image,
    numeric_error_per_misidentified,
    numeric_errors,
)

Y_TRUE = np.array([3, 5, 9, 0, 1])
Y_PRED = np.array([3, 4, 0, 0, 1])  # errors 0, 1, 9, 0, 0


def test_indicators_by_hand():
    assert error_rate(Y_TRUE, Y_PRED) == pytest.approx(0.4)
    assert numeric_error_per_image(Y_TRUE, Y_PRED) == pytest.approx(10 / 5)
    assert numeric_error_per_misidentified(Y_TRUE, Y_PRED) == pytest.approx(10 / 2)


def test_table2_equals_table1_times_table3():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    assert numeric_error_per_image(t, p) == pytest.approx(
        error_rate(t, p) * numeric_error_per_misidentified(t, p))


def test_probabilities_are_taken_at_argmax():
    probs = np.eye(10)[Y_PRED] * 0.6 + 0.04
    assert numeric_error_per_image(Y_TRUE, probs) == pytest.approx(2.0)
    np.testing.assert_array_equal(numeric_errors(np.eye(10)[Y_TRUE], probs), [0, 1, 9, 0, 0])


def test_no_misidentification_gives_nan_not_zero():
    assert math.isnan(numeric_error_per_misidentified([1, 2], [1, 2]))


def test_histogram_counts_errors_one_to_nine():
    hist = numeric_error_histogram(Y_TRUE, Y_PRED)
    assert hist.tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="different numbers of images"):
        numeric_errors([1, 2, 3], [1, 2])


def test_keras_metric_streams_and_matches_numpy():
    m = NumericError()
    m.update_state(Y_TRUE[:2], np.eye(10)[Y_PRED[:2]])
    m.update_state(np.eye(10)[Y_TRUE[2:]], np.eye(10)[Y_PRED[2:]])
    assert float(m.result()) == pytest.approx(numeric_error_per_image(Y_TRUE, Y_PRED))
    m.reset_state()
    assert float(m.result()) == 0.0

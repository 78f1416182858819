"""The standard battery over every registered model: register a model and it is tested."""

import pytest

from kerasdoc.models import get_model, list_models, model_spec, register_model
from kerasdoc.testing import run_model_battery

PARAMS = [pytest.param(n, marks=[pytest.mark.slow] if model_spec(n).large else [])
          for n in list_models()]


@pytest.mark.parametrize("name", PARAMS)
def test_model_battery(name, tmp_path):
    run_model_battery(name, tmp_path)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown model 'nope'.*digits_cnn"):
        get_model("nope")


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_model("digits_cnn")(lambda **kw: None)


@pytest.mark.parametrize("name,count", [("digits_dnn", 669_706), ("digits_cnn", 1_199_882),
                                        ("digits_rnn", 81_674)])
def test_digit_model_parameter_counts(name, count):
    assert get_model(name).count_params() == count

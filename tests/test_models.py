"""The standard battery over every registered model: register a model and it is tested."""

import contextlib

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
        register_model("digits_cnn", input_shape=(28, 28, 1))(lambda **kw: None)


def test_catalog_snapshot_matches_the_registry():
    """`kerasdoc list` reads kerasdoc/catalog.json; regenerate it with `python -m kerasdoc.catalog`
    after adding or changing a model."""
    from kerasdoc.catalog import read_catalog
    from kerasdoc.models.weights import count_params

    catalog = read_catalog()
    assert sorted(catalog) == list_models(), "run `python -m kerasdoc.catalog`"
    for name, entry in catalog.items():
        spec = model_spec(name)
        assert (entry["paper"], tuple(entry["input_shape"]), entry["color_mode"]) == \
            (spec.paper, spec.input_shape, spec.color_mode), f"{name}: python -m kerasdoc.catalog"
        if not spec.large:  # the large ones are built by `pytest -m slow` below
            counts = count_params(get_model(name))
            assert (entry["parameters"], entry["trainable"]) == \
                (counts["total"], counts["trainable"]), f"{name}: run python -m kerasdoc.catalog"


@pytest.mark.slow
def test_catalog_is_fresh_for_every_model():
    from kerasdoc.catalog import build_catalog, read_catalog

    assert read_catalog() == build_catalog(), "run `python -m kerasdoc.catalog`"


@pytest.mark.parametrize("name,count", [("digits_dnn", 669_706), ("digits_cnn", 1_199_882),
                                        ("digits_rnn", 81_674)])
def test_digit_model_parameter_counts(name, count):
    assert get_model(name).count_params() == count


@contextlib.contextmanager
def _mixed_bfloat16():
    """Keras' global policy ``mixed_bfloat16`` inside, the previous one restored after."""
    import keras

    old = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(old)


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_denoiser_outputs_float32_under_mixed_precision(output):
    """The loss is computed on float32 reconstructions under mixed precision (the GPU check
    found ClipAtInference following the global bfloat16 policy)."""
    import keras
    import numpy as np

    with _mixed_bfloat16():
        model = get_model("conv_denoiser", output_activation=output)
        y = model(np.zeros((1, *model.input_shape[1:]), "float32"))
    assert keras.backend.standardize_dtype(y.dtype) == "float32", y.dtype


@pytest.mark.parametrize("name", PARAMS)
def test_outputs_are_float32_under_mixed_precision(name):
    """Built under a 16-bit policy, kerasdoc's models output float32 (Keras' mixed-precision
    guide: the softmax, or the reconstruction, computes in float32). The GPU check's CPU mode
    found bfloat16 outputs for the invoice and Persian OCR models (and before them the
    denoiser). ``Run`` casts any model's outputs to float32; this is the models' own."""
    import keras

    with _mixed_bfloat16():
        model = get_model(name, **model_spec(name).test_kwargs)
    dtypes = [keras.backend.standardize_dtype(t.dtype) for t in model.outputs]
    assert dtypes == ["float32"] * len(dtypes), f"{name}: outputs {dtypes} under mixed_bfloat16"

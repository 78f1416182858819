"""ResNet-34 / ResNet-50 with the fastai head (seeds/004)."""

import keras
import numpy as np
import pytest

from kerasdoc.models import get_model, list_models
from kerasdoc.models.resnet import build_resnet
from kerasdoc.training import transfer_weights


def _torch_style_count(model):
    """Parameters as PyTorch counts them: BatchNorm running statistics are buffers."""
    stats = sum(int(np.prod(w.shape)) for layer in model.layers
                if isinstance(layer, keras.layers.BatchNormalization)
                for w in (layer.moving_mean, layer.moving_variance))
    return model.count_params() - stats


def test_registered():
    assert {"resnet34", "resnet50"} <= set(list_models())


def test_resnet34_parameter_count_matches_the_report():
    # The report's summary of create_cnn(resnet34) for 19 classes: "Total params: 21822291".
    m = get_model("resnet34", num_classes=19)
    assert _torch_style_count(m) == 21_822_291


def test_fastai_head_layout():
    m = get_model("resnet34", input_shape=(64, 64, 3), num_classes=7)
    names = [layer.name for layer in m.layers]
    head = names[names.index("head_maxpool"):]
    assert head == ["head_maxpool", "head_avgpool", "head_concatpool", "head_bn1",
                    "head_dropout1", "head_dense1", "head_bn2", "head_dropout2", "logits",
                    "predictions"]
    assert m.get_layer("head_concatpool").output.shape[-1] == 1024
    assert m.get_layer("head_dropout1").rate == 0.25
    assert m.get_layer("head_dropout2").rate == 0.5
    assert m.get_layer("head_dense1").units == 512
    assert m.get_layer("stage4_block3_out").output.shape[1:] == (2, 2, 512)
    # torchvision topology: 3, 4, 6, 3 basic blocks
    for stage, n in zip(range(1, 5), (3, 4, 6, 3)):
        assert f"stage{stage}_block{n}_out" in names
        assert f"stage{stage}_block{n + 1}_out" not in names


def test_resnet50_wraps_keras_applications():
    m = get_model("resnet50", input_shape=(64, 64, 3), num_classes=3)
    assert m.get_layer("conv5_block3_out").output.shape[-1] == 2048
    assert m.output_shape == (None, 3)


def test_imagenet_for_resnet34_is_refused_clearly():
    with pytest.raises(ValueError, match="ResNet-34 is not in keras.applications"):
        get_model("resnet34", weights="imagenet")


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        get_model("resnet34", weights=str(tmp_path / "nope.weights.h5"))


def test_normalize_layer_uses_data_statistics():
    m = build_resnet((32, 32, 3), 2, blocks=(1, 1, 1, 1), widths=(4, 4, 4, 4),
                     mean=[0.5, 0.2, 0.1], std=[0.5, 0.25, 0.1])
    norm = keras.Model(m.input, m.get_layer("normalize").output)
    x = np.ones((1, 32, 32, 3), "float32")
    np.testing.assert_allclose(np.asarray(norm(x))[0, 0, 0], [1.0, 3.2, 9.0], rtol=1e-5)
    with pytest.raises(ValueError, match="one value per channel"):
        build_resnet((32, 32, 3), 2, mean=[0.5], std=[0.5, 0.5, 0.5])


def test_weights_file_and_keras_model_transfer(tmp_path):
    kw = dict(blocks=(1, 1, 1, 1), widths=(4, 4, 8, 8))
    src = build_resnet((32, 32, 3), 5, **kw)
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    src.save_weights(tmp_path / "src.weights.h5")
    same = build_resnet((32, 32, 3), 5, weights=str(tmp_path / "src.weights.h5"), **kw)
    np.testing.assert_allclose(same(x), src(x), rtol=1e-5, atol=1e-6)

    src.save(tmp_path / "src.keras")
    other = build_resnet((32, 32, 3), 3, weights=str(tmp_path / "src.keras"), **kw)
    np.testing.assert_array_equal(other.get_layer("stage4_block1_2_conv").kernel,
                                  src.get_layer("stage4_block1_2_conv").kernel)
    assert other.get_layer("logits").kernel.shape == (512, 3)  # head re-initialised
    report = transfer_weights(src, build_resnet((32, 32, 3), 3, **kw))
    assert report["skipped_shape"] == ["logits"]

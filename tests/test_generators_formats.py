"""Grayscale BMP and GIF decode to one channel (TF's decoders give them only as RGB)."""

import warnings

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.generators import load_file_list, save_file_list
from kerasdoc.generators.ops import decode_image

GRAY = (np.arange(12).reshape(3, 4) * 20).astype(np.uint8)


@pytest.mark.parametrize("ext", ["bmp", "png"])
def test_grayscale_file_decodes_to_one_channel(tmp_path, ext):
    path = tmp_path / f"g.{ext}"
    cv2.imwrite(str(path), GRAY)
    out = decode_image(tf.io.read_file(str(path)), 1).numpy()
    assert out.shape == (3, 4, 1)
    np.testing.assert_allclose(out[..., 0], GRAY, atol=0.05)


def test_gif_decodes_to_one_channel(tmp_path):
    rgb = np.repeat(GRAY[..., None], 3, axis=-1)
    pil = pytest.importorskip("PIL.Image")  # TF has no GIF encoder
    path = tmp_path / "g.gif"
    pil.fromarray(rgb).save(path)
    out = decode_image(tf.io.read_file(str(path)), 1).numpy()
    assert out.shape == (3, 4, 1)
    np.testing.assert_allclose(out[..., 0], GRAY, atol=1.0)


def test_pickled_lists_warn_json_does_not(tmp_path):
    p = save_file_list(tmp_path / "l.joblib", ["a.png"], [1])
    with pytest.warns(UserWarning, match="runs code stored in the file"):
        assert load_file_list(p)["labels"] == [1]
    j = save_file_list(tmp_path / "l.json", ["a.png"], [1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_file_list(j)["paths"] == ["a.png"]

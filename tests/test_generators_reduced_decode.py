"""Reduced JPEG decoding (``reduced_decode=True``): partial decode of band crops, the headers'
shared scale, gray pages copied to RGB per batch, and the gather-based ``nearest`` resize."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.generators import ImageDataGenerator, crops
from kerasdoc.generators.ops import _resize, decode_band, decode_image, decode_reduced


def _jpeg(h: int, w: int, channels: int, seed: int = 0) -> tf.Tensor:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, channels), dtype=np.uint8)
    return tf.io.encode_jpeg(tf.constant(img), quality=90)


@pytest.mark.parametrize("side", ["top", "bottom", "left", "right"])
@pytest.mark.parametrize("hw", [(1000, 754), (301, 257), (90, 70), (700, 1100)])
def test_band_partial_decode_equals_full_decode_band(side, hw):
    jpg = _jpeg(*hw, 3)
    full = tf.cast(tf.io.decode_jpeg(jpg, channels=3), tf.float32)
    ref = crops.CROPS[side](full)
    out = decode_band(jpg, side, 256, 512, 3, scale_decode=False)
    assert out.shape == (256, 256, 3)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_band_keeps_gray_and_takes_a_static_ratio():
    jpg = _jpeg(600, 500, 1)
    out = decode_band(jpg, "top", 64, 128, 3, keep_gray=True)
    assert out.shape[-1] == 1
    ref = crops.band("top", 64)(tf.cast(tf.io.decode_jpeg(jpg, ratio=4), tf.float32))
    np.testing.assert_array_equal(decode_band(jpg, "top", 64, 128, 1, ratio=4).numpy(),
                                  ref.numpy())
    with pytest.raises(ValueError):
        decode_band(jpg, "middle", 64, 128, 1)


def test_decode_reduced_static_ratio_matches_the_per_file_choice():
    jpg = _jpeg(200, 160, 1)
    np.testing.assert_array_equal(decode_reduced(jpg, (50, 40), 1).numpy(),
                                  decode_reduced(jpg, (50, 40), 1, ratio=4).numpy())


def test_nearest_resize_is_tf_image_resize():
    rng = np.random.default_rng(1)
    for _ in range(40):
        hw = tuple(int(v) for v in rng.integers(1, 400, 2))
        out = tuple(int(v) for v in rng.integers(1, 300, 2))
        x = tf.constant(rng.random((*hw, 2), np.float32))
        np.testing.assert_array_equal(_resize(x, out, "nearest").numpy(),
                                      tf.image.resize(x, out, method="nearest").numpy())


def _pages(folder, n: int, channels: int, hw=(540, 400)) -> None:
    (folder / "c").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / "c" / f"p{i}.jpg").write_bytes(_jpeg(*hw, channels, seed=i).numpy())


def test_gray_pages_in_an_rgb_flow_copy_channels_per_batch(tmp_path):
    _pages(tmp_path, 5, 1)
    gen = ImageDataGenerator(rescale=1 / 255)
    base = dict(color_mode="rgb", class_mode=None, batch_size=2, shuffle=False)
    # a named band, resized after: the same pixels as the full decode
    full = np.concatenate(list(gen.flow_from_directory(
        tmp_path, target_size=(128, 128), crop="top", **base).dataset.as_numpy_iterator()))
    fast = gen.flow_from_directory(tmp_path, target_size=(128, 128), crop="top",
                                   reduced_decode=True, **base)
    np.testing.assert_array_equal(np.concatenate(list(fast.dataset.as_numpy_iterator())), full)
    assert next(fast).shape == (2, 128, 128, 3)
    # the whole page: a 540 x 400 page decoded at 1/4 scale still covers 96 x 80
    fast = gen.flow_from_directory(tmp_path, target_size=(96, 80), interpolation="nearest",
                                   reduced_decode=True, **base)
    x = np.concatenate(list(fast.dataset.as_numpy_iterator()))
    ref = np.stack([
        tf.tile(_resize(decode_reduced(tf.io.read_file(str(p)), (96, 80), 1), (96, 80),
                        "nearest"), [1, 1, 3]).numpy() / 255
        for p in sorted((tmp_path / "c").glob("*.jpg"))])
    np.testing.assert_allclose(x, ref, atol=1e-6)
    np.testing.assert_array_equal(fast[1], x[2:4])


def _full_decode_band(path, side: str) -> np.ndarray:
    img = decode_image(tf.io.read_file(str(path)), 3)  # the whole page, 3 channels
    return crops.CROPS[side](img).numpy() / 255


def test_named_band_is_the_full_decode_with_and_without_reduced_decode(tmp_path):
    _pages(tmp_path / "gray", 3, 1, hw=(700, 520))
    _pages(tmp_path / "mixed", 2, 1, hw=(700, 520))
    (tmp_path / "mixed" / "c" / "rgb.jpg").write_bytes(_jpeg(660, 500, 3, seed=9).numpy())
    gen = ImageDataGenerator(rescale=1 / 255)
    for sub in ("gray", "mixed"):
        files = sorted((tmp_path / sub / "c").glob("*.jpg"))
        for side in ("top", "right"):
            ref = np.stack([_full_decode_band(p, side) for p in files])
            kw = dict(target_size=None, crop=side, color_mode="rgb", class_mode=None,
                      batch_size=4, shuffle=False)
            for reduced in (False, True):
                flow = gen.flow_from_directory(tmp_path / sub, reduced_decode=reduced, **kw)
                np.testing.assert_allclose(
                    np.concatenate(list(flow.dataset.as_numpy_iterator())), ref, atol=1e-6)
                np.testing.assert_allclose(flow[0], ref[:4], atol=1e-6)


@pytest.mark.parametrize("kind", ["progressive", "cmyk", "420"])
def test_band_partial_decode_on_other_jpeg_kinds(kind):
    import io

    from PIL import Image

    rng = np.random.default_rng(3)
    im = Image.fromarray(rng.integers(0, 256, (600, 450, 3), dtype=np.uint8))
    buf = io.BytesIO()
    if kind == "cmyk":
        im.convert("CMYK").save(buf, "JPEG", quality=90)
    else:
        im.save(buf, "JPEG", quality=90, progressive=kind == "progressive", subsampling=2)
    jpg = tf.constant(buf.getvalue())
    full = decode_image(jpg, 3, keep_gray=True)
    for side in ("top", "bottom", "left", "right"):
        np.testing.assert_array_equal(
            decode_band(jpg, side, 128, 256, 3, keep_gray=True, scale_decode=False).numpy(),
            crops.band(side, 128)(full).numpy())


def test_nearest_on_the_8_bit_page_is_the_same():
    jpg = _jpeg(500, 377, 3)
    for size in [(256, 256), (100, 300), (31, 17)]:
        ref = tf.image.resize(decode_reduced(jpg, size, 3, ratio=1), size, method="nearest")
        np.testing.assert_array_equal(
            decode_reduced(jpg, size, 3, ratio=1, nearest=True).numpy(), ref.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "uint8"])
def test_gray_to_rgb_copies_each_value_exactly(dtype):
    """The batch-level gray -> RGB copy (a product with ones, for speed) equals tf.tile bit for
    bit, at any magnitude."""
    from kerasdoc.generators.pipeline import gray_to_rgb as _gray_to_rgb

    x = tf.cast(tf.random.stateless_uniform([3, 5, 7, 1], [1, 2], 0, 255), dtype)
    if dtype == "float32":
        x = x * tf.random.stateless_normal([3, 5, 7, 1], [3, 4]) * 1e3
    out = _gray_to_rgb(x)
    assert out.dtype == x.dtype and out.shape == (3, 5, 7, 3)
    np.testing.assert_array_equal(np.asarray(tf.cast(out, tf.float64)),
                                  np.asarray(tf.cast(tf.tile(x, [1, 1, 1, 3]), tf.float64)))

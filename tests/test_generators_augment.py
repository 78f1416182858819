"""Augmentation, aspect-aware resizing and region crops (all inside the tf graph)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.generators import Augmentation, ImageDataGenerator, crops, resize_image


def seeds(n):
    return [tf.constant([i, 17], tf.int64) for i in range(n)]


def test_defaults_are_off_and_text_safe():
    aug = Augmentation()
    assert not aug.active and not aug.horizontal_flip and not aug.vertical_flip
    x = tf.random.stateless_uniform((6, 6, 1), [1, 2], 0, 255)
    np.testing.assert_array_equal(aug.apply(x, seeds(1)[0]), x)
    assert not ImageDataGenerator().augmentation.active


def test_rotation_is_about_the_centre_and_seeded():
    img = np.zeros((9, 9, 1), np.float32)
    img[4, 4] = 255.0
    img[0, 4] = 100.0
    aug = Augmentation(rotation_range=180, fill_mode="constant", interpolation="nearest")
    outs = [aug.apply(img, s).numpy() for s in seeds(8)]
    assert all(o[4, 4, 0] == 255.0 for o in outs)  # the centre does not move
    assert len({o.tobytes() for o in outs}) > 1  # different seeds, different angles
    np.testing.assert_array_equal(aug.apply(img, seeds(3)[2]), outs[2])  # same seed, same image


def test_flips_give_original_or_mirror():
    x = tf.reshape(tf.range(12.0), (3, 4, 1))
    outs = [Augmentation(horizontal_flip=True).apply(x, s).numpy() for s in seeds(16)]
    kinds = {("same" if np.array_equal(o, x) else "mirror" if np.array_equal(o, x[:, ::-1])
              else "other") for o in outs}
    assert kinds == {"same", "mirror"}
    outs = [Augmentation(vertical_flip=True).apply(x, s).numpy() for s in seeds(16)]
    assert {np.array_equal(o, x[::-1]) or np.array_equal(o, x) for o in outs} == {True}


def test_shift_and_zoom_fill_with_cval():
    ones = tf.fill((10, 10, 1), 200.0)
    shifted = Augmentation(width_shift_range=0.4, fill_mode="constant", cval=0.0).apply(
        ones, tf.constant([3, 4], tf.int64)).numpy()[..., 0]
    assert (shifted == 0).any() and (shifted == 200).any()
    assert all(np.array_equal(shifted[0], row) for row in shifted)  # a pure horizontal shift
    zoom_out = Augmentation(zoom_range=(2.0, 2.0), fill_mode="constant").apply(
        ones, tf.constant([0, 0], tf.int64)).numpy()
    assert zoom_out[0, 0, 0] == 0 and zoom_out[5, 5, 0] == 200  # factor > 1 shrinks the image
    zoom_in = Augmentation(zoom_range=(0.5, 0.5), fill_mode="constant").apply(
        ones, tf.constant([0, 0], tf.int64)).numpy()
    assert (zoom_in == 200).all()
    reflect = Augmentation(width_shift_range=0.4, fill_mode="reflect").apply(
        ones, tf.constant([3, 4], tf.int64)).numpy()
    assert (reflect == 200).all()


def test_photometric_jitter_and_noise():
    x = tf.fill((16, 16, 3), 100.0)
    np.testing.assert_allclose(Augmentation(brightness_range=(0.5, 0.5)).apply(x, seeds(1)[0]),
                               50.0)
    grad = tf.reshape(tf.linspace(0.0, 200.0, 16 * 16 * 3), (16, 16, 3))
    flat = Augmentation(contrast_range=(0.0, 0.0)).apply(grad, seeds(1)[0]).numpy()
    np.testing.assert_allclose(flat, np.broadcast_to(grad.numpy().mean((0, 1)), flat.shape),
                               rtol=1e-5)
    shifted = Augmentation(channel_shift_range=30).apply(x, seeds(1)[0]).numpy()
    assert np.unique(shifted).size == 1 and 70 <= shifted.flat[0] <= 130
    noisy = Augmentation(noise_stddev=10.0).apply(x, seeds(1)[0]).numpy()
    assert abs(float((noisy - 100).std()) - 10.0) < 1.0
    assert noisy.min() >= 0 and noisy.max() <= 255
    col = tf.constant(np.random.default_rng(0).uniform(0, 255, (4, 4, 3)), tf.float32)
    g = Augmentation(grayscale_probability=1.0).apply(col, seeds(1)[0]).numpy()
    np.testing.assert_allclose(g[..., 0], g[..., 2])


@pytest.mark.parametrize("kwargs,msg", [
    ({"fill_mode": "mirror"}, "fill_mode must be one of"),
    ({"rotation_range": -3}, "rotation_range must be a number >= 0"),
    ({"brightness_range": (1.2, 0.8)}, "low <= high"),
    ({"zoom_range": "big"}, "zoom_range must be a number or a"),
    ({"grayscale_probability": 2.0}, "grayscale_probability must be in"),
])
def test_bad_augmentation_parameters(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        Augmentation(**kwargs)


def test_resize_modes():
    img = tf.fill((4, 8, 1), 9.0)
    assert resize_image(img, (5, 3)).shape == (5, 3, 1)
    padded = resize_image(img, (8, 8), mode="pad", padding_mode="zeros").numpy()[..., 0]
    assert (padded[:2] == 0).all() and (padded[-2:] == 0).all() and (padded[2:6] == 9).all()
    grad = tf.reshape(tf.range(8.0), (1, 8, 1)) * tf.ones((4, 1, 1))
    refl = resize_image(grad, (8, 8), mode="pad", padding_mode="reflection",
                        interpolation="nearest").numpy()[..., 0]
    np.testing.assert_array_equal(refl[2:6], grad.numpy()[..., 0])
    np.testing.assert_array_equal(refl[1], refl[3])  # mirrored, edge row not repeated
    np.testing.assert_array_equal(refl[0], refl[4])
    tall = resize_image(tf.ones((2, 1, 1)), (3, 40), mode="pad", padding_mode="reflection")
    assert tall.shape == (3, 40, 1) and (tall.numpy() == 1).all()  # pad wider than the image
    cropped = resize_image(grad, (8, 8), mode="crop", interpolation="nearest").numpy()[..., 0]
    assert cropped.shape == (8, 8) and cropped[0, 0] > 0 and cropped[0, -1] < 7
    with pytest.raises(ValueError, match="resize mode must be one of"):
        resize_image(img, (2, 2), mode="squash")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        resize_image(img, (2, 2), mode="pad", padding_mode="border")


def halves(h=1000, w=760, axis=0):
    """A page whose first half (rows or columns) is 0 and second half 255."""
    page = np.zeros((h, w, 1), np.float32)
    if axis == 0:
        page[h // 2:] = 255
    else:
        page[:, w // 2:] = 255
    return tf.constant(page)


def test_crops_take_the_intended_halves():
    rows, cols = halves(axis=0), halves(axis=1)
    for fn, page, value in [(crops.top, rows, 0), (crops.bottom, rows, 255),
                            (crops.left, cols, 0), (crops.right, cols, 255)]:
        out = fn(page)
        assert out.shape == (256, 256, 1)
        np.testing.assert_allclose(out.numpy(), value, atol=1e-3, err_msg=fn.name)
    full = crops.full(rows).numpy()
    assert full.shape == (256, 256, 1) and full[0, 0, 0] == 0 and full[-1, 0, 0] == 255


def test_blog_code_swaps_width_and_height():
    """The blog's ``height_crop``: ``cv2.resize(image, (512, 256))`` then ``image[:256]`` keeps
    the whole squashed page, 256 high and 512 wide; ours keeps the top half at 256 x 256."""
    page = halves(axis=0).numpy().astype(np.uint8)
    blog = cv2.resize(page, (512, 256))[:256]
    assert blog.shape == (256, 512) and blog.min() == 0 and blog.max() == 255  # both halves
    ours = crops.top(tf.constant(page, tf.float32)).numpy()
    assert ours.shape == (256, 256, 1) and ours.max() == 0  # only the top half


def test_user_crops_and_get():
    img = tf.reshape(tf.range(100.0), (10, 10, 1))
    b = crops.box(2, 3, 4, 5)
    assert b.output_size == (4, 5) and b.min_size == (6, 8)
    np.testing.assert_array_equal(b(img).numpy(), img.numpy()[2:6, 3:8])
    with pytest.raises(tf.errors.InvalidArgumentError, match="image smaller than the crop"):
        b(tf.zeros((5, 5, 1)))
    rel = crops.box(0.5, 0.0, 0.5, 1.0, relative=True)
    np.testing.assert_array_equal(rel(img).numpy(), img.numpy()[5:])
    c = crops.custom(lambda im: im[:, ::2], name="every_other")
    assert crops.get(c) is c and crops.get("bottom") is crops.bottom
    assert crops.get(lambda im: im).name == "<lambda>"
    band = crops.band("right", 8, 20)
    assert band(img).shape == (8, 8, 1)
    with pytest.raises(ValueError, match="unknown crop 'middle'"):
        crops.get("middle")
    with pytest.raises(ValueError, match="side must be one of"):
        crops.band("centre")
    with pytest.raises(ValueError, match="relative box must lie in the unit square"):
        crops.box(0.5, 0, 0.8, 1, relative=True)
    with pytest.raises(ValueError, match="takes one image"):
        crops.top(tf.zeros((2, 8, 8, 1)))


def test_crops_in_a_flow(tmp_path):
    d = tmp_path / "pages" / "doc"
    d.mkdir(parents=True)
    page = np.zeros((1024, 600), np.uint8)
    page[512:] = 255
    cv2.imwrite(str(d / "p.png"), page)
    gen = ImageDataGenerator(rescale=1 / 255)
    top = next(iter(gen.flow_from_directory(d.parent, None, "grayscale", crop="top",
                                            class_mode=None)))
    bottom = next(iter(gen.flow_from_directory(d.parent, (64, 64), "grayscale", crop="bottom",
                                               class_mode=None)))
    assert top.shape == (1, 256, 256, 1) and float(tf.reduce_max(top)) == 0.0
    assert bottom.shape == (1, 64, 64, 1) and float(tf.reduce_min(bottom)) == pytest.approx(1.0)


def test_draws_are_tf_randoms_stateless_values():
    """The augmentation's one-op draws give ``tf.random``'s stateless values exactly (the
    images of a seeded flow depend on it)."""
    from kerasdoc.generators.augment import stateless_uniform

    for s in ([0, 0], [3, 4], [-7, 2**40], [2**62, -1]):
        seed = tf.constant(s, tf.int64)
        for lo, hi in ((0.0, 1.0), (-1.0, 1.0), (0.8, 1.2), (-3.2, 3.2), (0.9, 1.1), (-20.0, 20.0)):
            assert stateless_uniform(seed, lo, hi).numpy() == tf.random.stateless_uniform(
                [], seed, lo, hi).numpy(), (s, lo, hi)
    x = tf.fill((6, 5, 1), 100.0)
    seed = tf.constant([5, 6], tf.int64)
    noisy = Augmentation(noise_stddev=8.0).apply(x, seed)
    want = tf.clip_by_value(x + tf.random.stateless_normal(
        (6, 5, 1), seed + tf.constant([0, 7919 * 16], tf.int64), stddev=8.0), 0, 255)
    np.testing.assert_array_equal(noisy, want)

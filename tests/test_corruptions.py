"""MNIST-C corruptions (generators.corruptions): definitions, seeding, layouts, uses."""

import numpy as np
import pytest
import tensorflow as tf

from kerasdoc.generators import ImageDataGenerator
from kerasdoc.generators.corruptions import (
    CORRUPTIONS,
    MNIST_C_SEVERITY,
    CorruptionAugment,
    benchmark_corruptions,
    corrupt,
    corrupt_mixed,
    corruption_pair_dataset,
    motion_blur_kernel,
    plasma_fractal,
    plot_gallery,
)

RANDOM = ("shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "rotate",
          "translate", "fog", "spatter", "dotted_line", "zigzag")


def digits(n=6, size=28, seed=0):
    """Bars and boxes, white ink on black, like MNIST digits."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, size, size), np.uint8)
    s = size / 28
    for i in range(n):
        r, c = rng.integers(int(6 * s), int(10 * s), 2)
        x[i, r:r + int(12 * s), c:c + int(3 * s)] = 255
        x[i, r:r + int(3 * s), c:c + int(9 * s)] = 255
    return x


def test_sixteen_names_in_mnist_c_order():
    assert len(CORRUPTIONS) == 16 and CORRUPTIONS[0] == "identity"
    assert set(MNIST_C_SEVERITY) == set(CORRUPTIONS)


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_every_corruption_keeps_layout_dtype_range_and_is_seeded(name):
    x = digits()
    y = corrupt(x, name, seed=3)
    assert y.shape == x.shape and y.dtype == np.uint8
    np.testing.assert_array_equal(corrupt(x, name, seed=3), y)
    f = corrupt(x[..., None] / 255.0, name, seed=3)
    assert f.shape == (6, 28, 28, 1) and f.dtype == np.float32
    assert 0.0 <= f.min() and f.max() <= 1.0
    np.testing.assert_allclose(f[..., 0] * 255, y, atol=1.0)  # same draws, either layout
    if name == "identity":
        np.testing.assert_array_equal(y, x)
    else:
        assert (y != x).any(), f"{name} changed nothing"
    if name in RANDOM:
        assert (corrupt(x, name, seed=4) != y).any(), f"{name} ignores the seed"


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_any_size_and_single_images(name):
    for size in ((56, 56), (20, 32)):
        x = np.zeros((2, *size), np.float32)
        x[:, size[0] // 4: 3 * size[0] // 4, size[1] // 3: size[1] // 2] = 1.0
        y = corrupt(x, name, seed=0)
        assert y.shape == x.shape and np.isfinite(y).all()
    single = corrupt(digits(1)[0], name, seed=0)
    assert single.shape == (28, 28)


def test_shot_noise_is_poisson_at_rate_3():
    x = np.full((50, 28, 28), 0.5, np.float32)
    y = corrupt(x, "shot_noise", seed=0)
    np.testing.assert_allclose(np.unique(y), [0, 1 / 3, 2 / 3, 1], atol=1e-6)
    # Poisson(1.5) counts clipped at 3: mean 0.3347 + 2 * 0.2510 + 3 * 0.1912 = 1.410
    assert abs(float((y * 3).mean()) - 1.410) < 0.03
    assert corrupt(x, "shot_noise", severity=1, seed=0).std() < y.std()


def test_impulse_noise_flips_17_percent_to_black_or_white():
    x = np.full((40, 28, 28), 0.5, np.float32)
    y = corrupt(x, "impulse_noise", seed=0)
    changed = y != 0.5
    assert 0.15 < changed.mean() < 0.19 and set(np.unique(y[changed])) == {0.0, 1.0}


def test_brightness_and_stripe():
    x = digits(2)
    b = corrupt(x, "brightness")
    assert b.min() == 128 and b.max() == 255  # + 0.5, clipped
    s = corrupt(x, "stripe")
    np.testing.assert_array_equal(s[:, :, :7], 255 - x[:, :, :7])
    np.testing.assert_array_equal(s[:, :, 7:21], x[:, :, 7:21])
    np.testing.assert_array_equal(s[:, :, 21:], 255 - x[:, :, 21:])


def test_translate_moves_a_dot_three_pixels_each_way():
    x = np.zeros((20, 28, 28), np.float32)
    x[:, 14, 14] = 1.0
    y = corrupt(x, "translate", seed=1)
    where = np.array([np.unravel_index(np.argmax(im), im.shape) for im in y])
    assert set(np.abs(where - 14).ravel().tolist()) == {3}
    assert len({tuple(w) for w in where}) > 1  # random directions


def test_rotate_shear_scale_keep_the_centre_fixed():
    x = np.zeros((10, 28, 28), np.float32)
    x[:, 13:15, 13:15] = 1.0
    for name in ("rotate", "shear", "scale"):
        y = corrupt(x, name, seed=0)
        assert y[:, 13:15, 13:15].min() > 0.1, name
    sq = np.zeros((1, 28, 28), np.float32)
    sq[0, 4:24, 4:24] = 1.0
    assert abs(corrupt(sq, "scale").sum() / sq.sum() - 0.49) < 0.05  # area x 0.7^2


def test_motion_blur_smears_a_dot_into_a_line():
    k = motion_blur_kernel(10, 3)
    assert len(k) == 21 and np.isclose(k.sum(), 1) and np.all(np.diff(k) < 0)
    x = np.zeros((8, 28, 28), np.float32)
    x[:, 14, 14] = 1.0
    y = corrupt(x, "motion_blur", seed=0)
    assert ((y > 0.01).sum(axis=(1, 2)) >= 5).all()
    np.testing.assert_allclose(y.sum(axis=(1, 2)), 1.0, atol=1e-5)  # weights sum to one


def test_fog_brightens_the_background_and_keeps_the_peak():
    x = digits(4).astype(np.float32) / 255
    y = corrupt(x, "fog", seed=0)
    assert y[x == 0].mean() > 0.1
    assert y.max() <= 1.0
    m = plasma_fractal(3, 64, 1.4, seed=0)
    assert m.shape == (3, 64, 64) and m.min() == 0 and m.max() == 1
    with pytest.raises(ValueError, match="power of two"):
        plasma_fractal(1, 30)


def test_dotted_line_and_zigzag_add_ink_only():
    x = digits(10).astype(np.float32) / 255
    d = corrupt(x, "dotted_line", seed=0)
    assert (d >= x - 1e-6).all() and (d > x).any()
    added = (d - x).sum(axis=(0, 1))
    assert added[[0, 1, 4, 5, 24, 25, 27]].sum() == 0 and added[[2, 3]].sum() > 0  # dashes
    z = corrupt(x, "zigzag", seed=0)
    assert (z >= x - 1e-6).all() and ((z - x).sum(axis=(1, 2)) > 5).all()


def test_canny_outlines_a_square():
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 8:20, 8:20] = 1.0
    e = corrupt(x, "canny_edges")[0]
    assert set(np.unique(e)) == {0.0, 1.0}
    assert e[13, 13] == 0 and e[0, 0] == 0 and e[8:20, 7:9].max() == 1


def test_spatter_and_glass_blur():
    x = digits(6).astype(np.float32) / 255
    s = corrupt(x, "spatter", seed=0)
    assert (s[x == 0] > 0).any() and s[x == 0].max() <= 63 / 255 + 1e-6
    g = corrupt(x, "glass_blur", seed=0)
    assert abs(g.mean() - x.mean()) < 0.02 and g.max() < 1.0


def test_severity_and_input_errors():
    x = digits(2)
    assert (corrupt(x, "rotate", severity=5, seed=0) != corrupt(x, "rotate", seed=0)).any()
    with pytest.raises(ValueError, match="Unknown corruption 'sparkle'"):
        corrupt(x, "sparkle")
    with pytest.raises(ValueError, match="severity must be 1..5"):
        corrupt(x, "fog", severity=6)
    with pytest.raises(ValueError, match="no severity levels"):
        corrupt(x, "stripe", severity=2)
    with pytest.raises(ValueError, match="Expected one channel"):
        corrupt(np.zeros((2, 28, 28, 3)), "fog")
    with pytest.raises(ValueError, match="value_range must be 1 or 255"):
        corrupt(x.astype(float), "fog", value_range=10)


def test_corrupt_mixed_draws_per_image():
    x = digits(200)
    y, which = corrupt_mixed(x, ["identity", "stripe"], p=[0.25, 0.75], seed=0)
    assert 0.65 < which.mean() < 0.85
    np.testing.assert_array_equal(y[which == 0], x[which == 0])
    np.testing.assert_array_equal(y[which == 1], corrupt(x[which == 1], "stripe"))
    with pytest.raises(ValueError, match="summing to 1"):
        corrupt_mixed(x, ["identity", "fog"], p=[0.5, 0.6])


def test_augment_as_preprocessing_function():
    x = digits(8)[..., None]
    gen = ImageDataGenerator(rescale=1 / 255,
                             preprocessing_function=CorruptionAugment(["brightness"], p=1.0))
    xb, _ = next(iter(gen.flow(x, np.arange(8) % 2, batch_size=8, shuffle=False)))
    assert xb.shape == (8, 28, 28, 1) and float(tf.reduce_min(xb)) == pytest.approx(0.5)
    same = CorruptionAugment(p=0.0)(tf.constant(x[:2], tf.float32))
    np.testing.assert_array_equal(same.numpy(), x[:2])
    with pytest.raises(ValueError, match="p must be in"):
        CorruptionAugment(p=2)


def test_corruption_pair_dataset_is_seeded_and_redraws_each_epoch():
    x = digits(12)
    ds = corruption_pair_dataset(x, batch_size=5, seed=0)
    first = [(n.numpy(), c.numpy()) for n, c in ds]
    assert [len(c) for _, c in first] == [5, 5, 2]
    assert first[0][0].shape == (5, 28, 28, 1) and first[0][1].max() == 1.0
    again = [(n.numpy(), c.numpy()) for n, c in corruption_pair_dataset(x, batch_size=5, seed=0)]
    for (n1, c1), (n2, c2) in zip(first, again):
        np.testing.assert_array_equal(n1, n2)
        np.testing.assert_array_equal(c1, c2)
    second_epoch = [n.numpy() for n, _ in ds]
    assert any(a.shape != b.shape or (a != b).any()
               for a, b in zip(second_epoch, [n for n, _ in first]))
    clean = np.sort(np.concatenate([c for _, c in first]).reshape(12, -1), axis=0)
    np.testing.assert_array_equal(clean, np.sort(x.reshape(12, -1) / 255.0, axis=0))
    noisy, cl, lab = next(iter(corruption_pair_dataset(x, labels=np.arange(12), batch_size=4,
                                                       shuffle=False)))
    assert lab.numpy().tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="differ in length"):
        corruption_pair_dataset(x, labels=[1, 2])


def test_gallery_and_benchmark(tmp_path):
    path = plot_gallery(digits(4), tmp_path / "fig2.png")
    assert path.stat().st_size > 5000
    rows = benchmark_corruptions(digits(64), ["shot_noise", "stripe"], loop_images=16)
    assert [r["name"] for r in rows] == ["shot_noise", "stripe"]
    assert all(r["batch_ips"] > 0 and r["loop_ips"] > 0 for r in rows)


def test_benchmark_script_reports_both_paths_and_their_ratio(tmp_path, capsys):
    import json

    from benchmarks import corruptions as bench

    with pytest.raises(FileNotFoundError, match="kannada-images"):
        bench.main(["--data", str(tmp_path / "absent")])
    x, source = bench.load_digits(None, 12)  # Kannada-MNIST, or generated digits without it
    assert x.shape == (12, 28, 28) and x.dtype == np.uint8 and source
    res = bench.main(["--batch", "24", "--loop-images", "3", "--repeats", "2",
                      "--corruptions", "shot_noise,fog", "--out", str(tmp_path / "b.json")])
    assert [r["name"] for r in res["rows"]] == ["shot_noise", "fog"]
    for r in res["rows"]:
        assert r["batch_images_per_s"] > 0 and r["loop_images_per_s"] > 0
        assert r["speedup"] == round(r["batch_images_per_s"] / r["loop_images_per_s"], 1)
    assert res["batch"] == 24 and res["loop_images"] == 3 and res["cpu_seconds"] >= 0
    assert json.loads((tmp_path / "b.json").read_text())["rows"] == res["rows"]
    assert "speedup" in capsys.readouterr().out

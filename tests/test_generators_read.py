"""The read paths of a file flow, each on its own (kerasdoc.generators.read)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdoc.generators import crops
from kerasdoc.generators.read import (
    plan_read,
    read_band,
    read_full,
    read_image,
    read_reduced,
    read_rgba,
)


def _page(tmp_path, name, mode="L", size=(40, 64)):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (size[1], size[0]) + ((3,) if mode == "RGB" else
                                                       (4,) if mode == "RGBA" else ()))
    p = tmp_path / name
    img = Image.fromarray(arr.astype(np.uint8), mode if mode != "P" else "L")
    if mode == "P":
        img = img.convert("P")
    img.save(p)
    return str(p)


def _plan(paths, fmt, **kw):
    base = dict(target_size=(16, 16), channels=3, crop=None, resize_mode="stretch",
                padding_mode="zeros", interpolation="bilinear")
    return plan_read(paths, [fmt] * len(paths), **{**base, **kw})


def test_band_read_gives_the_full_decodes_pixels(tmp_path):
    p = _page(tmp_path, "a.jpg")
    band = _plan([p], "jpeg", crop=crops.get("top"), target_size=(8, 16))
    assert band.band is not None
    got = read_band(tf.constant(p), tf.constant(False), band)
    want = read_full(tf.constant(p), tf.constant(False), dataclasses.replace(band, band=None))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_reduced_read_and_dispatch(tmp_path):
    p = _page(tmp_path, "a.jpg", size=(400, 600))
    plan = _plan([p], "jpeg", reduced_decode=True, channels=1)
    assert plan.need == (16, 16) and plan.ratio == 8
    img = read_reduced(tf.constant(p), tf.constant(False), plan)
    assert img.shape == (16, 16, 1)
    np.testing.assert_array_equal(read_image(tf.constant(p), tf.constant(False), plan), img)


@pytest.mark.parametrize("mode,fmt", [("RGB", "png"), ("P", "bmp"), ("L", "bmp")])
def test_full_read_of_other_formats(tmp_path, mode, fmt):
    p = _page(tmp_path, f"a.{fmt}", mode=mode)
    plan = _plan([p], fmt)
    img = read_full(tf.constant(p), tf.constant(False), plan)
    assert img.shape == (16, 16, 3) and float(tf.reduce_max(img)) > 0


def test_rgba_read_keeps_alpha(tmp_path):
    p = _page(tmp_path, "a.png", mode="RGBA")
    plan = _plan([p], "png", channels=4)
    assert read_rgba(tf.constant(p), plan).shape == (16, 16, 4)


def test_indexed_bmp_branch_only_where_a_file_may_be_a_bmp(tmp_path):
    """A flow of sniffed PNG / JPEG files leaves the palette-BMP decoder out of its graph (a
    smaller graph, traced faster), with the same pixels; a BMP, or an unsniffed file, keeps it."""
    png, bmp = _page(tmp_path, "a.png", mode="RGB"), _page(tmp_path, "b.bmp", mode="P")
    assert _plan([png], "png").any_bmp is False and _plan([png], "jpeg").any_bmp is False
    assert _plan([bmp], "bmp").any_bmp is True
    assert plan_read([png], ["other"], target_size=(16, 16), channels=3, crop=None,
                     resize_mode="stretch", padding_mode="zeros",
                     interpolation="bilinear").any_bmp is True  # check=False: not sniffed

    def ops_and_image(plan, path):
        fn = tf.function(lambda p: read_full(p, tf.constant(False), plan))
        graph = fn.get_concrete_function(tf.TensorSpec([], tf.string)).graph
        return len(graph.get_operations()), fn(tf.constant(path)).numpy()

    n_lean, lean = ops_and_image(_plan([png], "png"), png)
    n_full, full = ops_and_image(dataclasses.replace(_plan([png], "png"), any_bmp=True), png)
    assert n_lean < n_full
    np.testing.assert_array_equal(lean, full)
    _, pal = ops_and_image(_plan([bmp], "bmp"), bmp)  # the palette file still decodes
    assert pal.shape == (16, 16, 3) and float(pal.max()) > 0


@pytest.mark.parametrize("augment,cache", [(False, False), (True, False), (False, True)])
def test_a_flows_dataset_functions_are_traced_without_autograph(tmp_path, monkeypatch, augment,
                                                                cache):
    """kerasdoc's own dataset functions are plain graph code: AutoGraph converts none of them
    (it would convert every function they call, ~1 s of CPU per process on the augmentation
    path); a user's preprocessing_function keeps AutoGraph (it may use Python control flow on
    tensors) and still gives the same batches as the NumPy reference."""
    from tensorflow.python.autograph.impl import api

    from kerasdoc.generators import ImageDataGenerator

    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(3):
            _page(tmp_path / c, f"{i}.png", mode="RGB")
    calls = []
    real = api.converted_call
    monkeypatch.setattr(api, "converted_call", lambda *a, **k: calls.append(1) or real(*a, **k))
    kw = dict(rotation_range=10, horizontal_flip=True) if augment else {}
    flow = ImageDataGenerator(rescale=1 / 255, **kw).flow_from_directory(
        str(tmp_path), target_size=(8, 8), batch_size=4, seed=1, cache=cache, check=False)
    x, _ = next(iter(flow.dataset))
    assert x.shape == (4, 8, 8, 3) and calls == []
    x, _ = next(iter(flow.get_tf_dataset()))  # fit's epoch-keyed pass
    assert x.shape == (4, 8, 8, 3) and calls == []
    x = ImageDataGenerator(**kw).flow((np.zeros((5, 8, 8, 3), "float32"), [np.arange(5.0)]),
                                      np.arange(5), batch_size=5, seed=1)
    assert len(next(iter(x.dataset))[0]) == 2 and calls == []  # (images, misc), y

    def darken_bright(img):  # Python control flow on a tensor: AutoGraph makes it a tf.cond
        if tf.reduce_mean(img) > 1000.0:
            return img * 0.0
        return img + 1.0

    flow = ImageDataGenerator(preprocessing_function=darken_bright, **kw).flow_from_directory(
        str(tmp_path), target_size=(8, 8), batch_size=6, seed=1, shuffle=False)
    x, _ = next(iter(flow.dataset))
    assert calls and x.shape == (6, 8, 8, 3) and float(tf.reduce_min(x)) >= 1.0

"""One image-size guard everywhere (kerasdoc.generators.limits), and resized pixels in range.

Every crafted file (benchmarks/bombs.py) is small and decodes to a huge image, most of them
while declaring a small one in the header a simpler check reads. Each is refused, before any
decoding, with one message naming the file and the limit, by every path: the flows' file checks,
``kerasdoc predict`` (``read_image_file``) and the exported ``serving_default``; the Python and
graph readers agree on every file; the serving call's peak memory stays near its baseline.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from benchmarks import bombs
from kerasdoc.export import export_for_serving, read_image_file
from kerasdoc.generators import BadImageFile, ImageDataGenerator, check_files, limits, sniff_image
from kerasdoc.generators.ops import INTERPOLATIONS, resize_image
from kerasdoc.generators.spec import ImageSpec

LIMIT = "89,478,485"
TOO_LARGE = r"image too large: \d+x\d+ = [\d,]+ pixels \(height x width[^)]*\) is above the " \
            r"limit of 89,478,485"


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """The crafted bombs plus a TIFF bomb (flows and predict read TIFF through PIL)."""
    out = tmp_path_factory.mktemp("bombs")
    paths = bombs.write(out)
    paths["tiff_header_10000x10000"] = out / "tiff_header_10000x10000.bin"
    paths["tiff_header_10000x10000"].write_bytes(bombs.tiff(10000, 10000))
    return paths


def _encode(arr, fmt, **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


def _small_images():
    rgb = np.random.RandomState(0).randint(0, 256, (21, 34, 3)).astype(np.uint8)
    pal = Image.fromarray(rgb[..., 0]).convert("P")
    buf = io.BytesIO()
    pal.save(buf, "BMP")
    return {"jpeg": _encode(rgb, "JPEG"), "png": _encode(rgb, "PNG"),
            "gif": _encode(rgb[..., 0], "GIF"), "bmp": _encode(rgb, "BMP"),
            "bmp_palette": buf.getvalue(), "tiff": _encode(rgb, "TIFF"),
            "jpeg_stray": bombs.jpeg(34, 21, stray=b"\0\0"),
            "gif_small_screen": bombs.gif((10, 10), [(34, 21)]),
            "gif_big_screen": bombs.gif((340, 210), [(34, 21)]),
            "gif_frames": bombs.gif((34, 21), [(34, 21)] * 3),
            "webp": bombs.webp_lossless(34, 21), "text": b"not an image at all"}


def _python(data: bytes):
    try:
        d = limits.decoded_size(data)
        return 0, d.height, d.width, d.pixels, d.note
    except limits.UnreadableHeader as e:
        return str(e)


_graph = tf.function(limits.decoded_size_graph)


def test_python_and_graph_guards_agree_on_every_crafted_and_small_file(crafted):
    files = {name: p.read_bytes() for name, p in crafted.items()} | _small_images()
    for name, data in files.items():
        code, h, w, n, note = (t.numpy() for t in _graph(tf.constant(data)))
        py = _python(data)
        if isinstance(py, str):  # refused in Python: refused in the graph (2 WebP, 1 other)
            assert code == (2 if name.startswith("webp") else 1), (name, py, code)
        elif name.startswith("tiff"):
            assert code == 4 and py[3] > 0, name  # the serving graph does not decode TIFF
        else:
            assert (code, h, w, n, note.decode()) == py, (name, py)


def test_the_guard_reads_what_tensorflow_allocates():
    """The rules checked on TensorFlow itself: a GIF's canvas is its largest frame (not the
    logical screen), two thin frames make a square canvas, and libjpeg skips stray bytes before
    the start-of-frame marker (the old Python reader gave up there, and did not check the size)."""
    for screen, frames in [((10, 10), [(300, 10), (10, 200)]), ((10, 10), [(60, 40)])]:
        data = bombs.gif(screen, frames)
        shape = tf.io.decode_image(data, channels=3, expand_animations=False).shape
        d = limits.decoded_size(data)
        assert (d.height, d.width) == tuple(shape[:2])
    data = bombs.gif((300, 200), [(10, 10)])  # a screen larger than every frame: counted
    assert tf.io.decode_image(data, expand_animations=False).shape[:2] == (10, 10)
    assert limits.decoded_size(data).pixels == 60_000
    data = bombs.jpeg(40, 24, stray=b"\0\0")
    assert tf.io.decode_image(data).shape[:2] == (24, 40)
    assert limits.decoded_size(data).pixels == 960


def test_every_path_refuses_every_bomb_with_one_message(crafted, tmp_path):
    gen = ImageDataGenerator()
    root = tmp_path / "root"
    (root / "c0").mkdir(parents=True)
    for name, path in crafted.items():
        webp = name.startswith("webp")
        want = limits.WEBP_REFUSED if webp else TOO_LARGE
        dst = root / "c0" / f"{name}.{'webp' if webp else 'png'}"
        dst.write_bytes(path.read_bytes())
        (tmp_path / "labels.txt").write_text(f"c0/{dst.name} 0\n")
        # flows: the label-file flow, and the file checks every file flow runs
        with pytest.raises(BadImageFile, match=rf"{dst.name}: {want if not webp else 'WebP'}"):
            gen.flow_from_labelfile(tmp_path / "labels.txt", root, (8, 8))
        with pytest.raises(BadImageFile, match=rf"{dst.name}: "):
            check_files([str(dst)])
        # predict
        with pytest.raises(ValueError, match=rf"{dst.name}: {want if not webp else 'WebP'}"):
            read_image_file(dst)
        dst.unlink()
    (root / "c0" / "ok.png").write_bytes(_encode(np.zeros((9, 9), np.uint8), "PNG"))
    (root / "c0" / "bomb.gif").write_bytes(crafted["gif_two_thin_frames"].read_bytes())
    with pytest.warns(UserWarning, match=r"skipped 1 of 2 bad image files \(1 image too large"):
        f = gen.flow_from_directory(root, (8, 8), on_bad="skip")
    assert f.samples == 1 and "bomb.gif" in f.skipped[0][0]


def test_robust_digit_folders_are_guarded_too(crafted, tmp_path):
    """`kerasdoc robust` reads digit folders with OpenCV (its own limit is 2**30 pixels)."""
    from kerasdoc.robustness import load_digit_folder

    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "bomb.png").write_bytes(crafted["gif_two_thin_frames"].read_bytes())
    with pytest.raises(BadImageFile, match=rf"bomb.png: {TOO_LARGE}"):
        load_digit_folder(tmp_path)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inp))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))
    return export_for_serving(model, "guard", tmp_path_factory.mktemp("sm"),
                              class_names=["a", "b", "c"], spec=ImageSpec((16, 16), "rgb",
                                                                          interpolation="lanczos"))


def test_serving_graph_refuses_every_bomb_with_the_same_message(crafted, served):
    serve = tf.saved_model.load(str(served)).signatures["serving_default"]
    for name, path in crafted.items():
        data = path.read_bytes()
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            serve(images=tf.constant([data]))
        msg = info.value.message
        if name.startswith("webp"):
            assert "WebP is not supported" in msg, name
        elif name.startswith("tiff"):
            assert "TIFF is not decoded by the serving graph" in msg, name
        else:  # the Python message, word for word (the graph adds where the limit comes from)
            reason = limits.check_decoded(limits.decoded_size(data))
            assert reason[:-1] in msg, (name, msg)
    small = _small_images()
    out = serve(images=tf.constant([small[k] for k in ("jpeg", "png", "gif", "bmp_palette",
                                                       "gif_small_screen", "jpeg_stray")]))
    assert out["probabilities"].shape == (6, 3)


def test_serving_peak_memory_stays_within_300_mb_of_its_baseline(crafted, served):
    """A fresh process (TensorFlow's allocations are invisible to tracemalloc): the largest
    ru_maxrss growth over all the crafted files, after a baseline call on a small PNG."""
    code = textwrap.dedent(f"""
        import io, json, resource
        import numpy as np, tensorflow as tf
        from PIL import Image
        serve = tf.saved_model.load({str(served)!r}).signatures["serving_default"]
        buf = io.BytesIO(); Image.fromarray(np.full((64, 48, 3), 200, np.uint8)).save(buf, "PNG")
        serve(images=tf.constant([buf.getvalue()]))
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        refused = 0
        for p in {[str(p) for p in crafted.values()]!r}:
            try:
                serve(images=tf.constant([open(p, "rb").read()]))
            except tf.errors.InvalidArgumentError:
                refused += 1
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"base_mb": base / 1024, "growth_mb": (peak - base) / 1024,
                          "refused": refused}}))
    """)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["refused"] == len(crafted)
    assert result["growth_mb"] < 300, result


def test_one_limit_no_raw_pil_warning(tmp_path, monkeypatch):
    """predict checked 100,000,000 pixels (and PIL warned on stderr); now every path checks
    KERASDOC_MAX_PIXELS, default 89,478,485, and PIL's bomb warning / error never surface."""
    png = tmp_path / "p.png"
    png.write_bytes(bombs.png(9500, 9500))  # 90,250,000 pixels: above PIL's limit, below 1e8
    tif = tmp_path / "t.tif"
    tif.write_bytes(bombs.tiff(9500, 9500))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning (PIL's DecompressionBombWarning) fails
        for p in (png, tif):
            with pytest.raises(BadImageFile, match=rf"{p.name}: image too large: 9500x9500 = "
                                                   rf"90,250,000 pixels .* limit of {LIMIT}"):
                sniff_image(p)
        with pytest.raises(ValueError, match=rf"p.png: image too large: .* limit of {LIMIT}"):
            read_image_file(png)
        monkeypatch.setenv("KERASDOC_MAX_PIXELS", "400000000")  # above twice PIL's limit
        big = tmp_path / "big.tif"
        big.write_bytes(bombs.tiff(19000, 19000))  # PIL alone raises DecompressionBombError
        assert sniff_image(big) == "tiff" and sniff_image(png) == "png"
    monkeypatch.setenv("KERASDOC_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="KERASDOC_MAX_PIXELS must be a positive whole number"):
        sniff_image(png)


def test_a_gif_of_tiny_blocks_is_refused_on_both_sides(monkeypatch):
    """Full 255-byte data blocks cost the graph's walk nothing (it jumps over up to 65 at a
    time); more than GIF_MAX_STEPS records and short blocks is refused on both sides, so 1-byte
    blocks cannot keep a serving call busy."""
    monkeypatch.setattr(limits, "GIF_MAX_STEPS", 40)
    head = bombs.gif((10, 10), [])[:-1] + b"\x2c" + b"\0" * 4 + b"\x0a\x00\x0a\x00\x00\x02"
    tiny, full = head + b"\x01\x00" * 50 + b"\x00\x3b", bombs.gif((10, 10), [(3000, 3000)])
    graph = tf.function(limits.decoded_size_graph)  # traced with the patched limit
    with pytest.raises(limits.UnreadableHeader, match="more than 40 short blocks"):
        limits.decoded_size(tiny)
    assert int(graph(tf.constant(tiny))[0]) == 3
    assert full.count(b"\xff") > 40  # dozens of full blocks, a handful of steps
    assert limits.decoded_size(full).pixels == 9_000_000 == int(graph(tf.constant(full))[3])


def test_unreadable_headers_are_refused_not_decoded(tmp_path):
    cases = {
        "noihdr.png": b"\x89PNG\r\n\x1a\n" + b"\0\0\0\x04abcd" + b"\0" * 40 + b"IEND\xaeB`\x82",
        "nosof.jpg": b"\xff\xd8\xff\xe0\x00\x04ab\xff\xd9",
        "badblock.gif": bombs.gif((10, 10), [(10, 10)])[:-1] + b"\x99\x3b",
        "noframe.gif": bombs.gif((10, 10), []),
        "noifd.tif": b"II*\x00\x08\x00\x00\x00\x00\x00" + b"\0" * 30,
        "os2.bmp": b"BM" + struct.pack("<IHHIIHHHH", 26 + 1800, 0, 0, 26, 12, 30, 20, 1, 24)
        + b"\x80" * 1800,
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(BadImageFile, match=rf"{name}: .*(cannot be read|without|unknown)"):
            sniff_image(tmp_path / name)
        if not name.endswith((".tif", ".jpg")):  # graph: TIFF refused as such; JPEG by libjpeg
            code = _graph(tf.constant(data))[0]
            assert int(code) == 3, name


# ----------------------------------------------------------------------------- pixel range
def _page():
    """A white page with black text-like strokes: sharp edges make cubic / Lanczos overshoot."""
    img = np.full((90, 70), 255, np.uint8)
    img[10:80:6, 5:65] = 0
    img[20:70, 30:32] = 0
    return img


@pytest.mark.parametrize("size", [(37, 23), (150, 110)], ids=["down", "up"])
def test_resized_pixels_stay_in_range_with_every_interpolation(size):
    page = tf.constant(_page()[..., None], tf.float32)
    for interpolation in INTERPOLATIONS:
        for mode in ("stretch", "pad", "crop"):
            out = resize_image(page, size, mode=mode, interpolation=interpolation).numpy()
            assert out.min() >= 0 and out.max() <= 255, (interpolation, mode)


def _flows_in_range(tmp_path, interpolations):
    (tmp_path / "c0").mkdir(exist_ok=True)
    Image.fromarray(_page()).save(tmp_path / "c0" / "a.png")
    Image.fromarray(_page()[::-1].copy()).convert("RGB").save(tmp_path / "c0" / "b.jpg",
                                                              quality=95)
    png = (tmp_path / "c0" / "a.png").read_bytes()
    gen = ImageDataGenerator(rescale=1 / 255)
    for interpolation in interpolations:
        spec = ImageSpec((37, 23), "rgb", 1 / 255, interpolation=interpolation)
        flow = gen.flow_from_directory(tmp_path, spec=spec, batch_size=2, shuffle=False)
        for x in (next(iter(flow.dataset))[0].numpy(), flow[0][0],
                  spec.decode_and_preprocess(tf.constant(png)).numpy()):
            assert x.min() >= 0 and x.max() <= 1.0, interpolation


def test_flows_hand_pulled_batches_and_serving_stay_within_0_1(tmp_path):
    """rescale=1/255 gives at most 1.0 (was 1.0000006 on real pages) in a pass, in a hand-pulled
    batch and through the serving graph's preprocessing: the default (Keras 2 "bilinear" =
    PIL's antialiased), cubic and Lanczos filters here; every interpolation in the slow test and,
    op by op, in test_resized_pixels_stay_in_range_with_every_interpolation."""
    _flows_in_range(tmp_path, ["bilinear", "bicubic", "lanczos", "lanczos5"])


@pytest.mark.slow
def test_flows_stay_within_0_1_with_every_interpolation(tmp_path):
    _flows_in_range(tmp_path, INTERPOLATIONS)


def test_serving_graph_stays_within_0_1_with_every_interpolation():
    png = tf.constant(_encode(_page(), "PNG"))
    for interpolation in INTERPOLATIONS:
        for crop in (None, "top", "full"):
            spec = ImageSpec((37, 23) if crop is None else (16, 16), "rgb", 1 / 255,
                             interpolation=interpolation, crop=crop)
            x = spec.decode_and_preprocess(png).numpy()
            assert x.min() >= 0 and x.max() <= 1.0, (interpolation, crop)


def test_real_pages_stay_within_0_1():
    data = "/work/shared/data/rvl-cdip-mini"
    if not os.path.isdir(data):
        pytest.skip("no rvl-cdip-mini here")
    lines = open(f"{data}/labels/val.txt").read().splitlines()[:16]
    label_file = f"{os.environ.get('TMPDIR', '/tmp')}/kd-limits-{os.getpid()}.txt"
    with open(label_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    try:
        flow = ImageDataGenerator(rescale=1 / 255).flow_from_labelfile(
            label_file, data, (128, 96), num_classes=16, batch_size=16, shuffle=False)
        x = next(iter(flow.dataset))[0].numpy()
    finally:
        os.unlink(label_file)
    assert 0 <= x.min() and x.max() <= 1.0


def test_docstring_examples():
    import doctest

    from kerasdoc.generators import files

    for module in (limits, files):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__

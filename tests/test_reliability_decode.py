"""Issue 13, items 2 and 6: files that pass the header checks but do not decode name themselves
(``on_bad="raise"``) or are skipped with their labels, counted, wherever in a pass they come
(``on_bad="skip"``); CMYK JPEGs decode for grayscale models; 1-, 4- and 8-bit palette BMPs decode
to their real colours in the training flows, evaluation and the serving graph; a decompression
bomb is refused from its header, before anything is decoded."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import textwrap
import warnings
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdoc.generators import BadImageFile, ImageDataGenerator, sniff_image
from kerasdoc.generators.ops import decode_image
from kerasdoc.generators.spec import ImageSpec

GEN = ImageDataGenerator()
RNG = np.random.default_rng(0)
NOISE = RNG.integers(0, 255, (40, 40, 3), np.uint8)


# ----------------------------------------------------------------------------- bad files, by bytes
def corrupt_jpeg() -> bytes:
    """A JPEG whose header and end marker are intact but whose scan data is garbage."""
    b = io.BytesIO()
    Image.fromarray(NOISE).save(b, "JPEG", quality=90)
    data = bytearray(b.getvalue())
    sos = data.find(b"\xff\xda")
    for i in range(sos + 20, len(data) - 2, 7):
        data[i] = 0xFF
    return bytes(data)


def bad_idat_png() -> bytes:
    """A PNG with an intact header and IEND chunk but zeroed compressed data."""
    b = io.BytesIO()
    Image.fromarray(NOISE).save(b, "PNG")
    data = bytearray(b.getvalue())
    i = data.find(b"IDAT")
    data[i + 10:i + 40] = bytes(30)
    return bytes(data)


def cmyk_jpeg() -> bytes:
    b = io.BytesIO()
    Image.fromarray(NOISE).convert("CMYK").save(b, "JPEG", quality=95)
    return b.getvalue()


def indexed_bmp(idx: np.ndarray, palette: np.ndarray, bpp: int, top_down: bool = False) -> bytes:
    """An uncompressed ``bpp``-bit BMP (1, 4 or 8) of palette indices ``idx`` (h, w)."""
    h, w = idx.shape
    row_bytes = (bpp * w + 31) // 32 * 4
    rows = []
    for r in (range(h) if top_down else range(h - 1, -1, -1)):
        bits = "".join(format(int(v), f"0{bpp}b") for v in idx[r])
        bits = bits.ljust(row_bytes * 8, "0")
        rows.append(int(bits, 2).to_bytes(row_bytes, "big"))
    pal = b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    off = 14 + 40 + len(pal)
    pixels = b"".join(rows)
    dib = struct.pack("<IiiHHIIiiII", 40, w, -h if top_down else h, 1, bpp, 0, len(pixels),
                      2835, 2835, len(palette), 0)
    return b"BM" + struct.pack("<IHHI", off + len(pixels), 0, 0, off) + dib + pal + pixels


def bomb_png(side: int = 30000) -> bytes:
    """A 1-bit ``side`` x ``side`` all-black PNG (about 100 kB for 30000: 900 Mpx)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    z = zlib.compressobj(9)
    row = bytes(1 + (side + 7) // 8)
    body = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
            + chunk(b"IEND", b""))


BAD = {"corrupt.jpg": corrupt_jpeg, "bad_idat.png": bad_idat_png}


def make_root(tmp_path, n=4, bad=None):
    """root/c<k>/<i>.png, pixel value 10 * k + i (so a pixel tells its label)."""
    root = tmp_path / "root"
    for k in range(3):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((6, 6), 10 * k + i, np.uint8)).save(root / f"c{k}/{i}.png")
    for rel, data in (bad or {}).items():
        (root / rel).write_bytes(data)
    return root


def pixels_and_labels(ds):
    xs, ys = [], []
    for x, y in ds:
        xs.append(np.asarray(x)[:, 0, 0, 0])
        ys.append(np.asarray(y))
    return np.concatenate(xs), np.concatenate(ys)


# ----------------------------------------------------------------------------- decode failures
@pytest.mark.parametrize("name", sorted(BAD))
def test_undecodable_file_passes_the_header_check_then_names_itself(tmp_path, name):
    root = make_root(tmp_path, bad={f"c1/{name}": BAD[name]()})
    assert sniff_image(root / "c1" / name) in ("jpeg", "png")  # header and trailer look fine
    f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse", batch_size=4)
    with pytest.raises(tf.errors.OpError, match=rf"c1/{name}: (cannot be decoded|TensorFlow)"
                                                r".*on_bad='skip'"):
        for _ in f.dataset:
            pass


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("cache", [False, True])
def test_skip_drops_undecodable_files_with_their_labels(tmp_path, where, cache):
    """Bad files at the start, middle or end of the class order, shuffled over two passes: each
    pass has 12 images, every pixel matches its label, and the flow counts the 2 skipped."""
    pos = {"first": "c0/0", "middle": "c1/1b", "last": "c2/9"}[where]
    root = make_root(tmp_path, bad={f"{pos}.jpg": corrupt_jpeg(), f"{pos}x.png": bad_idat_png()})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                    batch_size=5, shuffle=True, seed=3, on_bad="skip",
                                    cache=cache)
        assert f.samples == 14 and f.skipped == []  # found while decoding, not before
        for _ in range(2):
            px, y = pixels_and_labels(f.dataset)
            assert len(px) == 12
            np.testing.assert_array_equal(px // 10, y)
    assert sorted(p.rsplit("/", 1)[1] for p, _ in f.skipped) == sorted(
        [pos.split("/")[1] + ".jpg", pos.split("/")[1] + "x.png"])
    msgs = [str(x.message) for x in w if "fails to decode" in str(x.message)]
    assert len(msgs) == 2 and all("label is dropped" in m for m in msgs)


def test_skip_in_hand_pulled_batches_and_keras_fit(tmp_path):
    root = make_root(tmp_path, bad={"c1/zz.jpg": corrupt_jpeg()})
    gen = ImageDataGenerator(rescale=1 / 255.0, horizontal_flip=True)
    with pytest.warns(UserWarning, match="fails to decode"):
        f = gen.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                    batch_size=13, shuffle=False, on_bad="skip")
        x, y = next(iter(f))  # Keras 2 style: a NumPy batch of the 13 files, one undecodable
    assert x.shape[0] == 12 and np.array_equal(np.round(x[:, 0, 0, 0] * 255) // 10, y)
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    hist = model.fit(f, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2 and np.isfinite(hist.history["loss"]).all()
    raising = gen.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                      batch_size=13)
    with pytest.raises(tf.errors.OpError, match=r"c1/zz\.jpg: "):
        model.fit(raising, epochs=1, verbose=0)


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_shuffled_skip_names_exactly_the_bad_files_in_every_pass(tmp_path, batch_size):
    """Many bad files among good ones, shuffled: every pass (Keras' seeded epoch passes and the
    unseeded flow.dataset) has every good image once with its label, and ``skipped`` holds
    exactly the bad files, each once, wherever the shuffle put them (first, runs, last)."""
    bad = {f"c{k}/bad{i}.{'jpg' if i % 2 else 'png'}": corrupt_jpeg() if i % 2 else bad_idat_png()
           for k in range(3) for i in range(3)}
    root = make_root(tmp_path, n=5, bad=bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (None, 0, 1):
            f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                        batch_size=batch_size, shuffle=True, seed=seed,
                                        on_bad="skip")
            passes = [f.dataset] * 2
            if seed is not None:
                passes += [f._pass_fn(tf.constant(e, tf.int64)) for e in range(3)]
            for ds in passes:
                px, y = pixels_and_labels(ds)
                assert sorted(px.tolist()) == sorted(10 * k + i for k in range(3) for i in range(5))
                np.testing.assert_array_equal(px // 10, y)
            assert sorted(os.path.relpath(p, root) for p, _ in f.skipped) == sorted(bad)


def test_all_files_bad(tmp_path):
    root = tmp_path / "root"
    for k in range(2):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(3):
            (root / f"c{k}/{i}.jpg").write_bytes(corrupt_jpeg())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                    batch_size=4, shuffle=True, on_bad="skip")
        assert sum(int(x.shape[0]) for x, _ in f.dataset) == 0
    assert len(f.skipped) == 6
    f = GEN.flow_from_directory(root, (4, 4), "grayscale", batch_size=4, shuffle=True)
    with pytest.raises(tf.errors.OpError, match=r"c[01]/[0-2]\.jpg: cannot be decoded"):
        for _ in f.dataset:
            pass


@pytest.mark.parametrize("batch_size", [1, 5, 64])
@pytest.mark.parametrize("shuffle", [False, True])
def test_raise_names_the_bad_file_not_a_neighbour(tmp_path, batch_size, shuffle):
    """A failing file drops its whole batch from the fast path; the flow then reads that batch's
    files one by one and names the bad one, wherever it is."""
    root = make_root(tmp_path, n=6, bad={"c2/m.jpg": corrupt_jpeg()})
    f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                batch_size=batch_size, shuffle=shuffle, seed=5)
    for ds in (f.dataset, f._pass_fn(tf.constant(1, tf.int64))):
        with pytest.raises(tf.errors.OpError, match=r"c2/m\.jpg: cannot be decoded"):
            for _ in ds:
                pass


def test_guarded_passes_keep_their_length(tmp_path):
    """With on_bad="raise" a guarded pass has a known length (tools that read
    ``dataset.cardinality()``, e.g. the one-cycle schedule, rely on it); with "skip" it cannot."""
    root = make_root(tmp_path)
    for shuffle in (False, True):
        f = GEN.flow_from_directory(root, (4, 4), "grayscale", batch_size=5, shuffle=shuffle,
                                    seed=1)
        assert int(f.dataset.cardinality()) == 3 == len(f)
        assert int(f._pass_fn(tf.constant(0, tf.int64)).cardinality()) == 3
    f = GEN.flow_from_directory(root, (4, 4), "grayscale", batch_size=5, on_bad="skip")
    assert int(f.dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY


def test_errors_after_decoding_surface_as_they_are(tmp_path):
    """The decode guard catches decode failures only: an error of a later step (here a
    preprocessing_function's assertion) is not turned into a bad-file error."""
    root = make_root(tmp_path)

    def picky(x):
        tf.debugging.assert_less(tf.reduce_max(x), 15.0, message="too bright for picky")
        return x

    f = ImageDataGenerator(preprocessing_function=picky).flow_from_directory(
        root, (4, 4), "grayscale", class_mode="sparse", batch_size=4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="too bright for picky"):
        for _ in f.dataset:
            pass


@pytest.mark.parametrize("bad_names", [["c1/zz.jpg"], ["c0/a.jpg", "c1/zz.jpg", "c2/z.png"]])
def test_hand_pulled_batches_name_or_skip_bad_files(tmp_path, bad_names):
    """Keras 2 style ``next(flow)`` / ``flow[i]``: a raising flow names the bad file (a
    BadImageFile, as the file checks raise), a skipping one drops it with its label and records
    it; a batch of nothing but bad files is an empty batch."""
    bad = {name: corrupt_jpeg() if name.endswith(".jpg") else bad_idat_png() for name in bad_names}
    root = make_root(tmp_path, bad=bad)
    f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse", batch_size=20,
                                shuffle=False)
    with pytest.raises(BadImageFile, match=r"c[0-2]/z?[az]+\.(jpg|png): cannot be decoded"):
        next(f)
    with pytest.warns(UserWarning, match="fails to decode"):
        f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                    batch_size=20, shuffle=False, on_bad="skip")
        x, y = f[0]
    assert x.shape[0] == 12 and np.array_equal(x[:, 0, 0, 0] // 10, y)
    assert sorted(os.path.relpath(p, root) for p, _ in f.skipped) == sorted(bad_names)
    paths = f.filepaths
    only_bad = [i for i, p in enumerate(paths) if os.path.relpath(p, root) in bad]
    x, y = f._get_batches_of_transformed_samples(np.asarray(only_bad))
    assert x.shape == (0, 4, 4, 1) and y.shape == (0,)


@pytest.mark.parametrize("check", [False, "header"])
def test_unchecked_flow_keeps_the_raw_tensorflow_error(tmp_path, check):
    """check=False / "header" are the documented fast paths without the decode guard."""
    root = make_root(tmp_path, bad={"c1/zz.jpg": corrupt_jpeg()})
    f = GEN.flow_from_directory(root, (4, 4), "grayscale", check=check, on_bad="skip")
    with pytest.raises(tf.errors.InvalidArgumentError):
        for _ in f.dataset:
            pass


# ----------------------------------------------------------------------------- decompression bomb
def test_decompression_bomb_is_refused_from_its_header(tmp_path):
    root = make_root(tmp_path, bad={"c0/bomb.png": bomb_png()})
    size = (root / "c0" / "bomb.png").stat().st_size
    assert size < 200_000
    with pytest.raises(BadImageFile, match=r"bomb\.png: image too large: 30000x30000 = "
                                           r"900,000,000 pixels .* limit of 89,478,485"):
        GEN.flow_from_directory(root, (4, 4))
    with pytest.warns(UserWarning, match=r"skipped 1 of 13 bad image files \(1 image too large"):
        f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                    on_bad="skip")
    assert f.samples == 12


def test_pixel_limit_is_configurable(tmp_path, monkeypatch):
    p = tmp_path / "big.png"
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(p)
    monkeypatch.setenv("KERASDOC_MAX_PIXELS", "1199")
    with pytest.raises(BadImageFile, match=r"big\.png: image too large: 30x40 = 1,200 pixels"):
        sniff_image(p)
    monkeypatch.setenv("KERASDOC_MAX_PIXELS", "1200")
    assert sniff_image(p) == "png"


@pytest.mark.slow
def test_decompression_bomb_peak_memory(tmp_path):
    """A subprocess meets the bomb (30000 x 30000 1-bit PNG: 3.6 GB as float32) with
    on_bad='skip' and reads a pass of the rest; its peak RSS stays that of TensorFlow itself."""
    root = make_root(tmp_path, bad={"c0/bomb.png": bomb_png()})
    code = textwrap.dedent(f"""
        import resource, warnings
        warnings.simplefilter("ignore")
        from kerasdoc.generators import ImageDataGenerator
        f = ImageDataGenerator().flow_from_directory({str(root)!r}, (4, 4), "grayscale",
                                                     on_bad="skip")
        print("SAMPLES", f.samples)
        for _ in f.dataset:
            pass
        print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300).stdout
    kb = int(out.split("MAXRSS_KB")[1].split()[0])
    print(f"bomb: peak RSS {kb / 1024:.0f} MiB")
    assert "SAMPLES 12" in out and kb < 1_500_000, out


# ----------------------------------------------------------------------------- CMYK, BMP colours
def test_cmyk_jpeg_decodes_for_grayscale_and_rgb(tmp_path):
    data = cmyk_jpeg()
    (tmp_path / "c" / "x").mkdir(parents=True)
    (tmp_path / "c" / "x" / "cmyk.jpg").write_bytes(data)
    want_rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)
    want_l = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32)
    for ch, want in ((3, want_rgb), (1, want_l[..., None])):
        got = decode_image(tf.constant(data), ch).numpy()
        assert got.shape == want.shape and np.abs(got - want).mean() < 2.0
    for mode, c in (("grayscale", 1), ("rgb", 3)):
        for reduced in (False, True):
            f = GEN.flow_from_directory(tmp_path / "c", (40, 40), mode, class_mode=None,
                                        shuffle=False, reduced_decode=reduced)
            x = next(iter(f.dataset)).numpy()
            want = want_l[..., None] if c == 1 else want_rgb
            assert x.shape == (1, 40, 40, c) and np.abs(x[0] - want).mean() < 2.0
            # a band crop decodes only the band (generators.ops.decode_band)
            f = GEN.flow_from_directory(tmp_path / "c", (10, 20), mode, class_mode=None,
                                        shuffle=False, reduced_decode=reduced, crop="top")
            x = next(iter(f.dataset)).numpy()
            assert x.shape == (1, 10, 20, c) and np.isfinite(x).all() and x.std() > 1


PALETTE = np.array([[255, 0, 0], [0, 128, 255], [20, 200, 40], [250, 250, 10]] * 4, np.uint8)


@pytest.mark.parametrize("bpp,top_down", [(1, False), (4, False), (8, False), (8, True)])
def test_palette_bmp_decodes_to_colours(bpp, top_down):
    idx = RNG.integers(0, min(2 ** bpp, 16), (5, 7))
    data = indexed_bmp(idx, PALETTE[: 2 ** bpp] if bpp < 8 else PALETTE, bpp, top_down)
    pil = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)
    np.testing.assert_array_equal(pil, PALETTE[idx])  # the crafted file is what we think
    np.testing.assert_array_equal(decode_image(tf.constant(data), 3).numpy(), pil)
    gray = decode_image(tf.constant(data), 1).numpy()[..., 0]
    np.testing.assert_allclose(gray, np.asarray(tf.image.rgb_to_grayscale(pil))[..., 0],
                               atol=1e-3)


def test_pil_written_palette_and_1bit_bmps_in_flows(tmp_path):
    pal = Image.fromarray(NOISE).convert("P", palette=Image.ADAPTIVE, colors=16)
    one = Image.fromarray(NOISE[..., 0] > 128).convert("1")
    d = tmp_path / "d" / "x"
    d.mkdir(parents=True)
    pal.save(d / "a_pal.bmp")
    one.save(d / "b_one.bmp")
    want = np.stack([np.asarray(pal.convert("RGB")), np.asarray(one.convert("RGB"))]) / 255.0
    f = ImageDataGenerator(rescale=1 / 255.0).flow_from_directory(
        d.parent, (40, 40), "rgb", class_mode=None, shuffle=False)
    np.testing.assert_allclose(next(iter(f.dataset)).numpy(), want, atol=1e-6)  # training
    np.testing.assert_allclose(next(iter(f)), want, atol=1e-6)  # hand-pulled (evaluate/predict)
    spec = f.spec  # the serving decode path replays the same spec on the file bytes
    got = spec.decode_batch(tf.constant([(d / "a_pal.bmp").read_bytes(),
                                         (d / "b_one.bmp").read_bytes()])).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_palette_bmp_through_the_exported_serving_graph(tmp_path):
    from kerasdoc.export import export_for_serving

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    idx = RNG.integers(0, 16, (8, 8))
    data = indexed_bmp(idx, PALETTE, 8)
    path = export_for_serving(model, "pal", tmp_path, class_names=["a", "b"],
                              spec=ImageSpec((8, 8), "rgb"))
    served = tf.saved_model.load(str(path)).signatures["serving_default"](
        images=tf.constant([data]))["probabilities"].numpy()
    want = model.predict(PALETTE[idx][None] / 255.0, verbose=0)
    wrong = model.predict(np.repeat(idx[None, ..., None], 3, -1) / 255.0, verbose=0)
    np.testing.assert_allclose(served, want, atol=1e-5)
    assert not np.allclose(served, wrong, atol=1e-3)

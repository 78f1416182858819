"""TF Serving export: layout, signatures, saved_model_cli, fresh-process loading, REST bodies."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdoc.export import (
    Predictor,
    export_for_serving,
    next_version,
    read_export_metadata,
    read_image_file,
    resolve_version_dir,
)
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.serving_client import (
    build_predict_request,
    decode_request_instances,
    predict_rest,
    predict_url,
)

SAVED_MODEL_CLI = str(Path(sys.executable).with_name("saved_model_cli"))
CLASSES = ["invoice", "receipt", "letter"]


def _encode(array: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    img = Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array)
    img.save(buf, format=fmt)
    return buf.getvalue()


def _model(shape=(20, 20, 1), name="m"):
    keras.utils.set_random_seed(1)
    inp = keras.Input(shape, name=f"{name}_input")
    x = keras.layers.Conv2D(4, 3, activation="relu", name=f"{name}_conv")(inp)
    x = keras.layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    x = keras.layers.Dense(3, name=f"{name}_logits",
                           kernel_initializer=keras.initializers.RandomNormal(0, 3))(x)
    out = keras.layers.Activation("softmax", name=f"{name}_softmax")(x)
    return keras.Model(inp, out, name=name)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models")
    model = _model()
    path = export_for_serving(model, "docs", base, class_names=CLASSES, top_k=2)
    return model, path


@pytest.fixture(scope="module")
def images():
    rng = np.random.RandomState(0)
    gray = rng.randint(0, 256, (20, 20, 1)).astype(np.uint8)
    rgb = rng.randint(0, 256, (37, 29, 3)).astype(np.uint8)
    return gray, rgb


def test_layout_versions_and_no_overwrite(tmp_path):
    model = _model()
    p1 = export_for_serving(model, "docs", tmp_path, class_names=CLASSES)
    p2 = export_for_serving(model, "docs", tmp_path, class_names=CLASSES)
    assert (p1.name, p2.name) == ("1", "2") and next_version(tmp_path / "docs") == 3
    for p in (p1, p2):
        assert (p / "saved_model.pb").is_file() and (p / "variables").is_dir()
        assert (p / "assets" / "class_names.txt").read_text().split() == CLASSES
    before = (p2 / "saved_model.pb").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match=r"docs/2 already exists"):
        export_for_serving(model, "docs", tmp_path, version=2, class_names=CLASSES)
    assert (p2 / "saved_model.pb").stat().st_mtime_ns == before
    assert sorted(os.listdir(tmp_path / "docs")) == ["1", "2"]  # no temporary folder left
    p7 = export_for_serving(model, "docs", tmp_path, version=7, class_names=CLASSES)
    assert p7.name == "7" and resolve_version_dir(tmp_path / "docs") == p7
    meta = read_export_metadata(p7)
    assert meta["class_names"] == CLASSES and meta["image_spec"][0]["image_size"] == [20, 20]


@pytest.fixture(scope="module")
def saved_model_cli(exported, images, tmp_path_factory):
    """`saved_model_cli show --all` and `saved_model_cli run` on a PNG, run side by side."""
    _, path = exported
    tmp = tmp_path_factory.mktemp("cli")
    np.save(tmp / "in.npy", np.array([_encode(images[0], "PNG")], dtype=object),
            allow_pickle=True)
    cmds = {"show": [SAVED_MODEL_CLI, "show", "--all", "--dir", str(path)],
            "run": [SAVED_MODEL_CLI, "run", "--dir", str(path), "--tag_set", "serve",
                    "--signature_def", "serving_default", "--inputs",
                    f"images={tmp / 'in.npy'}", "--outdir", str(tmp / "o")]}
    procs = {k: subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, c in cmds.items()}
    outs = {}
    for k, proc in procs.items():
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        outs[k] = out
    outs["outdir"] = tmp / "o"
    return outs


def test_saved_model_cli_show_lists_named_signatures(saved_model_cli):
    out = saved_model_cli["show"]
    for sig in ("serving_default", "predict_tensor", "predict_tensor_uint8"):
        assert f"signature_def['{sig}']" in out
    for name in ("probabilities", "class_ids", "class_names", "top_k_probabilities",
                 "top_k_class_ids", "top_k_class_names"):
        assert f"outputs['{name}']" in out
    assert "dtype: DT_STRING" in out and "inputs['images']" in out


def test_saved_model_cli_show_in_process_prints_what_the_command_prints(exported,
                                                                       saved_model_cli):
    from kerasdoc.export import saved_model_cli_show

    def lines(text):  # the op list is a Python set: its order changes from process to process
        return [sorted(ln.split("{", 1)[1].rstrip("}").split(", ")) if "ops: {" in ln else ln
                for ln in text.splitlines()]

    _, path = exported
    text = saved_model_cli_show(path)
    assert lines(text) == lines(saved_model_cli["show"])
    assert "signature_def['serving_default']" in text and "Concrete Functions:" in text
    assert "'Conv2D'" in text  # the op list


def test_saved_model_cli_run_matches_keras_probabilities(exported, images, saved_model_cli):
    model, _ = exported
    gray, _ = images
    probs = np.load(saved_model_cli["outdir"] / "probabilities.npy")
    # Reference: the Keras model on the image rescaled by numpy (same size: no resize).
    want = model.predict(gray[None].astype("float32") / 255.0, verbose=0)
    np.testing.assert_allclose(probs, want, atol=1e-5)
    names = np.load(saved_model_cli["outdir"] / "class_names.npy", allow_pickle=True)
    assert names[0].decode() == CLASSES[int(want.argmax())]


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "GIF", "JPEG"])
def test_serving_default_equals_the_training_flow(exported, images, fmt, tmp_path):
    """The signature on file bytes gives what the model gives on the generators flow's batch."""
    from kerasdoc.generators import ImageDataGenerator

    model, path = exported
    loaded = tf.saved_model.load(str(path))
    gray, rgb = images
    (tmp_path / "c").mkdir()
    files = []
    for i, arr in enumerate([rgb, gray]):
        data = _encode(arr, fmt)
        (tmp_path / "c" / f"{i}.{fmt.lower()}").write_bytes(data)
        files.append(data)
    prep = ImageSpec((20, 20), "grayscale")
    if fmt in ("PNG", "JPEG"):
        flow = ImageDataGenerator().flow_from_directory(
            tmp_path, spec=prep, class_mode=None, shuffle=False, batch_size=2)
        x = next(iter(flow))
    else:  # TF cannot decode BMP / GIF to one channel (nor can the flows yet): RGB -> luma
        x = tf.stack([tf.image.resize(tf.image.rgb_to_grayscale(
            np.array(Image.open(io.BytesIO(d)).convert("RGB"), np.float32)), (20, 20)) / 255.0
            for d in files])
    want = model.predict(x, verbose=0)
    out = loaded.signatures["serving_default"](images=tf.constant(files))
    np.testing.assert_allclose(out["probabilities"].numpy(), want, atol=1e-5)
    assert out["top_k_class_ids"].shape == (2, 2)
    assert [n.decode() for n in out["top_k_class_names"].numpy()[0]] == \
        [CLASSES[i] for i in np.argsort(-want[0])[:2]]
    if fmt == "PNG":  # lossless: the flow's pixels are the file's, independently read
        np.testing.assert_allclose(np.asarray(x[1])[..., 0], gray[..., 0] / 255.0, atol=1e-6)


def test_predict_tensor_signatures_take_float_and_uint8(exported, images):
    model, path = exported
    loaded = tf.saved_model.load(str(path))
    _, rgb = images
    batch = np.stack([rgb, rgb[::-1]])
    f = loaded.signatures["predict_tensor"](images=tf.constant(batch, tf.float32))
    u = loaded.signatures["predict_tensor_uint8"](images=tf.constant(batch, tf.uint8))
    want = model.predict(ImageSpec((20, 20)).preprocess_batch(tf.constant(batch)),
                         verbose=0)
    np.testing.assert_allclose(f["probabilities"].numpy(), want, atol=1e-5)
    np.testing.assert_allclose(u["probabilities"].numpy(), want, atol=1e-5)
    assert f["class_ids"].dtype == tf.int64 and f["probabilities"].dtype == tf.float32


def test_fresh_process_without_kerasdoc_serves_it(exported, images, tmp_path):
    model, path = exported
    gray, _ = images
    (tmp_path / "img.png").write_bytes(_encode(gray, "PNG"))
    code = (
        "import sys, json, tensorflow as tf\n"
        f"m = tf.saved_model.load({str(path)!r})\n"
        f"data = open({str(tmp_path / 'img.png')!r}, 'rb').read()\n"
        "out = m.signatures['serving_default'](images=tf.constant([data]))\n"
        "assert not any(k.startswith('kerasdoc') for k in sys.modules)\n"
        "print(json.dumps({'p': out['probabilities'].numpy().tolist(),"
        " 'n': out['class_names'].numpy()[0].decode()}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    want = model.predict(gray[None].astype("float32") / 255.0, verbose=0)
    np.testing.assert_allclose(got["p"], want, atol=1e-5)
    assert got["n"] == CLASSES[int(want.argmax())]


def _jsonable(a):
    if isinstance(a, bytes):
        return a.decode()
    if isinstance(a, np.ndarray) and a.dtype == object:
        return [_jsonable(x) for x in a]
    return a.tolist()


class _FakeServing(BaseHTTPRequestHandler):
    """Answers TF Serving's REST :predict in the row format, from a loaded SavedModel."""

    loaded = None
    bodies: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if not self.path.endswith(":predict") or "/v1/models/docs" not in self.path:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(json.dumps({"error": f"no model at {self.path}"}).encode())
            return
        fn = self.loaded.signatures[body["signature_name"]]
        out = fn(images=tf.constant(decode_request_instances(body)))
        n = len(body["instances"])
        rows = [{k: _jsonable(v.numpy()[i]) for k, v in out.items()} for i in range(n)]
        data = json.dumps({"predictions": rows}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake_server(exported):
    _, path = exported
    _FakeServing.loaded = tf.saved_model.load(str(path))
    server = HTTPServer(("127.0.0.1", 0), _FakeServing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_rest_body_decodes_to_the_signature_inputs(exported, images, fake_server, capsys):
    model, path = exported
    gray, rgb = images
    files = [_encode(gray, "PNG"), _encode(rgb, "JPEG")]
    body = build_predict_request(files)
    assert body["signature_name"] == "serving_default"
    assert set(body["instances"][0]) == {"b64"}
    assert decode_request_instances(json.loads(json.dumps(body))) == files
    direct = tf.saved_model.load(str(path)).signatures["serving_default"](
        images=tf.constant(files))
    preds = predict_rest(predict_url(fake_server, "docs"), files)
    np.testing.assert_allclose([p["probabilities"] for p in preds],
                               direct["probabilities"].numpy(), atol=1e-6)
    assert [p["class_names"] for p in preds] == \
        [n.decode() for n in direct["class_names"].numpy()]
    # `kerasdoc predict NAME IMAGE... --server URL` prints the server's answer.
    from kerasdoc.cli import main

    tmp = Path(path).parent.parent
    (tmp / "a.png").write_bytes(files[0])
    (tmp / "b.jpg").write_bytes(files[1])
    assert main(["predict", "docs", str(tmp / "a.png"), str(tmp / "b.jpg"),
                 "--server", fake_server]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [r[1] for r in rows] == [p["class_names"] for p in preds]
    np.testing.assert_allclose([float(r[2]) for r in rows],
                               direct["probabilities"].numpy().max(-1), atol=1e-5)
    assert _FakeServing.bodies[-1]["instances"][0]["b64"] == body["instances"][0]["b64"]
    assert main(["predict", "other", str(tmp / "a.png"), "--server", fake_server]) == 2
    assert "HTTP 404" in capsys.readouterr().err
    with pytest.raises(ValueError, match="HTTP 404: no model"):
        predict_rest(predict_url(fake_server, "other"), files)
    with pytest.raises(ConnectionError, match="Cannot reach"):
        predict_rest("http://127.0.0.1:9/v1/models/docs:predict", files, timeout=5)


def test_predict_url_forms():
    assert predict_url("http://h:8501/", "a") == "http://h:8501/v1/models/a:predict"
    assert predict_url("http://h:8501/v1/models/a/versions/2") == \
        "http://h:8501/v1/models/a/versions/2:predict"
    with pytest.raises(ValueError, match="names no model"):
        predict_url("http://h:8501")
    with pytest.raises(ValueError, match="http://"):
        predict_url("h:8501", "a")


def test_ensemble_of_models_with_different_inputs(tmp_path, images):
    a, b = _model((20, 20, 1), "a"), _model((16, 16, 3), "b")
    preps = [ImageSpec((20, 20), "grayscale"),
             ImageSpec((16, 16), "rgb", crop="top", interpolation="area")]
    path = export_for_serving([a, b], "ens", tmp_path, class_names=CLASSES,
                              spec=preps, ensemble_weights=[3, 1])
    _, rgb = images
    data = _encode(rgb, "PNG")
    out = tf.saved_model.load(str(path)).signatures["serving_default"](
        images=tf.constant([data]))
    pa = a.predict(preps[0].decode_and_preprocess(tf.constant(data))[None], verbose=0)
    pb = b.predict(preps[1].decode_and_preprocess(tf.constant(data))[None], verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), 0.75 * pa + 0.25 * pb, atol=1e-5)
    assert out["member_probabilities"].shape == (1, 2, 3)
    np.testing.assert_allclose(out["member_probabilities"].numpy()[0, 1], pb[0], atol=1e-5)


def test_mixed_precision_model_exports_float32(tmp_path, images):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.layers[1].compute_dtype == "bfloat16"
    path = export_for_serving(model, "mp", tmp_path, class_names=CLASSES)
    out = tf.saved_model.load(str(path)).signatures["serving_default"](
        images=tf.constant([_encode(images[0], "PNG")]))
    assert out["probabilities"].dtype == tf.float32
    np.testing.assert_allclose(out["probabilities"].numpy().sum(), 1.0, atol=1e-2)


def test_crops_and_color_modes():
    page = tf.concat([tf.zeros((300, 200, 1)), tf.fill((300, 200, 1), 255.0)], axis=0)
    top = ImageSpec((8, 8), crop="top").preprocess_batch(page)
    bottom = ImageSpec((8, 8), crop="bottom").preprocess_batch(page)
    assert float(tf.reduce_max(top)) == 0.0 and float(tf.reduce_min(bottom)) == 1.0
    x = tf.reshape(tf.range(4 * 6, dtype=tf.float32), (4, 6, 1))
    same = ImageSpec((4, 6), rescale=None).preprocess_batch(x)
    np.testing.assert_array_equal(same.numpy(), x.numpy())
    rgb = ImageSpec((4, 6), "rgb", rescale=None).preprocess_batch(x)
    np.testing.assert_array_equal(rgb.numpy(), np.repeat(x.numpy(), 3, -1))
    rgba = tf.concat([tf.fill([2, 4, 6, 3], 100.0), tf.zeros([2, 4, 6, 1])], -1)
    got = ImageSpec((4, 6), rescale=None).preprocess_batch(rgba)
    assert got.shape == (2, 4, 6, 1)
    np.testing.assert_allclose(got, np.full((2, 4, 6, 1), 100.0 * 0.9999), rtol=1e-5)
    padded = ImageSpec((8, 8), resize_mode="pad", rescale=None).preprocess_batch(
        tf.fill([2, 8, 1], 255.0))
    assert float(padded[0, 0, 0]) == 0.0 and float(padded[4, 4, 0]) == 255.0


def test_bad_arguments_raise_clear_errors(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match="3 outputs"):
        export_for_serving(model, "x", tmp_path, class_names=["a", "b"])
    with pytest.raises(ValueError, match="name must be"):
        export_for_serving(model, "../evil", tmp_path)
    with pytest.raises(ValueError, match=r"\(20, 20, 1\), but the image spec gives \(20, 20, 3"):
        export_for_serving(model, "x", tmp_path, spec=ImageSpec((20, 20), "rgb"))
    with pytest.raises(ValueError, match=r"spec gives \(16, 16, 1\)"):
        export_for_serving(model, "x", tmp_path, spec=ImageSpec((16, 16)))
    inp = keras.Input((4, 4, 1), name="i")
    two = keras.Model(inp, [keras.layers.Flatten(name="f")(inp),
                            keras.layers.Flatten(name="g")(inp)])
    with pytest.raises(ValueError, match="2 outputs"):
        export_for_serving(two, "x", tmp_path)
    with pytest.raises(ValueError, match="color_mode must be one of"):
        ImageSpec((4, 4), "cmyk")
    with pytest.raises(ValueError, match="crop must be one of"):
        ImageSpec((4, 4), crop="middle")
    with pytest.raises(ValueError, match="Unknown image spec keys"):
        ImageSpec.from_config({"image_size": [4, 4], "gamma": 0})


def test_read_image_file_rejects_non_images_and_oversized(tmp_path, images):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"notes.txt is not an image: expected JPEG, PNG"):
        read_image_file(tmp_path / "notes.txt")
    (tmp_path / "big.png").write_bytes(_encode(images[1], "PNG"))
    with pytest.raises(ValueError, match=r"big.png: image too large: 37x29 = 1,073 pixels "
                                         r"\(height x width\) is above the limit of 1,000 "):
        read_image_file(tmp_path / "big.png", max_pixels=1000)
    with pytest.raises(ValueError, match="limit is 100 bytes"):
        read_image_file(tmp_path / "big.png", max_bytes=100)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(ValueError, match="header cannot be read"):
        read_image_file(tmp_path / "broken.png")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_image_file(tmp_path / "missing.png")


def test_predictor_same_answer_from_keras_file_and_saved_model(tmp_path, images):
    from kerasdoc.card import write_card
    from kerasdoc.training.resilient import atomic_save_model

    model = _model()
    prep = ImageSpec((20, 20))
    atomic_save_model(model, tmp_path / "model.keras")
    write_card(tmp_path / "model.keras", CLASSES, prep)
    path = export_for_serving(model, "p", tmp_path / "sm", class_names=CLASSES,
                              spec=prep)
    data = [_encode(images[1], "JPEG"), _encode(images[0], "BMP")]
    a = Predictor(tmp_path / "model.keras").predict(data)
    b = Predictor(path.parent).predict(data)
    np.testing.assert_allclose([r["probabilities"] for r in a],
                               [r["probabilities"] for r in b], atol=1e-5)
    assert [r["class_names"] for r in a] == [r["class_names"] for r in b]


def test_concurrent_exports_of_one_name_each_get_their_own_version(tmp_path, monkeypatch):
    """Another exporter takes the version this one picked while it writes: the automatic version
    moves on to the next free one; an explicit version fails and overwrites nothing."""
    import kerasdoc.export as E

    model = _model()
    real_next = E.next_version
    taken = []

    def racing_next_version(model_dir):
        v = real_next(model_dir)
        if not taken:  # the first pick is taken by "another exporter" right after
            (Path(model_dir) / str(v)).mkdir()
            (Path(model_dir) / str(v) / "saved_model.pb").write_bytes(b"other exporter")
            taken.append(v)
        return v

    monkeypatch.setattr(E, "next_version", racing_next_version)
    path = E.export_for_serving(model, "docs", tmp_path, class_names=CLASSES)
    assert taken == [1] and path.name == "2"
    assert (tmp_path / "docs" / "1" / "saved_model.pb").read_bytes() == b"other exporter"
    assert read_export_metadata(path)["version"] == 2
    assert sorted(os.listdir(tmp_path / "docs")) == ["1", "2"]
    monkeypatch.setattr(E, "next_version", real_next)
    threads = [threading.Thread(target=lambda: E.export_for_serving(
        model, "race", tmp_path, class_names=CLASSES)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(os.listdir(tmp_path / "race")) == ["1", "2", "3"]


def test_serving_refuses_an_image_whose_header_declares_too_many_pixels(exported, tmp_path):
    """A 48 kB PNG declaring 20000 x 20000 pixels fails before decoding, saying why."""
    from kerasdoc.generators.spec import header_pixel_count

    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, "PNG")
    bomb = buf.getvalue()
    assert len(bomb) < 100_000 and int(header_pixel_count(tf.constant(bomb))) == 400_000_000
    loaded = tf.saved_model.load(str(exported[1]))
    serve = loaded.signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="image too large"):
        serve(images=tf.constant([bomb]))
    small = _encode(np.full((20, 20, 1), 9, np.uint8), "PNG")
    assert serve(images=tf.constant([small]))["probabilities"].shape == (1, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="empty batch"):
        serve(images=tf.constant([], tf.string))

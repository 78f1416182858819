"""LiteRT / ONNX export: the real runtimes against the Keras model fed by the training flow.

Each parity test exports a tiny model with its model card, then feeds the runtime the decoded
uint8 pixels of the files the flow read (several sizes) and compares with the Keras model on the
flow's batches: largest probability difference <= 1e-4 and the same class on every image.
"""

from __future__ import annotations

import io
import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdoc import deploy
from kerasdoc.card import write_card
from kerasdoc.cli import main
from kerasdoc.export import export_model
from kerasdoc.generators import ImageDataGenerator
from kerasdoc.generators.spec import ImageSpec

# keras' tf2onnx shim probes np.object (numpy 2 FutureWarning)
pytestmark = pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")
CLASSES = ["invoice", "letter"]
RUNTIMES = {"litert": "ai_edge_litert", "onnx": "onnxruntime"}
CONVERTERS = {"litert": "tensorflow", "onnx": "tf2onnx"}


def _need(fmt: str) -> None:
    for mod in (RUNTIMES[fmt], CONVERTERS[fmt]):
        pytest.importorskip(mod, reason=f"{mod} is not installed (pip install 'kerasdoc[deploy]')")


def _model(shape, k=2, name="m", seed=1):
    keras.utils.set_random_seed(seed)
    inp = keras.Input(shape, name=f"{name}_input")
    x = keras.layers.Conv2D(4, 3, activation="relu", name=f"{name}_conv")(inp)
    x = keras.layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
    x = keras.layers.Dense(k, kernel_initializer=keras.initializers.RandomNormal(0, 3),
                           name=f"{name}_logits")(x)
    return keras.Model(inp, keras.layers.Activation("softmax")(x), name=name)


def _save(array: np.ndarray, path, fmt: str) -> None:
    buf = io.BytesIO()
    Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array).save(buf, format=fmt)
    path.write_bytes(buf.getvalue())


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """DIR/<class>/<image>: gray and colour PNG / JPEG pages of several sizes."""
    root = tmp_path_factory.mktemp("pages")
    rng = np.random.default_rng(3)
    sizes = [(30, 40), (64, 20), (17, 23), (50, 50), (41, 77)]
    for c, cls in enumerate(CLASSES):
        (root / cls).mkdir()
        for i, (h, w) in enumerate(sizes):
            ch = 1 if i % 2 else 3
            page = rng.integers(0, 256, (h, w, ch), dtype=np.uint8)
            page[: h // 2] //= 1 + c  # a darker top half on the second class
            fmt = "JPEG" if i == 3 else "PNG"
            _save(page, root / cls / f"{i}.{fmt.lower()}", fmt)
    return root


def _pixels(path: str, spec: ImageSpec) -> np.ndarray:
    """The file decoded to uint8 in the card's colour mode, as a caller on a phone would."""
    data = tf.io.read_file(path)
    return tf.io.decode_image(data, channels=spec.channels, expand_animations=False).numpy()


def _flow_parity(model, spec: ImageSpec, data_dir, runtime) -> tuple[float, int, int]:
    flow = ImageDataGenerator().flow_from_directory(
        str(data_dir), spec=spec, class_mode="sparse", batch_size=4, shuffle=False)
    worst, same, n = 0.0, 0, 0
    for i in range(len(flow)):
        x, _ = flow[i]
        ref = model.predict(x, verbose=0)
        for row, path in zip(ref, flow.filepaths[i * 4:(i + 1) * 4]):
            out = runtime(_pixels(path, spec)[None])
            worst = max(worst, float(np.max(np.abs(out["probabilities"][0] - row))))
            same += int(out["class_ids"][0] == row.argmax())
            n += 1
    assert n == flow.samples
    return worst, same, n


@pytest.mark.parametrize("fmt", ["litert", "onnx"])
def test_cli_export_matches_the_training_flow(fmt, pages, tmp_path):
    _need(fmt)
    spec = ImageSpec((24, 32), "rgb", resize_mode="pad", mean=(0.5, 0.4, 0.3), std=0.25)
    model = _model(spec.input_shape)
    f = tmp_path / "run" / "model.keras"
    f.parent.mkdir()
    model.save(f)
    write_card(f, CLASSES, spec, model="tiny")
    base = tmp_path / "models"
    ensure_shape = tf.ensure_shape
    assert main(["export", str(f), "--name", "docs", "--base-dir", str(base),
                 "--format", fmt, "--top-k", "2"]) == 0
    assert tf.ensure_shape is ensure_shape  # traced as Reshape during the export only
    version = base / "docs" / fmt / "1"
    meta = json.loads((version / "assets.extra" / "kerasdoc.json").read_text())
    assert meta["class_names"] == CLASSES and meta["format"] == fmt
    assert meta["verified"]["max_abs_difference"] <= deploy.TOLERANCE
    assert deploy.read_model_metadata(version / deploy.FILE_NAMES[fmt])["class_names"] == CLASSES

    runtime = deploy.PortableModel(version)
    worst, same, n = _flow_parity(model, spec, pages, runtime)
    assert worst <= 1e-4 and same == n, (worst, same, n)
    out = runtime(_pixels(str(next((pages / "letter").glob("*.png"))), spec)[None])
    assert list(out["class_names"]) == [CLASSES[int(out["class_ids"][0])]]
    assert out["top_k_class_ids"].shape == (1, 2)

    # versions are never overwritten; the SavedModel versions of the name are not touched
    assert main(["export", str(f), "--name", "docs", "--base-dir", str(base),
                 "--format", fmt, "--version", "1"]) != 0
    assert sorted(p.name for p in (base / "docs" / fmt).iterdir()) == ["1"]


@pytest.mark.data
@pytest.mark.parametrize("fmt", ["litert", "onnx"])
def test_real_receipts_through_the_flow(fmt, shared_data, tmp_path):
    """Real SROIE receipts (JPEG, about 600 x 1200) through the flow and the runtime."""
    _need(fmt)
    src = shared_data / "sroie-vendors" / "train"
    if not src.is_dir():
        pytest.skip(f"{src} is absent")
    classes = sorted(p.name for p in src.iterdir())[:2]
    for cls in classes:
        (tmp_path / "data" / cls).mkdir(parents=True)
        for p in sorted((src / cls).glob("*.jpg"))[:3]:
            shutil.copy(p, tmp_path / "data" / cls / p.name)
    spec = ImageSpec((48, 32), "grayscale", resize_mode="crop")
    model = _model(spec.input_shape, name="r")
    path = export_model(model, "receipts", tmp_path / "models", format=fmt,
                        class_names=classes, spec=spec)
    worst, same, n = _flow_parity(model, spec, tmp_path / "data", deploy.PortableModel(path))
    assert worst <= 1e-4 and same == n == 6, (worst, same, n)


def test_refusals_say_why(tmp_path):
    model = _model((16, 16, 1))
    area = ImageSpec((16, 16), "grayscale", interpolation="area")
    with pytest.raises(ValueError, match="litert cannot hold this pipeline.*'area'"):
        deploy.export_portable(model, "x", tmp_path, format="litert", spec=area)
    reflect = ImageSpec((16, 16), "grayscale", resize_mode="pad", padding_mode="reflection")
    with pytest.raises(ValueError, match="onnx cannot hold this pipeline: reflection padding"):
        deploy.export_portable(model, "x", tmp_path, format="onnx", spec=reflect)
    with pytest.raises(ValueError, match="format must be one of"):
        deploy.export_portable(model, "x", tmp_path, format="coreml")
    mixed = [ImageSpec((16, 16), "grayscale"), ImageSpec((16, 16), "rgb")]
    with pytest.raises(ValueError, match="different colour modes"):
        deploy.export_portable([model, _model((16, 16, 3))], "x", tmp_path, spec=mixed)
    assert not any(tmp_path.rglob("model.*"))  # nothing written


def test_saved_model_format_is_the_serving_export(tmp_path):
    model = _model((16, 16, 1))
    path = export_model(model, "serve", tmp_path, class_names=CLASSES)
    assert (path / "saved_model.pb").is_file() and path.name == "1"


@pytest.mark.parametrize("fmt", ["litert", "onnx"])
def test_stacked_pipeline_file_matches_its_flows(fmt, pages, tmp_path):
    """A pipeline.json (the rvl-cdip recipe's output: region-crop members, meta-classifier)
    exported by the CLI, against StackedPipeline.predict_files (the members' training flows)."""
    _need(fmt)
    from kerasdoc.stacking import StackedPipeline, write_pipeline

    specs = {"top": ImageSpec((256, 256), "grayscale", crop="top"),
             "full": ImageSpec((20, 16), "grayscale", resize_mode="crop", interpolation="nearest",
                               rescale=None, mean=128.0, std=64.0)}
    members = {}
    for i, (region, sp) in enumerate(specs.items()):
        f = tmp_path / f"{region}.keras"
        _model(sp.input_shape, name=region, seed=i).save(f)
        write_card(f, CLASSES, sp)
        members[region] = f
    keras.utils.set_random_seed(7)
    stacker = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")],
                               name="meta")
    stacker.save(tmp_path / "stacker.keras")
    pipe = write_pipeline(tmp_path / "pipeline.json", members, tmp_path / "stacker.keras",
                          CLASSES)
    base = tmp_path / "models"
    assert main(["export", str(pipe), "--name", "stack", "--base-dir", str(base),
                 "--format", fmt]) == 0
    runtime = deploy.PortableModel(base / "stack" / fmt / "1")
    paths = sorted(str(p) for p in pages.rglob("*.*"))
    ref = StackedPipeline(pipe).predict_files(paths, batch_size=4)["probabilities"]
    got = np.concatenate([runtime(_pixels(p, specs["top"])[None])["probabilities"]
                          for p in paths])
    assert np.max(np.abs(got - ref)) <= 1e-4
    assert (got.argmax(-1) == ref.argmax(-1)).all()
    batch = np.zeros((3, 33, 21, 1), np.uint8)
    assert runtime(batch)["member_probabilities"].shape == (3, 2, 2)

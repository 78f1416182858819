"""`kerasdoc predict --server grpc://...` through tensorflow-serving-api, against a stand-in
PredictionService on 127.0.0.1 that answers from a real exported SavedModel's signature (and,
on demand, stays silent, refuses or answers garbage). Skipped where the optional
``kerasdoc[grpc]`` extra (tensorflow-serving-api) is absent; the missing-package message is tested
in tests/test_serving_client.py."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from concurrent import futures

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

grpc = pytest.importorskip("grpc", reason="grpcio is not installed (pip install 'kerasdoc[grpc]')")
apis = pytest.importorskip(
    "tensorflow_serving.apis.prediction_service_pb2_grpc",
    reason="tensorflow-serving-api is not installed (pip install 'kerasdoc[grpc]')")
from tensorflow_serving.apis import predict_pb2  # noqa: E402

from kerasdoc.cli import main  # noqa: E402
from kerasdoc.export import export_for_serving  # noqa: E402
from kerasdoc.serving_client import (  # noqa: E402
    BadReply,
    RequestRejected,
    ServerError,
    ServerTimeout,
    ServerUnreachable,
    grpc_address,
    predict_grpc,
)

CLASSES = ["invoice", "receipt, \"scanned\"", "letter\tfax"]
# gRPC's connectivity watchers run on threads that can outlive channel.close(): none may fail.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")


def _model():
    keras.utils.set_random_seed(1)
    inp = keras.Input((20, 20, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(0, 3))(x)
    return keras.Model(inp, keras.layers.Activation("softmax")(x))


class _Servicer(apis.PredictionServiceServicer):
    """TF Serving's Predict for one model, ``docs``, from its SavedModel: the request's inputs
    must match the signature's declared inputs (name, dtype, rank), as TF Serving checks."""

    def __init__(self, loaded):
        self.loaded, self.mode, self.mutate = loaded, "model", None
        self.requests, self.stop = [], threading.Event()

    def Predict(self, request, context):  # noqa: N802 - the gRPC service's naming
        self.requests.append(request)
        if self.mode == "silent":
            self.stop.wait(10)
            context.abort(grpc.StatusCode.CANCELLED, "test over")
        if request.model_spec.name != "docs":
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"Servable not found for request: Latest({request.model_spec.name})")
        sig = self.loaded.signatures.get(request.model_spec.signature_name)
        if sig is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "Serving signature not found")
        declared = sig.structured_input_signature[1]
        inputs = {}
        for key, proto in request.inputs.items():
            spec = declared.get(key)
            value = tf.make_ndarray(proto)
            if spec is None or tf.as_dtype(proto.dtype) != spec.dtype or \
                    value.ndim != spec.shape.rank:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"input {key} does not match "
                              f"the signature ({spec})")
            inputs[key] = tf.constant(value, dtype=spec.dtype)
        if set(inputs) != set(declared):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"inputs {sorted(inputs)}")
        try:
            out = sig(**inputs)
        except tf.errors.InvalidArgumentError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, e.message.splitlines()[0])
        reply = predict_pb2.PredictResponse()
        reply.model_spec.CopyFrom(request.model_spec)
        for key, value in out.items():
            reply.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
        if self.mutate:
            self.mutate(reply)
        return reply


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models")
    model = _model()
    path = export_for_serving(model, "docs", base, class_names=CLASSES)
    return model, path


@pytest.fixture(scope="module")
def serving(exported):
    servicer = _Servicer(tf.saved_model.load(str(exported[1])))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    apis.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.url = f"grpc://127.0.0.1:{port}"
    yield servicer
    servicer.stop.set()
    server.stop(0)


@pytest.fixture
def servicer(serving):
    serving.mode, serving.mutate, serving.requests = "model", None, []
    serving.stop.clear()
    yield serving
    serving.stop.set()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("imgs")
    rng = np.random.RandomState(0)
    paths = []
    for i, fmt in enumerate(["PNG", "JPEG", "PNG"]):
        buf = io.BytesIO()
        Image.fromarray(rng.randint(0, 256, (20 + 3 * i, 24, 1)).astype(np.uint8)
                        .squeeze(-1)).save(buf, format=fmt)
        p = folder / f"page {i},\t{i}.{fmt.lower()}"
        p.write_bytes(buf.getvalue())
        paths.append(str(p))
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_grpc_matches_the_signature_called_directly(exported, servicer, files, capsys):
    data = [open(f, "rb").read() for f in files]
    direct = tf.saved_model.load(str(exported[1])).signatures["serving_default"](
        images=tf.constant(data))
    preds = predict_grpc(servicer.url, "docs", data, timeout=10)
    np.testing.assert_allclose([p["probabilities"] for p in preds],
                               direct["probabilities"].numpy(), atol=1e-6)
    assert [p["class_names"] for p in preds] == \
        [n.decode() for n in direct["class_names"].numpy()]
    request = servicer.requests[-1]
    assert list(request.inputs) == ["images"] and request.model_spec.name == "docs"
    assert request.inputs["images"].dtype == tf.string.as_datatype_enum
    assert not request.model_spec.HasField("version")
    # The CLI, with a local export folder as TARGET: its name and version go to the server.
    assert main(["predict", str(exported[1]), *files, "--server", servicer.url,
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in doc["predictions"]] == files
    assert [r["class"] for r in doc["predictions"]] == [p["class_names"] for p in preds]
    np.testing.assert_allclose([r["probability"] for r in doc["predictions"]],
                               direct["probabilities"].numpy().max(-1), atol=1e-6)
    assert servicer.requests[-1].model_spec.version.value == int(exported[1].name)


def test_a_silent_grpc_server_fails_the_run_once_at_the_deadline(servicer, files, capsys):
    servicer.mode = "silent"
    start = time.monotonic()
    rc = main(["predict", "docs", *files, "--server", servicer.url, "--timeout", "1",
               "--batch-size", "1"])
    assert time.monotonic() - start < 3
    out = capsys.readouterr()
    assert rc == 2 and out.out == "" and len(servicer.requests) == 1
    assert len(out.err.strip().splitlines()) == 1
    assert "accepted the connection but sent no complete answer within 1 s" in out.err
    with pytest.raises(ServerTimeout, match=r"within 0.5 s"):
        predict_grpc(servicer.url, "docs", [b"x"], timeout=0.5)


def test_an_unreachable_grpc_server_cannot_be_connected_to(files, capsys):
    url = f"grpc://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    with pytest.raises(ServerUnreachable, match=r"Cannot reach TF Serving at grpc://.* could "
                                                r"not connect"):
        predict_grpc(url, "docs", [b"x"], timeout=2)
    assert main(["predict", "docs", *files, "--server", url, "--timeout", "2"]) == 2
    assert time.monotonic() - start < 6
    assert "could not connect" in capsys.readouterr().err


def test_grpc_error_statuses(servicer, files, capsys):
    data = [open(files[0], "rb").read()]
    with pytest.raises(ServerError, match="answered NOT_FOUND: Servable not found"):
        predict_grpc(servicer.url, "other", data, timeout=5)
    with pytest.raises(ServerError, match="answered FAILED_PRECONDITION"):
        predict_grpc(servicer.url, "docs", data, signature_name="nope", timeout=5)
    # An image the serving graph cannot decode is refused (INVALID_ARGUMENT): that file only.
    with pytest.raises(RequestRejected, match="INVALID_ARGUMENT"):
        predict_grpc(servicer.url, "docs", [data[0][:40]], timeout=5)


def _garbage(kind):
    def mutate(reply):
        probs = tf.make_ndarray(reply.outputs["probabilities"])
        if kind == "nan":
            probs[0, 0] = np.nan
            reply.outputs["probabilities"].CopyFrom(tf.make_tensor_proto(probs))
        elif kind == "id":
            ids = tf.make_ndarray(reply.outputs["class_ids"]) + 7
            reply.outputs["class_ids"].CopyFrom(tf.make_tensor_proto(ids))
        elif kind == "shape":
            reply.outputs["probabilities"].CopyFrom(tf.make_tensor_proto(probs[:1]))
        elif kind == "missing":
            del reply.outputs["class_ids"]
    return mutate


@pytest.mark.parametrize("kind, words", [
    ("nan", "not finite numbers in [0, 1]"),
    ("id", "outside 0..2"),
    ("shape", "expected float [3, classes]"),
    ("missing", "no output 'class_ids'"),
])
def test_bad_grpc_replies_are_named(servicer, files, capsys, kind, words):
    servicer.mutate = _garbage(kind)
    data = [open(f, "rb").read() for f in files]
    with pytest.raises(BadReply, match="invalid reply") as info:
        predict_grpc(servicer.url, "docs", data, timeout=5)
    assert words in str(info.value) and servicer.url in str(info.value)
    assert main(["predict", "docs", *files, "--server", servicer.url]) == 2
    out = capsys.readouterr()
    assert out.out == "" and words in out.err


def test_grpc_addresses():
    assert grpc_address("grpc://h:9000") == "h:9000"
    assert grpc_address("grpc://[::1]") == "[::1]:8500"
    with pytest.raises(ValueError, match="grpc://host"):
        grpc_address("grpc://h:1/v1/models/m")

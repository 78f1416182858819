"""A small TensorFlow Serving REST client for models written by :mod:`kerasdoc.export`.

TF Serving's REST API (``POST /v1/models/<name>[/versions/<n>]:predict``) takes binary inputs
as ``{"b64": "<base64>"}`` objects. For the ``serving_default`` signature of an exported model
(one ``tf.string`` input, ``images``) the request body is::

    {"signature_name": "serving_default", "instances": [{"b64": "..."}, ...]}

and the reply ``{"predictions": [{"probabilities": [...], "class_ids": 2,
"class_names": "invoice"}, ...]}``, one entry per image. The REST client uses only the standard
library; ``grpc://host:8500`` servers are called through ``tensorflow-serving-api`` (the optional
``kerasdoc[grpc]`` extra) with a ``PredictRequest`` on the same signature.

Every call has a deadline: ``timeout`` seconds bound the whole request, from connecting to the
last byte of the answer (a server that trickles bytes cannot hold a client longer). Every answer
is validated (one prediction per image, the same number of classes in each, class ids in range,
finite probabilities in [0, 1]). A server-wide failure raises a :class:`ServingError` naming the
server and what was wrong: :class:`ServerUnreachable` (no connection), :class:`ServerTimeout`
(connected, but no complete answer in time), :class:`BadReply` (an answer that is not a valid
prediction) or :class:`ServerError` (an error status); only :class:`RequestRejected` (HTTP 400,
gRPC ``INVALID_ARGUMENT``: the server refused the images, e.g. one undecodable file) concerns
the images sent.

Example:
    >>> body = build_predict_request([b"\\x89PNG..."])
    >>> body["instances"][0]["b64"]
    'iVBORy4uLg=='
    >>> decode_request_instances(body) == [b"\\x89PNG..."]
    True
"""

from __future__ import annotations

import base64
import csv
import http.client
import io
import json
import math
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 30.0
MAX_REPLY_BYTES = 64 << 20
FORMATS = ("tsv", "csv", "json")
GRPC_EXTRA = ("gRPC servers (grpc://) need the optional package tensorflow-serving-api: "
              "pip install 'kerasdoc[grpc]' (beside tensorflow-cpu: "
              "pip install --no-deps tensorflow-serving-api)")


class ServingError(Exception):
    """The server as a whole failed (no connection, no answer in time, an invalid answer or an
    error status): retrying image by image cannot help, so a client stops."""


class ServerUnreachable(ServingError, ConnectionError):
    """No connection to the server could be made."""


class ServerTimeout(ServingError, TimeoutError):
    """Connected, but no complete answer arrived before the deadline."""


class BadReply(ServingError, ValueError):
    """The server answered something that is not a valid prediction for the images sent."""


class ServerError(ServingError, ValueError):
    """The server answered with an error status (no such model, internal error, ...)."""


class RequestRejected(ValueError):
    """The server refused the images (HTTP 400 / gRPC INVALID_ARGUMENT), e.g. an undecodable
    file: the one error worth retrying image by image."""


def build_predict_request(images: Sequence[bytes],
                          signature_name: str = "serving_default") -> dict[str, Any]:
    """The JSON body of a TF Serving REST ``:predict`` request for encoded images.

    Args:
        images: sequence of bytes. Encoded images (JPEG / PNG / BMP / GIF).
        signature_name: str. The signature to call.

    Returns:
        ``{"signature_name": ..., "instances": [{"b64": ...}, ...]}``.
    """
    if not images:
        raise ValueError("build_predict_request needs at least one image. Received: []")
    for i, img in enumerate(images):
        if not isinstance(img, (bytes, bytearray)):
            raise ValueError(f"Image {i} must be bytes (the encoded file). "
                             f"Received: {type(img).__name__}")
    return {"signature_name": signature_name,
            "instances": [{"b64": base64.b64encode(bytes(img)).decode("ascii")}
                          for img in images]}


def decode_request_instances(body: dict[str, Any]) -> list[bytes]:
    """The image bytes TF Serving passes to the signature for ``body`` (inverse of the above)."""
    out = []
    for i, inst in enumerate(body.get("instances", [])):
        if isinstance(inst, dict) and len(inst) == 1 and "images" in inst:
            inst = inst["images"]  # the named-input form {"images": {"b64": ...}}
        if not (isinstance(inst, dict) and "b64" in inst):
            raise ValueError(f"Instance {i} is not a {{'b64': ...}} object. Received: {inst!r:.80}")
        out.append(base64.b64decode(inst["b64"]))
    return out


def predict_url(server: str, model_name: str | None = None, version: int | None = None) -> str:
    """The ``:predict`` URL for ``model_name`` on ``server``.

    Args:
        server: str. ``http://host:8501``, or a model URL ``.../v1/models/<name>[/versions/<n>]``
            (with or without ``:predict``).
        model_name: str or None. Needed when ``server`` is only the host.
        version: int or None. A specific version (default: the latest the server loaded).

    Returns:
        The URL to POST to.

    Example:
        >>> predict_url("http://localhost:8501", "invoice", 3)
        'http://localhost:8501/v1/models/invoice/versions/3:predict'
    """
    url = server.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"Server URL must start with http:// or https://. Received: {server!r}")
    if url.endswith(":predict"):
        return url
    if "/v1/models/" in url:
        return url + ":predict"
    if not model_name:
        raise ValueError(f"Server URL {server!r} names no model; pass the model name or a URL "
                         "like http://host:8501/v1/models/NAME.")
    url = f"{url}/v1/models/{model_name}"
    if version is not None:
        url += f"/versions/{int(version)}"
    return url + ":predict"


# --------------------------------------------------------------------------------------------
# one deadline for the whole request
# --------------------------------------------------------------------------------------------

class _Deadline:
    """``seconds`` from now; ``left()`` raises ``TimeoutError`` once they are spent. Records
    whether the connection was made and how many bytes arrived (for the error message)."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds
        self.connected = False
        self.received = 0

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"deadline of {self.seconds:g} s passed")
        return left


class _DeadlineIO:
    """Socket mixin: every send and receive waits at most until the deadline (a plain socket
    timeout restarts with each byte, so a trickling server could hold the client forever)."""

    _kd_deadline: _Deadline | None = None

    def recv_into(self, buffer, nbytes=0, flags=0):
        if self._kd_deadline is not None:
            self.settimeout(self._kd_deadline.left())
        n = super().recv_into(buffer, nbytes, flags)
        if self._kd_deadline is not None:
            self._kd_deadline.received += n
        return n

    def sendall(self, data, flags=0):
        if self._kd_deadline is not None:
            self.settimeout(self._kd_deadline.left())
        return super().sendall(data, flags)


class _DeadlineSocket(_DeadlineIO, socket.socket):
    pass


class _DeadlineSSLSocket(_DeadlineIO, ssl.SSLSocket):
    pass


def _connect(deadline: _Deadline, address, timeout=None, source_address=None):
    """``socket.create_connection`` making a :class:`_DeadlineSocket` within the deadline."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, addr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = _DeadlineSocket(family, kind, proto)
        try:
            sock.settimeout(deadline.left())
            if source_address:
                sock.bind(source_address)
            sock.connect(addr)
        except OSError as e:
            sock.close()
            error = e
            continue
        deadline.connected = True
        sock._kd_deadline = deadline
        return sock
    raise error or OSError(f"getaddrinfo returned no address for {host}:{port}")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, deadline: _Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = lambda *a: _connect(deadline, *a)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, deadline: _Deadline, **kwargs):
        super().__init__(*args, **kwargs)
        self._kd_deadline = deadline
        self._create_connection = lambda *a: _connect(deadline, *a)

    def connect(self):
        super().connect()
        self.sock._kd_deadline = self._kd_deadline


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline):
        super().__init__()
        self.deadline = deadline

    def http_open(self, req):
        return self.do_open(_HTTPConnection, req, deadline=self.deadline)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline):
        context = ssl.create_default_context()
        context.sslsocket_class = _DeadlineSSLSocket
        super().__init__(context=context)
        self.deadline = deadline

    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context, deadline=self.deadline)


def _read_all(resp, deadline: _Deadline, url: str) -> bytes:
    """The whole body, at most :data:`MAX_REPLY_BYTES`, before the deadline."""
    chunks, size = [], 0
    while True:
        deadline.left()
        chunk = resp.read(1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise BadReply(f"TF Serving at {url} sent a reply larger than "
                           f"{MAX_REPLY_BYTES:,} bytes; expected a few numbers per image.")
        chunks.append(chunk)


def _post(url: str, body: bytes, timeout: float) -> bytes:
    """POST ``body``; the reply's body, or a :class:`ServingError` / :class:`RequestRejected`."""
    deadline = _Deadline(timeout)
    opener = urllib.request.build_opener(_HTTPHandler(deadline), _HTTPSHandler(deadline))
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with opener.open(req, timeout=deadline.left()) as resp:
            return _read_all(resp, deadline, url)
    except urllib.error.HTTPError as e:
        try:
            detail = _read_all(e, deadline, url).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            detail = e.reason
        try:
            detail = json.loads(detail).get("error", detail)
        except (json.JSONDecodeError, AttributeError):
            pass
        kind = RequestRejected if e.code == 400 else ServerError
        raise kind(f"TF Serving at {url} answered HTTP {e.code}: {str(detail).strip()[:500]}"
                   ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise _transport_error(url, e, deadline) from None


def _transport_error(url: str, e: BaseException, deadline: _Deadline) -> ServingError:
    """The right words for a failed exchange: no connection, no complete answer in time, or a
    connection the server dropped / an answer that is not HTTP."""
    reason = e.reason if isinstance(e, urllib.error.URLError) else e
    timed_out = isinstance(reason, TimeoutError)
    if not deadline.connected:
        why = (f"no connection within {deadline.seconds:g} s" if timed_out
               else getattr(reason, "strerror", None) or str(reason) or type(reason).__name__)
        return ServerUnreachable(f"Cannot reach TF Serving at {url}: could not connect ({why}).")
    if isinstance(reason, ssl.SSLError):
        return ServerUnreachable(f"Cannot reach TF Serving at {url}: the TLS connection failed "
                                 f"({getattr(reason, 'verify_message', None) or reason}).")
    if timed_out:
        return ServerTimeout(
            f"TF Serving at {url} accepted the connection but sent no complete answer within "
            f"{deadline.seconds:g} s ({deadline.received} bytes received); it may be "
            "overloaded, or give a larger --timeout for a slow model.")
    if isinstance(reason, http.client.BadStatusLine) and not isinstance(
            reason, http.client.RemoteDisconnected):
        return BadReply(f"TF Serving at {url} answered something that is not HTTP "
                        f"({type(reason).__name__}: {str(reason)[:80]!r}).")
    return BadReply(f"TF Serving at {url} closed the connection before a complete answer "
                    f"({type(reason).__name__}: {reason}; {deadline.received} bytes received).")


# --------------------------------------------------------------------------------------------
# validating answers
# --------------------------------------------------------------------------------------------

def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def validate_predictions(preds: Any, n: int, server: str) -> list[dict[str, Any]]:
    """Check one server answer's predictions for ``n`` images; return them.

    Each must be an object with ``probabilities`` (``K >= 1`` finite numbers in [0, 1], the
    same ``K`` for every image), ``class_ids`` (an integer in ``[0, K)``) and optionally
    ``class_names`` (a string).

    Raises:
        BadReply: naming ``server``, the image's index and what was wrong.
    """
    def bad(what: str) -> BadReply:
        return BadReply(f"TF Serving at {server} sent an invalid reply: {what}.")

    if not isinstance(preds, list) or len(preds) != n:
        got = (f"{len(preds)} predictions" if isinstance(preds, list)
               else f"'predictions' of type {type(preds).__name__}")
        raise bad(f"{got} for {n} images")
    k = None
    for i, p in enumerate(preds):
        if not isinstance(p, dict):
            raise bad(f"prediction {i} is a {type(p).__name__}, not an object with "
                      "'probabilities' and 'class_ids' (is the model a kerasdoc export?)")
        probs, cid = p.get("probabilities"), p.get("class_ids")
        if not isinstance(probs, list) or not probs or not all(map(_is_number, probs)):
            raise bad(f"prediction {i} has no list of numbers 'probabilities' "
                      f"(got {str(probs)[:60]})")
        if k is not None and len(probs) != k:
            raise bad(f"prediction {i} has {len(probs)} probabilities, prediction 0 has {k}")
        k = len(probs)
        if not all(math.isfinite(x) and -1e-6 <= x <= 1 + 1e-6 for x in probs):
            raise bad(f"prediction {i} has probabilities that are not finite numbers in [0, 1] "
                      f"({str(probs)[:80]})")
        if not _is_int(cid) or not 0 <= cid < k:
            raise bad(f"prediction {i} has class id {cid!r}, outside 0..{k - 1}")
        if not isinstance(p.get("class_names", ""), str):
            raise bad(f"prediction {i} has a class name that is not a string "
                      f"({p['class_names']!r:.60})")
    return preds


def _parse_rest_reply(data: bytes, n: int, url: str) -> list[dict[str, Any]]:
    try:
        reply = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadReply(f"TF Serving at {url} sent an invalid reply: not JSON ({e}; starts "
                       f"{data[:60]!r}).") from None
    if not isinstance(reply, dict):
        raise BadReply(f"TF Serving at {url} sent an invalid reply: a JSON "
                       f"{type(reply).__name__}, not an object with 'predictions'.")
    if "predictions" not in reply:
        what = (f"error {str(reply['error'])[:200]!r}" if "error" in reply
                else f"no 'predictions' (keys: {sorted(reply)[:5]})")
        raise BadReply(f"TF Serving at {url} sent an invalid reply: {what}.")
    return validate_predictions(reply["predictions"], n, url)


def predict_rest(url: str, images: Sequence[bytes], *, signature_name: str = "serving_default",
                 timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
    """POST images to a TF Serving ``:predict`` URL and return one output dict per image.

    Args:
        url: str. From :func:`predict_url`.
        images: sequence of bytes. Encoded images.
        signature_name: str. The signature to call.
        timeout: float. Seconds for the whole request, from connecting to the last byte.

    Returns:
        ``[{"probabilities": [...], "class_ids": int, "class_names": str, ...}, ...]``,
        validated by :func:`validate_predictions`.

    Raises:
        ServingError: ``ServerUnreachable`` (a ``ConnectionError``), ``ServerTimeout`` (a
            ``TimeoutError``), ``BadReply`` or ``ServerError`` (``ValueError``).
        RequestRejected: HTTP 400, the server refused the images (its message included).
    """
    body = json.dumps(build_predict_request(images, signature_name)).encode("utf-8")
    return _parse_rest_reply(_post(url, body, timeout), len(images), url)


# --------------------------------------------------------------------------------------------
# gRPC (tensorflow-serving-api)
# --------------------------------------------------------------------------------------------

def grpc_address(server: str) -> str:
    """``host:port`` of a ``grpc://host[:port]`` URL (port 8500, TF Serving's, by default).

    Example:
        >>> grpc_address("grpc://localhost")
        'localhost:8500'
    """
    parts = urllib.parse.urlsplit(server)
    if parts.scheme != "grpc" or not parts.hostname or parts.path.strip("/") or parts.query:
        raise ValueError(f"gRPC server must be grpc://host[:port]. Received: {server!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or 8500}"


def _grpc_modules():
    try:
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    except ImportError:
        raise ValueError(GRPC_EXTRA + ".") from None
    return grpc, predict_pb2, prediction_service_pb2_grpc


def _accepts(address: str, seconds: float = 0.5) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``seconds``."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            return True
    except OSError:
        return False


def _grpc_error(e, server: str, deadline: _Deadline, ready: bool) -> Exception:
    grpc = _grpc_modules()[0]
    code, details = e.code(), (e.details() or "").strip()[:500]
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return RequestRejected(f"TF Serving at {server} answered INVALID_ARGUMENT: {details}")
    if not ready and code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        why = (f"no connection within {deadline.seconds:g} s"
               if code == grpc.StatusCode.DEADLINE_EXCEEDED else details)
        return ServerUnreachable(f"Cannot reach TF Serving at {server}: could not connect "
                                 f"({why}).")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ServerTimeout(
            f"TF Serving at {server} accepted the connection but sent no complete answer within "
            f"{deadline.seconds:g} s; it may be overloaded, or give a larger --timeout for a "
            "slow model.")
    if code == grpc.StatusCode.UNAVAILABLE:
        return BadReply(f"TF Serving at {server} closed the connection before a complete "
                        f"answer ({details}).")
    return ServerError(f"TF Serving at {server} answered {code.name}: {details}")


def _grpc_rows(outputs, n: int, server: str) -> list[dict[str, Any]]:
    """The ``PredictResponse.outputs`` map as REST-style rows (then validated)."""
    import tensorflow as tf

    def bad(what: str) -> BadReply:
        return BadReply(f"TF Serving at {server} sent an invalid reply: {what}.")

    arrays = {}
    for key in ("probabilities", "class_ids", "class_names"):
        if key not in outputs:
            if key == "class_names":
                continue
            raise bad(f"no output {key!r} (outputs: {sorted(outputs)[:6]})")
        try:
            arrays[key] = tf.make_ndarray(outputs[key])
        except Exception as e:  # noqa: BLE001 - a malformed TensorProto, whatever the cause
            raise bad(f"output {key!r} is not a readable tensor ({e})") from None
    probs, ids = arrays["probabilities"], arrays["class_ids"]
    names = arrays.get("class_names")
    if probs.ndim != 2 or probs.shape[0] != n or probs.dtype.kind != "f":
        raise bad(f"'probabilities' is {probs.dtype}{list(probs.shape)}; expected float "
                  f"[{n}, classes]")
    if ids.shape != (n,) or ids.dtype.kind not in "iu":
        raise bad(f"'class_ids' is {ids.dtype}{list(ids.shape)}; expected int [{n}]")
    if names is not None and (names.shape != (n,) or names.dtype != object):
        raise bad(f"'class_names' is {names.dtype}{list(names.shape)}; expected string [{n}]")
    rows = []
    for i in range(n):
        row = {"probabilities": probs[i].tolist(), "class_ids": int(ids[i])}
        if names is not None:
            row["class_names"] = names[i].decode("utf-8", "replace")
        rows.append(row)
    return validate_predictions(rows, n, server)


def predict_grpc(server: str, model_name: str, images: Sequence[bytes], *,
                 version: int | None = None, signature_name: str = "serving_default",
                 timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
    """Call TF Serving's gRPC ``PredictionService/Predict`` for encoded images.

    Args:
        server: str. ``grpc://host[:port]``.
        model_name: str. The model's name on the server.
        images: sequence of bytes. Encoded images, sent as the string tensor ``images``.
        version: int or None. A specific version (default: the latest the server loaded).
        signature_name: str. The signature to call.
        timeout: float. Seconds for the whole call (connecting included).

    Returns:
        One dict per image, as :func:`predict_rest` returns.

    Raises:
        ValueError: tensorflow-serving-api is not installed (the sentence names the extra).
        ServingError / RequestRejected: as :func:`predict_rest`.
    """
    grpc, predict_pb2, service = _grpc_modules()
    import tensorflow as tf

    build_predict_request(images, signature_name)  # the same checks on the images
    deadline = _Deadline(timeout)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    request.inputs["images"].CopyFrom(
        tf.make_tensor_proto([bytes(b) for b in images], dtype=tf.string, shape=[len(images)]))
    address = grpc_address(server)
    channel = grpc.insecure_channel(address, options=[
        ("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
    try:
        reply = service.PredictionServiceStub(channel).Predict(request, timeout=deadline.left())
    except grpc.RpcError as e:
        # UNAVAILABLE / DEADLINE_EXCEEDED: was the server there at all? (A TCP probe: gRPC's
        # connectivity watchers run on threads that outlive channel.close().)
        ready = e.code() not in (grpc.StatusCode.UNAVAILABLE,
                                 grpc.StatusCode.DEADLINE_EXCEEDED) or _accepts(address)
        raise _grpc_error(e, server, deadline, ready) from None
    finally:
        channel.close()
    return _grpc_rows(reply.outputs, len(images), server)


# --------------------------------------------------------------------------------------------
# what `kerasdoc predict --server` uses
# --------------------------------------------------------------------------------------------

def server_predictor(server: str, target: str, *, signature_name: str = "serving_default",
                     timeout: float = DEFAULT_TIMEOUT
                     ) -> Callable[[Sequence[bytes]], list[tuple[str, float]]]:
    """A ``predict_batch(images) -> [(class_name, probability), ...]`` calling ``server``.

    Args:
        server: str. ``http(s)://host:8501`` (or a model URL) for REST, ``grpc://host:8500``.
        target: str. The model name, or a local export folder ``BASE/NAME[/VERSION]`` whose name
            (and version) are used.
        signature_name: str. The signature to call.
        timeout: float. Seconds for each request, connection to last byte.

    Raises:
        ValueError: a malformed server URL, or grpc:// without tensorflow-serving-api (checked
            here, before any image is read).
    """
    if timeout <= 0 or not math.isfinite(timeout):
        raise ValueError(f"--timeout must be a positive number of seconds. Received: {timeout}")
    path = Path(target)
    name, version = target, None
    if path.is_dir():
        if path.name.isdigit():
            name, version = path.parent.name, int(path.name)
        else:
            name = path.name

    def rows(preds):
        return [(str(p.get("class_names", p["class_ids"])),
                 float(p["probabilities"][p["class_ids"]])) for p in preds]

    if server.lower().startswith("grpc://"):
        _grpc_modules()
        grpc_address(server)
        return lambda chunk: rows(predict_grpc(server, name, chunk, version=version,
                                               signature_name=signature_name,
                                               timeout=timeout))
    if not server.lower().startswith(("http://", "https://")):
        raise ValueError(f"--server must be http(s)://host:8501 (REST) or grpc://host:8500 "
                         f"(gRPC). Received: {server!r}")
    url = predict_url(server, name, version)
    return lambda chunk: rows(predict_rest(url, chunk, signature_name=signature_name,
                                           timeout=timeout))


def escape_tsv(text: str) -> str:
    """``text`` with backslash, tab, newline and carriage return written as two characters."""
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def format_predictions(rows: Sequence[tuple[str, str, float]],
                       failures: Sequence[tuple[str, str]] = (), fmt: str = "tsv") -> str:
    """``kerasdoc predict``'s standard output for ``rows`` of ``(path, class, probability)``.

    ``tsv``: ``path<TAB>class<TAB>probability`` lines, with backslash, tab, newline and carriage
    return in names written as ``\\\\``, ``\\t``, ``\\n``, ``\\r``; ``csv``: a header line, then
    rows quoted by Python's csv module; ``json``: one document ``{"predictions": [{"path",
    "class", "probability"}, ...], "errors": [{"path", "error"}, ...]}``.

    Example:
        >>> format_predictions([("a\\tb.png", "x", 0.5)])
        'a\\\\tb.png\\tx\\t0.500000\\n'
    """
    if fmt == "tsv":
        return "".join(f"{escape_tsv(p)}\t{escape_tsv(c)}\t{prob:.6f}\n"
                       for p, c, prob in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["path", "class", "probability"])
        writer.writerows([p, c, f"{prob:.6f}"] for p, c, prob in rows)
        return buf.getvalue()
    if fmt == "json":
        doc = {"predictions": [{"path": p, "class": c, "probability": prob}
                               for p, c, prob in rows],
               "errors": [{"path": p, "error": e} for p, e in failures]}
        return json.dumps(doc, indent=1, allow_nan=False) + "\n"
    raise ValueError(f"format must be one of {', '.join(FORMATS)}. Received: {fmt!r}")

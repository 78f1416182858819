"""A small TensorFlow Serving REST client for models written by :mod:`kerasdoc.export`.

TF Serving's REST API (``POST /v1/models/<name>[/versions/<n>]:predict``) takes binary inputs
as ``{"b64": "<base64>"}`` objects. For the ``serving_default`` signature of an exported model
(one ``tf.string`` input, ``images``) the request body is::

    {"signature_name": "serving_default", "instances": [{"b64": "..."}, ...]}

and the reply ``{"predictions": [{"probabilities": [...], "class_ids": 2,
"class_names": "invoice"}, ...]}``, one entry per image. Only the standard library is used.

Example:
    >>> body = build_predict_request([b"\\x89PNG..."])
    >>> body["instances"][0]["b64"]
    'iVBORy4uLg=='
    >>> decode_request_instances(body) == [b"\\x89PNG..."]
    True
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any


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


def predict_rest(url: str, images: Sequence[bytes], *, signature_name: str = "serving_default",
                 timeout: float = 60.0) -> list[dict[str, Any]]:
    """POST images to a TF Serving ``:predict`` URL and return one output dict per image.

    Args:
        url: str. From :func:`predict_url`.
        images: sequence of bytes. Encoded images.
        signature_name: str. The signature to call.
        timeout: float. Seconds.

    Returns:
        ``[{"probabilities": [...], "class_ids": int, "class_names": str, ...}, ...]``.

    Raises:
        ConnectionError: the server cannot be reached.
        ValueError: the server answered with an error (its message included).
    """
    body = json.dumps(build_predict_request(images, signature_name)).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            reply = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")
        try:
            detail = json.loads(detail).get("error", detail)
        except (json.JSONDecodeError, AttributeError):
            pass
        raise ValueError(f"TF Serving at {url} answered HTTP {e.code}: {detail}") from e
    except (urllib.error.URLError, OSError) as e:
        raise ConnectionError(f"Cannot reach TF Serving at {url}: {e}") from e
    preds = reply.get("predictions")
    if not isinstance(preds, list) or len(preds) != len(images):
        raise ValueError(f"TF Serving at {url} returned {str(reply)[:200]!r}; expected "
                         f"'predictions' with {len(images)} entries.")
    return preds

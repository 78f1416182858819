"""`kerasdoc predict --server` over REST against stand-in servers on 127.0.0.1: one deadline for
the whole request (trickling and silent servers), one failure for the whole run with the right
words, validated replies, and output formats that no name can break."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from kerasdoc.cli import main
from kerasdoc.serving_client import (
    BadReply,
    RequestRejected,
    ServerError,
    ServerTimeout,
    ServerUnreachable,
    format_predictions,
    predict_rest,
    server_predictor,
    validate_predictions,
)

NAMES = ["plain", "tab\there", 'comma, "quote"']
#  A valid answer for one image: class 1 of three.
GOOD = {"probabilities": [0.25, 0.5, 0.25], "class_ids": 1, "class_names": NAMES[1]}


class _Standin(BaseHTTPRequestHandler):
    """A stand-in TF Serving: ``server.mode`` says how it (mis)behaves."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's naming
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv.requests.append(body)
        srv.paths.append(self.path)
        n, mode = len(body["instances"]), srv.mode
        if mode == "silent":  # reads the request, never answers (until the test ends)
            srv.stop.wait(10)
            return
        if mode == "close":  # reads the request, hangs up
            return
        if mode == "not-http":
            self.wfile.write(b"hello\n")
            return
        if mode == "trickle":  # a valid-looking answer, one byte per period, bounded
            for _ in range(200):
                if srv.stop.wait(srv.period):
                    return
                try:
                    self.wfile.write(b"H")
                except OSError:
                    return
            return
        status, data = 200, srv.reply(n, body) if callable(srv.reply) else srv.reply
        if isinstance(data, tuple):
            status, data = data
        data = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _good_reply(n, body):
    preds = []
    for inst in body["instances"]:
        k = len(inst["b64"]) % 3  # a deterministic class per image
        probs = [0.1, 0.1, 0.1]
        probs[k] = 0.8
        preds.append({"probabilities": probs, "class_ids": k, "class_names": NAMES[k]})
    return {"predictions": preds}


@pytest.fixture
def standin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Standin)
    server.daemon_threads = True
    server.mode, server.reply, server.period = "reply", _good_reply, 0.1
    server.requests, server.paths, server.stop = [], [], threading.Event()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def pngs(tmp_path_factory):
    """Three small PNGs whose names hold a tab, a comma and quotes, and a newline."""
    folder = tmp_path_factory.mktemp("imgs")
    paths = []
    for i, name in enumerate(["a\tb.png", 'c,"d".png', "e\nf.png"]):
        buf = io.BytesIO()
        Image.new("L", (8 + i, 8), color=40 * i).save(buf, format="PNG")
        (folder / name).write_bytes(buf.getvalue())
        paths.append(str(folder / name))
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _files(n=2):
    return [b"\x89PNG-%d" % i for i in range(n)]


# ---------------------------------------------------------------------------------------------
# one deadline per request, one failure per run
# ---------------------------------------------------------------------------------------------

def test_a_trickling_server_is_cut_at_the_deadline(standin):
    standin.mode = "trickle"
    start = time.monotonic()
    with pytest.raises(ServerTimeout, match=r"accepted the connection but sent no complete "
                                            r"answer within 1 s \(\d+ bytes received\)"):
        predict_rest(standin.url + "/v1/models/m:predict", _files(), timeout=1)
    assert time.monotonic() - start < 2.5  # each byte restarts a socket timeout; not ours


def test_a_silent_server_fails_the_whole_run_once(standin, pngs, capsys):
    standin.mode = "silent"
    start = time.monotonic()
    rc = main(["predict", "m", *pngs, "--server", standin.url, "--timeout", "1",
               "--batch-size", "2"])
    wall = time.monotonic() - start
    err = capsys.readouterr()
    assert rc == 2 and err.out == ""
    assert len(standin.requests) == 1  # not retried image by image, nor for the next batch
    assert wall < 3
    lines = err.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "accepted the connection but sent no complete answer within 1 s" in lines[0]
    assert standin.url in lines[0] and "Cannot reach" not in lines[0]


def test_an_unreachable_server_is_one_line_saying_it_cannot_connect(pngs, capsys):
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ServerUnreachable, match="Cannot reach .* could not connect"):
        predict_rest(url + "/v1/models/m:predict", _files(), timeout=2)
    start = time.monotonic()
    assert main(["predict", "m", *pngs, "--server", url, "--batch-size", "1"]) == 2
    assert time.monotonic() - start < 5  # refused at once, not waiting for --timeout
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not connect" in err[0] and url in err[0], err


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"),
                    reason="relies on Linux dropping SYNs to a full accept queue")
def test_a_server_that_never_accepts_is_unreachable_within_the_deadline():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fill = []
    for _ in range(3):  # fill the accept queue; later SYNs are dropped, connect() waits
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(srv.getsockname())
        fill.append(c)
    time.sleep(0.1)
    start = time.monotonic()
    try:
        with pytest.raises(ServerUnreachable, match=r"could not connect \(no connection within "
                                                    r"1 s\)"):
            predict_rest(f"http://127.0.0.1:{srv.getsockname()[1]}/v1/models/m:predict",
                         _files(), timeout=1)
    finally:
        for c in fill + [srv]:
            c.close()
    assert time.monotonic() - start < 2.5


@pytest.fixture
def tls_standin(standin, tmp_path):
    """The stand-in behind TLS, with a self-signed certificate for 127.0.0.1."""
    import shutil
    import ssl
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed (makes the test certificate)")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    standin.socket = context.wrap_socket(standin.socket, server_side=True)
    standin.url = standin.url.replace("http://", "https://")
    standin.cert = str(cert)
    return standin


def test_https_has_the_same_deadline_and_names_a_tls_failure(tls_standin, monkeypatch):
    url = tls_standin.url + "/v1/models/m:predict"
    with pytest.raises(ServerUnreachable, match="TLS connection failed .*self-signed"):
        predict_rest(url, _files(), timeout=5)
    monkeypatch.setenv("SSL_CERT_FILE", tls_standin.cert)  # now the client trusts it
    assert len(predict_rest(url, _files(), timeout=5)) == 2
    tls_standin.mode = "trickle"
    start = time.monotonic()
    with pytest.raises(ServerTimeout, match="within 1 s"):
        predict_rest(url, _files(), timeout=1)
    assert time.monotonic() - start < 2.5


def test_a_huge_reply_is_refused(standin, monkeypatch):
    import kerasdoc.serving_client as sc

    monkeypatch.setattr(sc, "MAX_REPLY_BYTES", 1000)
    standin.reply = {"predictions": [GOOD] * 2, "padding": "x" * 5000}
    with pytest.raises(BadReply, match="larger than"):
        predict_rest(standin.url + "/v1/models/m:predict", _files(), timeout=2)


@pytest.mark.parametrize("mode, words", [
    ("close", "closed the connection before a complete answer"),
    ("not-http", "answered something that is not HTTP"),
])
def test_a_server_that_hangs_up_or_speaks_no_http(standin, mode, words):
    standin.mode = mode
    with pytest.raises(BadReply, match=words):
        predict_rest(standin.url + "/v1/models/m:predict", _files(), timeout=2)


def test_error_statuses_name_the_server(standin, pngs, capsys):
    standin.reply = (404, {"error": "Servable not found for request: Latest(m)"})
    with pytest.raises(ServerError, match=r"answered HTTP 404: Servable not found"):
        predict_rest(standin.url + "/v1/models/m:predict", _files(), timeout=2)
    assert main(["predict", "m", *pngs, "--server", standin.url, "--timeout", "2"]) == 2
    assert len(standin.requests) == 2  # the CLI's one batch, no per-image retries
    assert "HTTP 404" in capsys.readouterr().err


def test_a_rejected_image_costs_only_its_own_row(standin, pngs, capsys):
    bad = Image.open(pngs[1]).size  # the server refuses that one image, as TF Serving does
    import base64

    def reply(n, body):
        sizes = [Image.open(io.BytesIO(base64.b64decode(i["b64"]))).size
                 for i in body["instances"]]
        if bad in sizes:
            return 400, {"error": "INVALID_ARGUMENT: cannot decode image"}
        return _good_reply(n, body)

    standin.reply = reply
    rc = main(["predict", "m", *pngs, "--server", standin.url, "--timeout", "2"])
    out = capsys.readouterr()
    assert rc == 1
    assert len(out.out.strip().splitlines()) == 2
    assert "cannot classify" in out.err and "HTTP 400" in out.err
    assert len(standin.requests) == 4  # the batch, then each image
    with pytest.raises(RequestRejected):
        predict_rest(standin.url + "/v1/models/m:predict",
                     [open(pngs[1], "rb").read()], timeout=2)


# ---------------------------------------------------------------------------------------------
# validated replies
# ---------------------------------------------------------------------------------------------

BAD_REPLIES = [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "a JSON list, not an object"),
    ({"error": "boom"}, "error 'boom'"),
    ({"outputs": []}, "no 'predictions'"),
    ({"predictions": [GOOD]}, "1 predictions for 2 images"),
    ({"predictions": {"a": 1}}, "'predictions' of type dict"),
    ({"predictions": [[0.1, 0.9], [0.2, 0.8]]}, "prediction 0 is a list"),
    ({"predictions": [GOOD, dict(GOOD, class_ids=3)]}, "prediction 1 has class id 3, outside 0..2"),
    ({"predictions": [GOOD, dict(GOOD, class_ids=-1)]}, "class id -1"),
    ({"predictions": [GOOD, dict(GOOD, class_ids="1")]}, "class id '1'"),
    ({"predictions": [GOOD, dict(GOOD, class_ids=True)]}, "class id True"),
    (b'{"predictions": [{"probabilities": [NaN, 0.5, 0.5], "class_ids": 1}, '
     b'{"probabilities": [0.2, 0.5, 0.3], "class_ids": 1}]}', "not finite numbers in"),
    ({"predictions": [GOOD, dict(GOOD, probabilities=[0.5, 2.0, -1.0])]}, "in [0, 1]"),
    ({"predictions": [GOOD, dict(GOOD, probabilities=[0.5, 0.5])]},
     "prediction 1 has 2 probabilities, prediction 0 has 3"),
    ({"predictions": [GOOD, dict(GOOD, probabilities=[])]}, "no list of numbers"),
    ({"predictions": [GOOD, dict(GOOD, probabilities=["a", "b", "c"])]}, "no list of numbers"),
    ({"predictions": [GOOD, dict(GOOD, class_names=7)]}, "class name that is not a string"),
]


@pytest.mark.parametrize("reply, words", BAD_REPLIES, ids=[w for _, w in BAD_REPLIES])
def test_bad_replies_are_named(standin, reply, words):
    standin.reply = reply
    url = standin.url + "/v1/models/m:predict"
    with pytest.raises(BadReply, match="invalid reply") as info:
        predict_rest(url, _files(), timeout=2)
    assert words in str(info.value) and url in str(info.value)


@pytest.mark.parametrize("reply", [b"[1, 2]", {"predictions": [dict(GOOD, class_ids=5)] * 3},
                                   b'{"predictions": [{"probabilities": [NaN, 1, 0], '
                                   b'"class_ids": 0}]}'])
def test_the_cli_refuses_a_bad_reply_with_status_2(standin, pngs, capsys, reply):
    standin.reply = reply
    assert main(["predict", "m", *pngs, "--server", standin.url, "--timeout", "2"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "sent an invalid reply" in out.err and standin.url in out.err
    assert len(out.err.strip().splitlines()) == 1


def test_validate_predictions_passes_good_rows():
    assert validate_predictions([GOOD, dict(GOOD, class_ids=0)], 2, "s") == \
        [GOOD, dict(GOOD, class_ids=0)]
    without_names = {"probabilities": [1.0], "class_ids": 0}
    assert validate_predictions([without_names], 1, "s") == [without_names]


# ---------------------------------------------------------------------------------------------
# output formats: no file or class name breaks a row
# ---------------------------------------------------------------------------------------------

def _unescape_tsv(field: str) -> str:
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\":
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[field[i + 1]])
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _expected(pngs):
    rows = []
    for p in pngs:
        k = len(__import__("base64").b64encode(open(p, "rb").read())) % 3
        rows.append((p, NAMES[k], 0.8))
    return rows


@pytest.mark.parametrize("fmt", ["tsv", "csv", "json"])
def test_formats_round_trip_every_name(standin, pngs, capsys, fmt):
    args = ["predict", "m", *pngs, "--server", standin.url, "--timeout", "2"]
    assert main(args + ["--format", fmt]) == 0
    out = capsys.readouterr().out
    want = _expected(pngs)
    assert {r[1] for r in want} >= {NAMES[1]} or {r[1] for r in want} >= {NAMES[2]}
    if fmt == "tsv":
        lines = out.split("\n")
        assert lines[-1] == "" and len(lines) == 4
        got = [[_unescape_tsv(f) for f in line.split("\t")] for line in lines[:-1]]
    elif fmt == "csv":
        got = list(csv.reader(io.StringIO(out)))
        assert got.pop(0) == ["path", "class", "probability"]
    else:
        doc = json.loads(out)
        assert doc["errors"] == []
        got = [[r["path"], r["class"], r["probability"]] for r in doc["predictions"]]
    assert [(p, c, float(x)) for p, c, x in got] == want


def test_format_predictions_escapes():
    rows = [("a\\b\tc\nd\re.png", 'x,"y"', 0.123456789)]
    assert format_predictions(rows) == "a\\\\b\\tc\\nd\\re.png\tx,\"y\"\t0.123457\n"
    assert format_predictions(rows, fmt="csv") == \
        'path,class,probability\n"a\\b\tc\nd\re.png","x,""y""",0.123457\n'
    doc = json.loads(format_predictions(rows, [("z.png", "bad")], fmt="json"))
    assert doc == {"predictions": [{"path": rows[0][0], "class": 'x,"y"',
                                    "probability": 0.123456789}],
                   "errors": [{"path": "z.png", "error": "bad"}]}
    with pytest.raises(ValueError, match="tsv, csv, json"):
        format_predictions(rows, fmt="xml")


# ---------------------------------------------------------------------------------------------
# flags and URLs
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_timeout_must_be_a_positive_number(value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", "m", "x.png", "--server", "http://h:1", "--timeout", value])
    assert info.value.code == 2
    assert "expected a positive number" in capsys.readouterr().err


def test_server_url_schemes(standin, tmp_path):
    with pytest.raises(ValueError, match=r"http\(s\)://host:8501 \(REST\) or grpc://"):
        server_predictor("ftp://h", "m")
    with pytest.raises(ValueError, match="positive"):
        server_predictor("http://h:1", "m", timeout=0)
    (tmp_path / "m" / "3").mkdir(parents=True)  # a local export folder: its name and version
    predict_batch = server_predictor(standin.url, str(tmp_path / "m" / "3"), timeout=2)
    assert [p for _, p in predict_batch(_files(1))] == [0.8]
    assert standin.paths[-1] == "/v1/models/m/versions/3:predict"


def test_grpc_without_tensorflow_serving_api_is_one_sentence(monkeypatch, capsys):
    for name in ("tensorflow_serving", "tensorflow_serving.apis"):
        monkeypatch.setitem(__import__("sys").modules, name, None)  # as if not installed
    assert main(["predict", "m", "no-such.png", "--server", "grpc://127.0.0.1:8500"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["kerasdoc predict: gRPC servers (grpc://) need the optional package "
                   "tensorflow-serving-api: pip install 'kerasdoc[grpc]' (beside tensorflow-cpu: "
                   "pip install --no-deps tensorflow-serving-api)."], err

"""Wall time of ``kerasdoc predict --server`` against misbehaving stand-in TF Serving servers.

Starts, in this process, three REST servers on 127.0.0.1 that read the request and then:

* ``trickle``: send a (valid-looking) answer one byte every ``--period`` seconds (20 s: under
  the old client's 60 s per-read socket timeout, so each byte restarted it);
* ``silent``: never answer;
* ``fast``: answer at once (the command's own start-up and I/O, for reference).

and runs ``python -m kerasdoc predict m IMAGE... --server URL`` from each ``--repo`` checkout
(e.g. the code before and after the deadline), all at once in separate processes, killing any
that outlives ``--cap`` seconds. Printed per checkout and server: wall and CPU seconds of the
process, the seconds the server was held (from each request's arrival until the client hung up,
summed: the figure machine load does not move, unlike the process's TensorFlow start-up), exit
status, how many requests the server received, and stderr's last line.

Usage::

    python -m benchmarks.predict_server --repo before=/tmp/kd-before --repo after=. \\
        --images 2 --period 20 --cap 200 --out results/benchmarks/predict_server.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

MODES = ("fast", "trickle", "silent")


def _closed_within(sock, seconds: float, stop: threading.Event) -> bool:
    """Wait up to ``seconds`` for the client to close the connection (or for ``stop``)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        readable, _, _ = select.select([sock], [], [], min(0.2, end - time.monotonic()))
        if readable:
            try:
                if not sock.recv(1, socket.MSG_PEEK):
                    return True
            except OSError:
                return True
    return stop.is_set()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv.requests += 1
        start = time.monotonic()
        n = len(body["instances"])
        data = json.dumps({"predictions": [{"probabilities": [0.2, 0.8], "class_ids": 1,
                                            "class_names": "b"}] * n}).encode()
        reply = (b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(data)).encode() + b"\r\n\r\n" + data)
        try:
            if srv.mode == "fast":
                self.wfile.write(reply)
            elif srv.mode == "trickle":
                for i in range(len(reply)):
                    if _closed_within(self.connection, srv.period, srv.stop):
                        return
                    self.wfile.write(reply[i:i + 1])
            else:
                _closed_within(self.connection, srv.cap + 60, srv.stop)
        except OSError:
            pass
        finally:
            srv.held += time.monotonic() - start

    def log_message(self, *args):
        pass


def start_server(mode: str, period: float, cap: float) -> ThreadingHTTPServer:
    """A stand-in server in a daemon thread; ``.url``, ``.requests``, ``.stop``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.mode, server.period, server.cap = mode, period, cap
    server.requests, server.held, server.stop = 0, 0.0, threading.Event()
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    return server


def run_client(repo: str, url: str, images: list[str], cap: float, extra: list[str]) -> dict:
    """Run the command; its wall and CPU seconds (os.wait4), status and stderr's last line."""
    env = dict(os.environ, PYTHONPATH=repo, TF_CPP_MIN_LOG_LEVEL="3")
    err = tempfile.TemporaryFile()
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "kerasdoc", "predict", "m", *images,
                             "--server", url, *extra], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=err)
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > cap and not killed:
            proc.kill()
            killed = True
        time.sleep(0.05)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err.seek(0)
    lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "exit": proc.returncode, "killed_at_cap": killed,
            "stderr_lines": len(lines), "last_stderr": lines[-1][:300] if lines else ""}


def main(argv: list[str] | None = None) -> dict:
    """Run every checkout against every server at once; print and return the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", action="append", required=True, metavar="LABEL=PATH")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--period", type=float, default=20.0)
    ap.add_argument("--cap", type=float, default=200.0)
    ap.add_argument("--timeout", default=None, help="pass --timeout to every checkout")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="kd-predict-server-"))
    images = []
    for i in range(args.images):
        buf = io.BytesIO()
        Image.new("L", (16, 16 + i), color=50).save(buf, format="PNG")
        (folder / f"{i}.png").write_bytes(buf.getvalue())
        images.append(str(folder / f"{i}.png"))
    extra = ["--timeout", args.timeout] if args.timeout else []
    jobs, results = [], {}
    for spec in args.repo:
        label, repo = spec.split("=", 1)
        for mode in MODES:
            server = start_server(mode, args.period, args.cap)
            key = f"{label}/{mode}"

            def job(key=key, repo=repo, server=server):
                results[key] = run_client(str(Path(repo).resolve()), server.url, images,
                                          args.cap, extra)
                server.stop.set()
                time.sleep(0.3)
                results[key].update(requests=server.requests, held_s=round(server.held, 1))

            jobs.append(threading.Thread(target=job))
    for t in jobs:
        t.start()
    for t in jobs:
        t.join()
    out = {"images": args.images, "period_s": args.period, "cap_s": args.cap,
           "results": dict(sorted(results.items()))}
    print(f"{'checkout/server':22} {'wall s':>7} {'cpu s':>6} {'held s':>6} {'exit':>4} "
          f"{'reqs':>4}  stderr")
    for key, r in out["results"].items():
        wall = f">{r['wall_s']:.0f}" if r["killed_at_cap"] else f"{r['wall_s']:.1f}"
        print(f"{key:22} {wall:>7} {r['cpu_s']:6.1f} {r['held_s']:6.1f} {r['exit']:4} "
              f"{r['requests']:4}  "
              f"[{r['stderr_lines']} lines] {r['last_stderr'][:110]}")
    if args.out:
        from kerasdoc.reporting import write_json

        write_json(args.out, out)
    return out


if __name__ == "__main__":
    main()

"""tf.distribute: strategy selection, MirroredStrategy vs one device, two-worker training."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasdoc import distribute

REPO = Path(__file__).resolve().parents[1]

# mode: "mirrored" (two logical CPUs, MirroredStrategy), "one" (one device) or "auto" (the
# strategy get_strategy("auto") picks from TF_CONFIG); feed: "dataset" (a tf.data.Dataset in
# row order) or "epoch_arrays" (kerasdoc's EpochArrays, shuffled by seed). Trains a tiny model
# on fixed data with a fixed global batch and writes its weights and the strategy's
# description. Runs as a child process, or by exec in-process for mode "one".
CHILD = r"""
import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf, keras
if __name__ == "__main__":
    mode, result, feed = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
from kerasdoc.distribute import get_strategy, global_batch_size, describe
strategy = get_strategy(mode)
keras.utils.set_random_seed(0)
rng = np.random.RandomState(0)
x = rng.rand(128, 6).astype("float32")
y = (x[:, 0] + x[:, 1] > 1).astype("int32")
batch = global_batch_size(16 // strategy.num_replicas_in_sync, strategy)
if feed == "epoch_arrays":
    from kerasdoc.generators.epoch_arrays import EpochArrays
    ds = EpochArrays(x, y, batch_size=batch, seed=3)
else:
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch)
with strategy.scope():
    model = keras.Sequential([keras.Input((6,)),
                              keras.layers.Dense(8, activation="tanh", name="h"),
                              keras.layers.Dense(2, activation="softmax", name="p")])
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
hist = model.fit(ds, epochs=3, verbose=0)
np.savez(result, *model.get_weights())
json.dump({"describe": describe(strategy), "batch": batch, "loss": hist.history["loss"]},
          open(result + ".json", "w"))
"""


def _spawn(tmp: Path, mode: str, result: str, env_extra: dict | None = None,
           feed: str = "dataset"):
    script = tmp / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    env.update(env_extra or {})
    return subprocess.Popen([sys.executable, str(script), mode, result, feed], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc, timeout=240):
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.parametrize("feed", ["dataset", "epoch_arrays"])
def test_mirrored_two_cpus_matches_one_device(tmp_path, feed):
    proc = _spawn(tmp_path, "mirrored", str(tmp_path / "m.npz"), feed=feed)
    exec(CHILD, {"__name__": "one", "mode": "one", "result": str(tmp_path / "o.npz"),  # noqa: S102
                 "feed": feed})
    _finish(proc)
    m = json.loads((tmp_path / "m.npz.json").read_text())
    o = json.loads((tmp_path / "o.npz.json").read_text())
    assert m["describe"]["strategy"] == "MirroredStrategy"
    assert m["describe"]["replicas_in_sync"] == 2 and m["batch"] == 16 == o["batch"]
    assert o["describe"]["strategy"] == "OneDeviceStrategy"
    a, b = np.load(tmp_path / "m.npz"), np.load(tmp_path / "o.npz")
    for k in a.files:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m["loss"], o["loss"], rtol=1e-4)


def test_two_worker_multiworker_mirrored_on_localhost(tmp_path):
    start = time.perf_counter()
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = [_spawn(tmp_path, "auto", str(tmp_path / f"w{i}.npz"),
                    {"TF_CONFIG": json.dumps({"cluster": cluster,
                                              "task": {"type": "worker", "index": i}})})
             for i in range(2)]
    for p in procs:
        _finish(p)
    infos = [json.loads((tmp_path / f"w{i}.npz.json").read_text()) for i in range(2)]
    for i, info in enumerate(infos):
        assert info["describe"]["strategy"] == "MultiWorkerMirroredStrategy"
        assert info["describe"]["workers"] == 2 and info["describe"]["task"] == f"worker-{i}"
        assert info["describe"]["replicas_in_sync"] == 2
    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    for k in w0.files:
        np.testing.assert_array_equal(w0[k], w1[k])
    assert infos[0]["loss"][-1] < infos[0]["loss"][0]  # it trained
    print(f"two-worker MultiWorkerMirroredStrategy test wall time: "
          f"{time.perf_counter() - start:.1f} s")


def test_get_strategy_selection_and_errors(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.get_strategy("auto") is tf.distribute.get_strategy()
    assert isinstance(distribute.get_strategy("one"), tf.distribute.OneDeviceStrategy)
    with pytest.raises(ValueError, match="Unknown strategy 'gpu'"):
        distribute.get_strategy("gpu")
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distribute.get_strategy("multiworker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.tf_config()


def test_tf_config_roles(monkeypatch):
    cfg = {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cfg))
    assert distribute.num_workers_in_tf_config() == 2
    assert not distribute.is_chief() and distribute.task_id() == "worker-1"
    cfg["task"]["index"] = 0
    monkeypatch.setenv("TF_CONFIG", json.dumps(cfg))
    assert distribute.is_chief()
    cfg["cluster"]["chief"] = ["c:3"]
    monkeypatch.setenv("TF_CONFIG", json.dumps(cfg))
    assert not distribute.is_chief() and distribute.num_workers_in_tf_config() == 3


def test_global_batch_and_mixed_precision():
    assert distribute.global_batch_size(8) == 8
    with pytest.raises(ValueError, match="positive"):
        distribute.global_batch_size(0)
    assert distribute.mixed_precision_policy_name("gpu") == "mixed_float16"
    assert distribute.mixed_precision_policy_name("cpu") == "mixed_bfloat16"
    try:
        assert distribute.set_mixed_precision(True) == "mixed_bfloat16"  # no GPU here
        layer = keras.layers.Dense(2, name="d")
        assert layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32"
    finally:
        assert distribute.set_mixed_precision(False) == "float32"

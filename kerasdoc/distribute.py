"""``tf.distribute`` strategy selection, global batch scaling and mixed precision.

Every paper the project mirrors trains on one device; its users train on one or many GPUs,
on TPUs in Colab, or on several machines. ``get_strategy("auto")`` picks what is there:

* ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names more than one worker;
* a TPU (Colab / Cloud TPU: ``COLAB_TPU_ADDR``, ``TPU_NAME`` or visible TPU devices);
* ``MirroredStrategy`` with more than one GPU;
* the default (no-op) strategy otherwise.

Create the strategy at the start of the program, before other TensorFlow work (multi-worker
collectives and logical devices must be configured before TF initialises), and build and
compile the model inside ``strategy.scope()``.

Example:
    >>> strategy = get_strategy("auto")
    >>> global_batch_size(32, strategy) >= 32
    True
"""

from __future__ import annotations

import json
import os
from typing import Any

import keras
import tensorflow as tf

from kerasdoc.constants import STRATEGIES
from kerasdoc.keras_internals import patch_keras_multiworker_build


def tf_config() -> dict[str, Any]:
    """The parsed ``TF_CONFIG`` environment variable (``{}`` when unset)."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        return {}
    try:
        cfg = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON ({e}). Received: {raw[:200]!r}") from e
    if not isinstance(cfg, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object. Received: {raw[:200]!r}")
    return cfg


def num_workers_in_tf_config() -> int:
    """Number of ``worker`` (+ ``chief``) tasks that ``TF_CONFIG`` names (0 when unset)."""
    cluster = tf_config().get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """True on the process that should write shared outputs (models, logs, exports).

    That is every single-process run, the ``chief`` task, or worker 0 when there is no chief.
    """
    cfg = tf_config()
    task = cfg.get("task", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    has_chief = bool(cfg.get("cluster", {}).get("chief"))
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0 and not has_chief


def task_id() -> str:
    """``"<type>-<index>"`` of this process in ``TF_CONFIG`` (``"chief-0"`` when unset)."""
    task = tf_config().get("task", {})
    return f"{task.get('type', 'chief')}-{int(task.get('index', 0))}"


def _tpu_present() -> bool:
    if os.environ.get("COLAB_TPU_ADDR") or os.environ.get("TPU_NAME"):
        return True
    try:  # physical devices: listing them does not initialise the runtime
        return bool(tf.config.list_physical_devices("TPU"))
    except RuntimeError:
        return False


def _tpu_strategy() -> tf.distribute.Strategy:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def get_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The ``tf.distribute.Strategy`` for ``name``.

    Args:
        name: str. ``"auto"`` (see the module docstring), ``"one"`` (one device: the first GPU,
            else the CPU), ``"mirrored"`` (all local GPUs, or every logical CPU when there is
            none), ``"multiworker"`` (``TF_CONFIG``), or ``"tpu"``.

    Returns:
        A ``tf.distribute.Strategy``; ``strategy.num_replicas_in_sync`` scales the batch.

    Raises:
        ValueError: unknown name, or ``"multiworker"`` without a ``TF_CONFIG`` cluster.

    Example:
        >>> get_strategy("one").num_replicas_in_sync
        1
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}. Expected one of: {', '.join(STRATEGIES)}.")
    # Multi-worker first: its collectives must be configured before anything initialises TF.
    if name == "multiworker" or (name == "auto" and num_workers_in_tf_config() > 1):
        if num_workers_in_tf_config() < 1:
            raise ValueError("strategy 'multiworker' needs TF_CONFIG naming the cluster, e.g. "
                             '{"cluster": {"worker": ["host1:port", "host2:port"]}, '
                             '"task": {"type": "worker", "index": 0}}. Received: TF_CONFIG unset.')
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        patch_keras_multiworker_build()  # keras-team/keras#20585
        return strategy
    if name == "tpu" or (name == "auto" and _tpu_present()):
        return _tpu_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=cpus)
    if name == "one":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy | None = None) -> int:
    """The global batch: ``per_replica`` times the strategy's replicas in sync.

    Args:
        per_replica: int. Batch size each replica sees (the single-device batch size).
        strategy: the strategy (default: the current one).

    Returns:
        int, the batch size to give ``tf.data`` / ``fit``.

    Example:
        >>> global_batch_size(16)
        16
    """
    if per_replica < 1:
        raise ValueError(f"Batch size must be positive. Received: {per_replica}")
    strategy = strategy or tf.distribute.get_strategy()
    return int(per_replica) * int(strategy.num_replicas_in_sync)


def describe(strategy: tf.distribute.Strategy) -> dict[str, Any]:
    """JSON-safe summary: class name, replicas, worker count, this task."""
    name = type(strategy).__name__
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        name = "MultiWorkerMirroredStrategy"  # its class is CollectiveAllReduceStrategy
    return {"strategy": name,
            "replicas_in_sync": int(strategy.num_replicas_in_sync),
            "workers": max(1, num_workers_in_tf_config()), "task": task_id()}


def mixed_precision_policy_name(device: str | None = None) -> str:
    """``"mixed_float16"`` with a GPU (or ``device="gpu"``), else ``"mixed_bfloat16"``."""
    if device is None:
        device = "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    return "mixed_float16" if device.lower() == "gpu" else "mixed_bfloat16"


def set_mixed_precision(enabled: bool) -> str:
    """Set Keras' global dtype policy: mixed precision (see above) or ``"float32"``.

    Models built afterwards compute in 16 bits and keep float32 variables. Builders should keep
    their final softmax in float32 (``dtype="float32"``); :mod:`kerasdoc.export` casts outputs
    to float32 in any case, so exported signatures stay float32.

    Args:
        enabled: bool. True for mixed precision, False to restore float32.

    Returns:
        The policy name now in force.

    Example:
        >>> set_mixed_precision(False)
        'float32'
    """
    name = mixed_precision_policy_name() if enabled else "float32"
    keras.mixed_precision.set_global_policy(name)
    return name

"""TensorBoard logs of a fit: per-epoch scalars (and the learning rate), the validation confusion
matrix as an image, and the run's hyper-parameters.

``kerasdoc train --tensorboard DIR`` and every experiment's ``--tensorboard DIR`` add a
:class:`TensorBoardLogger` to each fit of their :class:`kerasdoc.runs.Run` (one sub-folder per
fit folder), so ``tensorboard --logdir DIR`` compares them.

The scalars are ``keras.callbacks.TensorBoard``'s (:class:`EpochTensorBoard`: the same callback
without its per-batch calls when it logs per epoch), the confusion matrix is a
``tf.summary.image`` and the hyper-parameters go through TensorBoard's HParams API
(``tensorboard.plugins.hparams.api``). ``tensorboard`` is one of kerasdoc's requirements; on an
install without it (``pip install --no-deps``) the hyper-parameters are written as a markdown
table in the Text dashboard (tag ``hparams``) and the rest needs it.

Layout of ``log_dir``: ``train/`` (``epoch_<metric>``, ``epoch_learning_rate``),
``validation/`` (``epoch_<metric>`` of the ``val_*`` logs, and the ``confusion_matrix`` image at
the last epoch), and the hyper-parameters at ``log_dir`` itself.

Example:
    >>> import tempfile
    >>> log = tempfile.mkdtemp()
    >>> write_hparams(log, {"lr": 0.01, "model": "digits_dnn"})
    'hparams'
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

#: The tag of the confusion-matrix image (in ``log_dir/validation``).
CONFUSION_TAG = "confusion_matrix"
#: The tag of the hyper-parameters' text fallback.
HPARAMS_TEXT_TAG = "hparams"


def _core_write(tag: str, value: Any, plugin: str, data_class: str, step: int) -> None:
    """One summary through the core op ``tf.summary.write`` (what TensorBoard's own summary
    functions call), for the fallback without the ``tensorboard`` package only."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin),
        data_class=getattr(summary_pb2, data_class)).SerializeToString()
    tf.summary.write(tag, tf.constant(value), step=step, metadata=meta)


def _clean_hparams(hparams: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """Values the HParams dashboard takes (bool, int, float, str); others as their ``str``."""
    out: dict[str, bool | int | float | str] = {}
    for k, v in hparams.items():
        if v is None:
            continue
        if isinstance(v, bool | int | str):
            out[str(k)] = v
        elif isinstance(v, float | np.floating):
            out[str(k)] = float(v)
        elif isinstance(v, np.integer):
            out[str(k)] = int(v)
        else:
            out[str(k)] = str(v)
    return out


def write_hparams(log_dir: str | Path, hparams: dict[str, Any],
                  metrics: dict[str, float] | None = None, *, step: int = 0) -> str:
    """Write a fit's hyper-parameters (and its final metrics) to ``log_dir``.

    Args:
        log_dir: the fit's log folder.
        hparams: name -> value (bool, int, float or str; others are written as ``str``,
            ``None`` is left out).
        metrics: final metrics written beside them as scalars (``hparams/<name>``), so the
            HParams dashboard can sort runs by them.
        step: the step of those scalars.

    Returns:
        ``"hparams"`` when the HParams plugin's summary was written (``tensorboard`` is
        installed), ``"text"`` when the markdown-table fallback was (tag ``hparams``).
    """
    import tensorflow as tf

    values = _clean_hparams(hparams)
    finite = {name: float(value) for name, value in (metrics or {}).items()
              if value is not None and math.isfinite(float(value))}
    writer = tf.summary.create_file_writer(str(log_dir))
    try:
        with writer.as_default():
            try:
                from tensorboard.plugins.hparams import api as hp
            except ImportError:  # an install without its requirements: a text table, core op
                rows = "\n".join(f"| {k} | {v} |" for k, v in sorted(values.items()))
                _core_write(HPARAMS_TEXT_TAG, f"| hyper-parameter | value |\n|---|---|\n{rows}",
                            "text", "DATA_CLASS_TENSOR", step)
                for name, value in finite.items():
                    _core_write(f"hparams/{name}", np.float32(value), "scalars",
                                "DATA_CLASS_SCALAR", step)
                kind = "text"
            else:
                hp.hparams(values)
                for name, value in finite.items():
                    tf.summary.scalar(f"hparams/{name}", value, step=step)
                kind = "hparams"
        writer.flush()
    finally:
        writer.close()
    return kind


def confusion_png(cm: np.ndarray, class_names: Sequence[str], *,
                  title: str = "Confusion matrix (validation)") -> tuple[bytes, int, int]:
    """The confusion matrix drawn by :func:`kerasdoc.reporting.plot_confusion_matrix`, as PNG
    bytes with its width and height."""
    from PIL import Image

    from kerasdoc.reporting import plot_confusion_matrix

    with tempfile.TemporaryDirectory() as tmp:
        path = plot_confusion_matrix(cm, class_names, Path(tmp) / "cm.png", title=title)
        data = path.read_bytes()
        with Image.open(path) as im:
            width, height = im.size
    return data, width, height


def write_confusion_image(log_dir: str | Path, y_true: Sequence[int], y_pred: Sequence[int],
                          class_names: Sequence[str], *, step: int = 0,
                          tag: str = CONFUSION_TAG) -> np.ndarray:
    """Write the confusion matrix of ``y_true`` vs ``y_pred`` as an image to ``log_dir``.

    Returns:
        The confusion matrix (rows: actual, columns: predicted).
    """
    import tensorflow as tf

    from kerasdoc.reporting import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, len(class_names))
    png, _, _ = confusion_png(cm, class_names)
    writer = tf.summary.create_file_writer(str(log_dir))
    try:
        with writer.as_default():
            tf.summary.image(tag, tf.io.decode_png(png)[None], step=step)
        writer.flush()
    finally:
        writer.close()
    return cm


def _labels(y: Any) -> np.ndarray | None:
    """Class indices of sparse or one-hot (or soft) labels; None for labels of another kind."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] > 1:
        y = y.reshape(len(y), -1)
        if y.min() < 0 or not np.allclose(y.sum(axis=1), 1.0, atol=1e-3):
            return None
        return y.argmax(axis=-1)
    return y.reshape(len(y))


def predict_validation(model: keras.Model, validation_data: Any,
                       max_batches: int = 1000) -> tuple[np.ndarray, np.ndarray] | None:
    """``(y_true, y_pred)`` class indices of one pass over ``validation_data``, or None when it
    is not a classifier's (labels and outputs of another kind).

    ``validation_data``: ``(x, y)`` arrays, a ``tf.data.Dataset`` of ``(x, y)``, or a
    ``generators`` flow (read once through its ``dataset``).
    """
    import tensorflow as tf

    if isinstance(validation_data, tuple | list) and len(validation_data) >= 2:
        probs = model.predict(validation_data[0], verbose=0)
        truth = validation_data[1]
    else:
        data = getattr(validation_data, "dataset", validation_data)
        if not isinstance(data, tf.data.Dataset):
            return None
        outs, labels = [], []
        for batch in data.take(max_batches):
            if not isinstance(batch, tuple | list) or len(batch) < 2:
                return None
            outs.append(np.asarray(model.predict_on_batch(batch[0])))
            labels.append(np.asarray(batch[1]))
        if not outs:
            return None
        probs, truth = np.concatenate(outs), np.concatenate(labels)
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] < 2 or len(truth) != len(probs):
        return None
    y_true = _labels(truth)
    if y_true is None or y_true.dtype.kind == "f" and not np.all(y_true == np.round(y_true)):
        return None
    return y_true.astype(int), probs.argmax(axis=1)


def _learning_rate(model: keras.Model) -> float | None:
    opt = getattr(model, "optimizer", None)
    lr = getattr(opt, "learning_rate", None)
    if lr is None:
        return None
    try:
        return float(keras.ops.convert_to_numpy(lr))
    except (TypeError, ValueError):
        return None


class EpochTensorBoard(keras.callbacks.TensorBoard):
    """``keras.callbacks.TensorBoard`` (default ``write_graph=False``) that skips its per-batch
    hooks when nothing is logged per batch.

    With ``update_freq="epoch"`` Keras' callback still calls ``tf.summary.scalar`` for every
    metric after every batch, with no writer set (nothing is recorded), about 0.25 ms of CPU each
    call here: more than a small model's training step. This subclass writes exactly the same
    event files (``train/`` and ``validation/``, ``epoch_<metric>``, ``epoch_learning_rate``).
    """

    def __init__(self, log_dir: str | Path = "logs", *, write_graph: bool = False, **kwargs):
        super().__init__(str(log_dir), write_graph=write_graph, **kwargs)
        self._per_batch = (self.update_freq != "epoch" or self.write_steps_per_second
                           or self._should_trace or write_graph)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self._per_batch:
            super().on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._per_batch:
            super().on_train_batch_end(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self._per_batch:
            super().on_test_batch_begin(batch, logs)


class TensorBoardLogger(EpochTensorBoard):
    """Keras' TensorBoard scalars each epoch, then the validation confusion matrix and the
    hyper-parameters.

    Per epoch (:class:`EpochTensorBoard`): every log to ``log_dir/train`` (``epoch_<name>``) or,
    for ``val_*`` logs, ``log_dir/validation``, and the optimizer's learning rate as
    ``epoch_learning_rate`` (train). At the end of training: the confusion matrix on
    ``validation_data`` as the image ``confusion_matrix`` (``log_dir/validation``; skipped when
    the model is not a classifier or there is no validation data), and the hyper-parameters
    with the last epoch's logs as their metrics (:func:`write_hparams`).

    Args:
        log_dir: str or Path.
        validation_data: what ``fit`` validates on (arrays, dataset or flow), or None.
        class_names: names of the classes (default: the flow's ``class_indices``, else
            ``"0"``, ``"1"``, ...).
        hparams: hyper-parameters; the model's name, the optimizer's class and initial
            learning rate and the number of epochs are added when not given.
        epochs: the fit's total epochs (for the hyper-parameters).
    """

    def __init__(self, log_dir: str | Path, *, validation_data: Any = None,
                 class_names: Sequence[str] | None = None,
                 hparams: dict[str, Any] | None = None, epochs: int | None = None):
        super().__init__(log_dir)
        self.log_path = Path(log_dir)
        self.validation_data = validation_data
        self.class_names = list(class_names) if class_names is not None else None
        self.hparams = dict(hparams or {})
        self.epochs = epochs
        self.last_logs: dict[str, float] = {}
        self.last_epoch = 0
        self.hparams_kind: str | None = None
        self.confusion: np.ndarray | None = None
        self._start_lr: float | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        self._start_lr = _learning_rate(self.model)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        for key, value in (logs or {}).items():
            try:
                self.last_logs[key] = float(value)
            except (TypeError, ValueError):
                continue
        self.last_epoch = epoch

    def _class_names(self, n: int) -> list[str]:
        if self.class_names is not None and len(self.class_names) == n:
            return self.class_names
        indices = getattr(self.validation_data, "class_indices", None)
        if indices and len(indices) == n:
            return sorted(indices, key=indices.get)
        return [str(i) for i in range(n)]

    def write_confusion(self) -> np.ndarray | None:
        """Predict ``validation_data`` once and write its confusion matrix image."""
        if self.validation_data is None:
            return None
        pair = predict_validation(self.model, self.validation_data)
        if pair is None:
            return None
        y_true, y_pred = pair
        n = int(self.model.output_shape[-1])
        if y_true.size and (y_true.min() < 0 or y_true.max() >= n):
            return None
        self.confusion = write_confusion_image(self.log_path / "validation", y_true, y_pred,
                                               self._class_names(n), step=self.last_epoch)
        return self.confusion

    def hyperparameters(self) -> dict[str, Any]:
        """The logged hyper-parameters: the given ones plus model, optimizer, learning rate
        and epochs."""
        opt = getattr(self.model, "optimizer", None)
        auto = {"model": getattr(self.model, "name", None),
                "optimizer": type(opt).__name__ if opt is not None else None,
                "learning_rate": self._start_lr, "epochs": self.epochs}
        return {**{k: v for k, v in auto.items() if v is not None}, **self.hparams}

    def on_train_end(self, logs: dict | None = None) -> None:
        super().on_train_end(logs)
        self.write_confusion()
        self.hparams_kind = write_hparams(self.log_path, self.hyperparameters(), self.last_logs,
                                          step=self.last_epoch)


def read_events(log_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Every summary in the event files under ``log_dir``: ``{relative folder: {tag:
    plugin name}}`` (for tests and for a quick look without TensorBoard)."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    root = Path(log_dir)
    found: dict[str, dict[str, Any]] = {}
    for f in sorted(root.rglob("events.out.tfevents.*")):
        rel = str(f.parent.relative_to(root)) if f.parent != root else "."
        tags = found.setdefault(rel, {})
        for record in tf.data.TFRecordDataset(str(f)):
            event = event_pb2.Event.FromString(record.numpy())
            for v in event.summary.value:
                tags[v.tag] = v.metadata.plugin_data.plugin_name or tags.get(v.tag, "")
    return found

"""Resumable, fault-tolerant training: atomic backups, atomic checkpoints, NaN guard, safe loading.

None of the five papers (000-004) says what happens when a long run dies; their users train for
hours on shared or pre-emptible machines. This module makes ``fit`` survive that:

* :class:`AtomicBackupAndRestore` is ``keras.callbacks.BackupAndRestore`` whose backup (weights,
  optimizer state, epoch, history so far) is written atomically: a process killed at any moment
  (SIGKILL included) leaves either the previous or the new backup, never a torn one. Re-running
  the same ``fit`` resumes after the last completed epoch.
* :class:`AtomicModelCheckpoint` writes the ``.keras`` model through a temporary file and
  ``os.replace`` and never writes weights holding NaN / Inf.
* :func:`resilient_callbacks` adds ``keras.callbacks.TerminateOnNaN``; :func:`fit_resilient`
  wires it all around ``model.fit``.
* :func:`load_pickle` loads joblib / pickle files only from a path the user names, with a
  warning (safe ``.keras`` loading is :func:`kerasdoc.models.weights.load_keras_model`).

Resuming gives the weights an uninterrupted run would have (within float tolerance) when the
data order of an epoch does not depend on how many epochs ran before in the same process and
ops are deterministic (``tf.config.experimental.enable_op_determinism()``): the backup keeps
the dropout / random-layer ``SeedGenerator`` states, and a seeded ``generators`` flow gives
epoch k the same shuffle and augmentation whichever process runs it
(:meth:`kerasdoc.generators.Flow.get_tf_dataset`; :meth:`kerasdoc.runs.Run.fit` tells it the epoch a
resumed run restarts at); so do NumPy arrays given to :meth:`kerasdoc.runs.Run.fit`
(:class:`kerasdoc.generators.epoch_arrays.EpochArrays`). Arrays given to ``model.fit`` itself
are not replayed (under a seed Keras 3.15 gives them one order in every epoch).

Example:
    >>> import tempfile, numpy as np, keras
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")])
    >>> model.compile("sgd", "mse")
    >>> x, y = np.ones((8, 4)), np.zeros((8, 2))
    >>> history = fit_resilient(model, x, y, epochs=2, out_dir=tempfile.mkdtemp(), verbose=0)
    >>> len(history["loss"])
    2
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasdoc.diskio import (  # noqa: F401 - re-exported
    DiskFullError,
    atomic_write_bytes,
    atomic_write_text,
    disk_full_error,
    is_disk_full,
    saving,
)
from kerasdoc.distribute import is_chief, task_id, tf_config
from kerasdoc.keras_internals import build_before_fit, weights_h5_bytes

METADATA = "training_metadata.json"


def atomic_save_model(model: keras.Model, path: str | Path, hint: str = "") -> Path:
    """``model.save(path)`` through a temporary ``.keras`` file and ``os.replace``.

    A full disk leaves no temporary file (the previous ``path`` stays) and raises
    :class:`DiskFullError` naming ``path``.

    Args:
        model: keras.Model.
        path: str or Path ending in ``.keras``.
        hint: str. Appended to a full-disk message (what is kept, how to go on).

    Returns:
        The path written.

    Example:
        >>> import tempfile, keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
        >>> atomic_save_model(m, tempfile.mkdtemp() + "/m.keras").name
        'm.keras'
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Model files must end in .keras. Received: {path}")
    with saving(path, hint):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".keras", dir=path.parent)
        os.close(fd)
        try:
            model.save(tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


def weights_are_finite(model: keras.Model) -> bool:
    """True when no weight of ``model`` is NaN or infinite."""
    return all(np.all(np.isfinite(w)) for w in model.get_weights())


def _seed_states(model: keras.Model) -> list[Any]:
    return [v for v in model.variables if "seed_generator_state" in v.path]


def rng_state(model: keras.Model) -> list[list[int]]:
    """The state of every ``keras.random.SeedGenerator`` in ``model`` (dropout, random
    augmentation layers ...), in the model's variable order: not part of ``save_weights``, yet
    needed for a resumed run to draw what an uninterrupted one would."""
    return [np.asarray(v.numpy()).astype(np.int64).tolist() for v in _seed_states(model)]


def restore_rng_state(model: keras.Model, state: list[list[int]]) -> None:
    """Set the ``SeedGenerator`` states saved by :func:`rng_state` (by position: layer names,
    hence variable paths, depend on what else the process built)."""
    variables = _seed_states(model)
    if not state:
        return
    if len(state) != len(variables):
        warnings.warn(f"The backup holds {len(state)} random-generator states, the model "
                      f"{len(variables)}; dropout draws after the resume will differ from an "
                      "uninterrupted run.", UserWarning, stacklevel=3)
        return
    for v, value in zip(variables, state):
        v.assign(np.asarray(value, dtype=v.dtype))


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` with atomic backups and the training history kept across restarts.

    Each backup is ``ckpt-<epoch>.weights.h5`` (model and optimizer state) written under a
    temporary name and renamed, then ``training_metadata.json`` naming it (epoch, batch,
    history so far, the model's ``SeedGenerator`` states) written the same way; older
    checkpoints are removed afterwards. At every instant the metadata names a complete file.
    In a multi-worker run each task backs up into its own sub-folder
    (``backup_dir/<type>-<index>``), since workers hold the same weights.

    Args:
        backup_dir: str. Folder of the backup (created).
        save_freq: ``"epoch"`` or an int (every that many batches).
        delete_checkpoint: bool. Remove the backup when training ends normally.

    Example:
        >>> cb = AtomicBackupAndRestore(tempfile.mkdtemp())  # doctest: +SKIP
    """

    def __init__(self, backup_dir: str, save_freq: str | int = "epoch",
                 delete_checkpoint: bool = True):
        backup_dir = str(backup_dir)
        if tf_config():
            backup_dir = os.path.join(backup_dir, task_id())
        super().__init__(backup_dir, save_freq=save_freq, double_checkpoint=False,
                         delete_checkpoint=delete_checkpoint)
        self._meta_path = os.path.join(backup_dir, METADATA)
        #: seconds: an epoch ending sooner than this after the previous backup is not backed
        #: up (0: every epoch; :meth:`kerasdoc.runs.Run.fit`'s ``backup_interval``)
        self.min_interval = 0.0
        self._backed_up_at = time.monotonic()
        self.restored_epoch = 0
        self.past_history: dict[str, list[float]] = {}
        self._history: dict[str, list[float]] = {}

    # -- restoring -----------------------------------------------------------------------
    def _read_metadata(self) -> dict[str, Any] | None:
        if not os.path.isfile(self._meta_path):
            return None
        with open(self._meta_path, encoding="utf-8") as f:
            return json.load(f)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._backed_up_at = time.monotonic()
        self._load_model()

    def _load_model(self) -> None:
        meta = self._read_metadata()
        if meta is None:
            self.restored_epoch = 0
            self._history = {}
            return
        if not self.model.built:
            raise ValueError(f"Model {self.model.name!r} must be built before fit() to restore "
                             f"the backup in {self.backup_dir}.")
        weights = os.path.join(self.backup_dir, meta["weights"])
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"Backup metadata {self._meta_path} names {weights}, which "
                                    "is missing; delete the folder to start over.")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights)
        restore_rng_state(self.model, meta.get("rng", []))
        self.restored_epoch = int(meta["epoch"])
        self.model._initial_epoch = self.restored_epoch
        self._history = {k: list(v) for k, v in meta.get("history", {}).items()}
        self.past_history = {k: list(v) for k, v in self._history.items()}

    # -- saving --------------------------------------------------------------------------
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for k, v in (logs or {}).items():
            self._history.setdefault(k, []).append(float(v))
        if self.min_interval > 0 and time.monotonic() - self._backed_up_at < self.min_interval:
            self._current_epoch, self._last_batch_seen = epoch + 1, 0  # not backed up yet
            return
        super().on_epoch_end(epoch, logs)
        self._backed_up_at = time.monotonic()

    def _save_model(self) -> None:
        if not weights_are_finite(self.model):
            return  # keep the last good backup (TerminateOnNaN stops the run)
        name = f"ckpt-{self._current_epoch}-{self._last_batch_seen}.weights.h5"
        final = os.path.join(self.backup_dir, name)
        hint = self._disk_full_hint()
        with saving(final, hint):
            os.makedirs(self.backup_dir, exist_ok=True)
        data = weights_h5_bytes(self.model)
        try:
            if data is not None:
                atomic_write_bytes(final, data, hint)
            else:  # older Keras: h5py writes the file itself
                tmp = os.path.join(self.backup_dir, f".tmp-{os.getpid()}-{name}")
                try:
                    with saving(final, hint):
                        self.model.save_weights(tmp, overwrite=True)
                        os.replace(tmp, final)
                finally:
                    Path(tmp).unlink(missing_ok=True)
            atomic_write_text(self._meta_path, json.dumps({
                "epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": name,
                "history": self._history, "rng": rng_state(self.model)}), hint)
        except BaseException:
            meta = self._read_metadata_quietly()
            if meta is None or meta.get("weights") != name:
                Path(final).unlink(missing_ok=True)  # not named by the metadata: not a backup
            raise
        for p in Path(self.backup_dir).glob("ckpt-*.weights.h5"):
            if p.name != name:
                p.unlink(missing_ok=True)

    def _read_metadata_quietly(self) -> dict[str, Any] | None:
        try:
            return self._read_metadata()
        except (OSError, ValueError):
            return None

    def _disk_full_hint(self) -> str:
        meta = self._read_metadata_quietly()
        if not meta:
            return ("; no epoch had been backed up yet: free some space and re-run the same "
                    "command")
        return (f"; the backup of epoch {meta.get('epoch')} is kept: free some space and "
                "re-run the same command to resume from it")

    def on_train_end(self, logs: dict | None = None) -> None:
        if not weights_are_finite(self.model):
            warnings.warn(f"Training ended with NaN/Inf weights; the last good backup stays in "
                          f"{self.backup_dir} (lower the learning rate and re-run to resume).",
                          stacklevel=2)
            return
        super().on_train_end(logs)

    @property
    def history(self) -> dict[str, list[float]]:
        """Per-epoch logs of every epoch trained so far, restored epochs included."""
        return {k: list(v) for k, v in self._history.items()}


class AtomicModelCheckpoint(keras.callbacks.Callback):
    """Save the model to ``filepath`` (``.keras``) after each epoch, atomically.

    With ``monitor`` set, only improvements of that log are saved. An epoch whose weights hold
    NaN or Inf is never written (the previous good file stays).

    Args:
        filepath: str or Path ending in ``.keras``.
        monitor: str or None. Log to watch (e.g. ``"val_loss"``); None saves every epoch.
        mode: ``"min"`` or ``"max"``.
    """

    def __init__(self, filepath: str | Path, monitor: str | None = None, mode: str = "min"):
        super().__init__()
        self.filepath = Path(filepath)
        if self.filepath.suffix != ".keras":
            raise ValueError(f"Checkpoint path must end in .keras. Received: {self.filepath}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'. Received: mode={mode!r}")
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None
        self.saved_epochs: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not is_chief():
            return
        if not weights_are_finite(self.model):
            warnings.warn(f"Epoch {epoch + 1}: weights hold NaN/Inf; {self.filepath} not "
                          "overwritten.", stacklevel=2)
            return
        if self.monitor is not None:
            value = (logs or {}).get(self.monitor)
            if value is None or not np.isfinite(value):
                return
            better = self.best is None or (value < self.best if self.mode == "min"
                                           else value > self.best)
            if not better:
                return
            self.best = float(value)
        kept = "the previous one is kept" if self.filepath.exists() else "it was not written"
        atomic_save_model(self.model, self.filepath, hint=f"; {kept}, and so is the backup "
                          "of the last completed epoch: free some space and re-run the same "
                          "command to resume")
        self.saved_epochs.append(epoch)


def tensorboard_callback(log_dir: str | Path) -> keras.callbacks.Callback:
    """Per-epoch scalars to ``log_dir/train`` and ``log_dir/validation``:
    ``keras.callbacks.TensorBoard`` without its per-batch calls
    (:class:`kerasdoc.tensorboard.EpochTensorBoard`)."""
    from kerasdoc.tensorboard import EpochTensorBoard

    return EpochTensorBoard(log_dir)


def resilient_callbacks(out_dir: str | Path, *, save_freq: str | int = "epoch",
                        checkpoint: bool = True, monitor: str | None = None,
                        delete_backup: bool = True) -> list[keras.callbacks.Callback]:
    """``[AtomicBackupAndRestore, TerminateOnNaN, AtomicModelCheckpoint]`` under ``out_dir``.

    Args:
        out_dir: str or Path. The run folder; the backup goes to ``out_dir/backup``, the
            checkpoint to ``out_dir/checkpoint.keras``.
        save_freq: backup frequency, ``"epoch"`` or a number of batches.
        checkpoint: bool. Include the ``.keras`` checkpoint.
        monitor: str or None. Checkpoint only improvements of this log.
        delete_backup: bool. Remove the backup when training ends normally; False when the
            caller saves the final model first and cleans up after (:class:`kerasdoc.runs.Run`).

    Returns:
        A list of callbacks, the backup first.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cbs: list[keras.callbacks.Callback] = [
        AtomicBackupAndRestore(str(out / "backup"), save_freq=save_freq,
                               delete_checkpoint=delete_backup),
        keras.callbacks.TerminateOnNaN(),
    ]
    if checkpoint:
        cbs.append(AtomicModelCheckpoint(out / "checkpoint.keras", monitor=monitor))
    return cbs


def fit_resilient(model: keras.Model, x: Any, y: Any = None, *, epochs: int,
                  out_dir: str | Path, callbacks: list | None = None,
                  save_freq: str | int = "epoch", checkpoint: bool = True,
                  **fit_kwargs: Any) -> dict[str, list[float]]:
    """``model.fit`` that resumes from ``out_dir/backup`` and guards against NaN.

    Calling it again with the same ``out_dir`` after a crash continues after the last
    completed epoch. The model must be compiled.

    Args:
        model: keras.Model, compiled.
        x, y: training data as for ``fit`` (arrays or a ``tf.data.Dataset``).
        epochs: int. Total epochs (including those done before a restart).
        out_dir: str or Path. Run folder (backup and checkpoint).
        callbacks: more callbacks.
        save_freq: backup frequency.
        checkpoint: bool. Keep ``out_dir/checkpoint.keras``.
        **fit_kwargs: passed to ``fit`` (``batch_size``, ``validation_data``, ``shuffle`` ...).

    Returns:
        The history of all epochs (restored ones included) as ``{log: [value per epoch]}``.
    """
    if model.optimizer is None:
        raise ValueError(f"Model {model.name!r} must be compiled before fit_resilient.")
    cbs = resilient_callbacks(out_dir, save_freq=save_freq, checkpoint=checkpoint)
    backup = cbs[0]
    build_before_fit(model, x, y)  # one trace of the training step, not two
    model.fit(x, y, epochs=epochs, callbacks=cbs + list(callbacks or []), **fit_kwargs)
    model._initial_epoch = None
    return backup.history


def load_pickle(path: str | Path) -> Any:
    """Load a joblib / pickle file the user named explicitly.

    Warning: unpickling runs code chosen by whoever wrote the file. Only load files you made
    or trust; this function never searches for files on its own and warns on every call.

    Args:
        path: str or Path. A ``.joblib`` / ``.pkl`` / ``.pickle`` file.

    Returns:
        The unpickled object.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"Pickle file {p} does not exist.")
    warnings.warn(f"Loading {p} with joblib/pickle runs code stored in the file; load only "
                  "files you trust.", UserWarning, stacklevel=2)
    import joblib

    return joblib.load(p)

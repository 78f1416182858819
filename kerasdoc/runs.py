"""The one run recipe: strategy, global batch, build, compile, resilient fit, model card, history.

``kerasdoc train`` and every experiment train through :class:`Run`, so the rules that keep a run
correct live once:

* the ``tf.distribute`` strategy is chosen before any other TensorFlow work
  (:func:`kerasdoc.distribute.get_strategy`), the dtype policy is set (``--mixed-precision``), and
  the batch size given per replica becomes the global batch;
* models are built and compiled in ``strategy.scope()``; under mixed precision a classifier's
  output is cast back to float32 by one rule (:func:`float32_outputs`);
* ``fit`` runs with the resilient callbacks (atomic backup and resume, NaN guard) when the
  run has a folder;
* :meth:`Run.finish` writes ``model.keras`` first, then the model card (class names and the
  training flow's own :class:`kerasdoc.generators.spec.ImageSpec`), then ``history.json``, and only
  then
  removes the backup, so a kill at any instant leaves either a resumable backup or a finished
  run, never neither;
* :func:`export_model_file` exports from the card, so the serving graph replays exactly what the
  training flow did (a model trained on padded pages is served padded pages).

Example:
    >>> import numpy as np, tempfile
    >>> from kerasdoc.generators.spec import ImageSpec
    >>> x = np.random.default_rng(0).uniform(0, 1, (32, 28, 28, 1)).astype("float32")
    >>> y = np.arange(32) % 10
    >>> with Run(tempfile.mkdtemp(), batch_size=16, seed=0) as run:
    ...     model = run.build("digits_dnn", input_shape=(28, 28, 1), num_classes=10)
    ...     _ = run.compile(model)
    ...     history = run.fit(model, x, y, epochs=1, verbose=0)
    ...     path = run.finish(model, [str(i) for i in range(10)], ImageSpec((28, 28)))
    >>> path.name, len(history["loss"])
    ('model.keras', 1)
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasdoc import distribute
from kerasdoc.keras_internals import build_before_fit
from kerasdoc.tfstartup import TrainerRetracingFilter


def float32_outputs(model: keras.Model) -> keras.Model:
    """``model`` with every non-float32 output cast to float32 (mixed precision's rule for
    probabilities); the model itself when its outputs are already float32.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
        >>> float32_outputs(m) is m
        True
    """
    if all(getattr(t, "dtype", "float32") == "float32" for t in model.outputs):
        return model
    outs = [t if t.dtype == "float32" else
            keras.layers.Activation("linear", dtype="float32",
                                    name=f"{t.name.split('/')[0]}_float32")(t)
            for t in model.outputs]
    return keras.Model(model.inputs, outs if len(outs) > 1 else outs[0], name=model.name)


class Run:
    """A training run: its strategy and dtype policy, its folder, and the recipe's steps.

    Use it as a context manager (the previous dtype policy is restored on exit) or call
    :meth:`close`. While it is open, TensorFlow's "triggered tf.function retracing" warning
    about Keras' own trainer functions, which every new model's first ``fit`` / ``evaluate`` /
    ``predict`` counts towards, stays off the console
    (:class:`kerasdoc.tfstartup.TrainerRetracingFilter`).

    Args:
        out: str, Path or None. The run folder (``model.keras``, ``model.kerasdoc.json``,
            ``history.json``, ``backup/``, ``logs/``); None: nothing is written and ``fit`` does
            not resume.
        strategy: ``"auto" | "one" | "mirrored" | "multiworker" | "tpu"`` or a
            ``tf.distribute.Strategy``.
        mixed_precision: bool. ``mixed_float16`` on GPU, ``mixed_bfloat16`` elsewhere.
        batch_size: int. Per replica; :attr:`batch_size` is the global batch.
        seed: int or None. ``keras.utils.set_random_seed`` before every build.
        tensorboard: bool, str or Path. True: log scalars to ``<fit folder>/logs`` (chief
            only); a folder: log each fit with :class:`kerasdoc.tensorboard.TensorBoardLogger`
            (scalars, learning rate, validation confusion matrix image, hyper-parameters) to
            ``tensorboard/<fit folder relative to out>``; False: no logs.
        hparams: dict or None. Hyper-parameters logged with each fit when ``tensorboard`` is a
            folder (beside the model, optimizer, learning rate, epochs and the run's facts).

    Attributes:
        strategy, policy, batch_size (global), per_replica_batch, replicas, seed, out.
    """

    def __init__(self, out: str | Path | None = None, *, strategy: Any = "auto",
                 mixed_precision: bool = False, batch_size: int = 32, seed: int | None = 0,
                 tensorboard: bool | str | Path = True, hparams: dict[str, Any] | None = None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be a positive integer. Received: {batch_size}")
        self.strategy = distribute.get_strategy(strategy) if isinstance(strategy, str) \
            else strategy
        self._previous_policy = keras.mixed_precision.global_policy().name
        self.policy = distribute.set_mixed_precision(mixed_precision)
        self.per_replica_batch = int(batch_size)
        self.replicas = int(self.strategy.num_replicas_in_sync)
        self.batch_size = distribute.global_batch_size(self.per_replica_batch, self.strategy)
        self.seed = seed
        self.out = Path(out) if out is not None else None
        self.tensorboard = tensorboard
        self.hparams = dict(hparams or {})
        self.backup: Any = None
        # each new model's first fit / evaluate / predict is no "retracing": not on the console
        self._retracing_filter = TrainerRetracingFilter()
        logging.getLogger("tensorflow").addFilter(self._retracing_filter)

    # -- context -------------------------------------------------------------------------
    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Restore the dtype policy that was in force before the run, and TensorFlow's
        retracing warnings about Keras' trainer functions
        (:class:`kerasdoc.tfstartup.TrainerRetracingFilter`, dropped while the run is open)."""
        keras.mixed_precision.set_global_policy(self._previous_policy)
        logging.getLogger("tensorflow").removeFilter(self._retracing_filter)

    def describe(self) -> dict[str, Any]:
        """JSON-safe facts: strategy, replicas, global batch, dtype policy."""
        return {**distribute.describe(self.strategy), "global_batch": self.batch_size,
                "per_replica_batch": self.per_replica_batch, "policy": self.policy}

    def scope(self):
        """``strategy.scope()``: build and compile models inside it."""
        return self.strategy.scope()

    # -- build / compile -----------------------------------------------------------------
    def build(self, model: str | Callable[..., keras.Model], **kwargs: Any) -> keras.Model:
        """Build a registered model (by name) or call a builder, in the strategy scope, seeded,
        with float32 outputs under mixed precision.

        Args:
            model: a name from ``kerasdoc.models.list_models()`` or a builder function.
            **kwargs: builder arguments (``input_shape``, ``num_classes``, ...).
        """
        from kerasdoc.models import get_model

        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        with self.scope():
            built = get_model(model, **kwargs) if isinstance(model, str) else model(**kwargs)
            return float32_outputs(built)

    def compile(self, model: keras.Model, optimizer: Any = None, loss: Any = None,
                metrics: Sequence[Any] | None = ("accuracy",), **kwargs: Any) -> keras.Model:
        """``model.compile`` in the strategy scope; defaults: Adam 1e-3, sparse categorical
        cross-entropy, accuracy.

        Optimizer and metric objects hold variables tied to the strategy they were created
        under; ones made outside the scope are re-created inside it from their config, so a
        caller may pass ``keras.optimizers.Adam(lr)`` made anywhere.
        """
        with self.scope():
            opt = optimizer if optimizer is not None else keras.optimizers.Adam(1e-3)
            if isinstance(opt, keras.optimizers.Optimizer):
                opt = opt.__class__.from_config(opt.get_config())
            mets = [m.__class__.from_config(m.get_config())
                    if isinstance(m, keras.metrics.Metric) else m for m in (metrics or [])]
            model.compile(optimizer=opt, loss=loss or "sparse_categorical_crossentropy",
                          metrics=mets or None, **kwargs)
        return model

    # -- fit -----------------------------------------------------------------------------
    def callbacks(self, folder: Path | None = None, backup_interval: float = 0.0
                  ) -> list[keras.callbacks.Callback]:
        """The resilient callbacks for ``folder`` (default: the run folder); none without one.

        The backup (what a resumed run restarts from) is written after every epoch, or with
        ``backup_interval`` seconds only after an epoch ending at least that long after the
        previous backup (a kill then loses at most that much training). No per-epoch
        ``checkpoint.keras``: the backup resumes a run, :meth:`finish` writes the model, and
        nothing read the checkpoint (a whole ``.keras`` file every epoch)."""
        from kerasdoc.training.resilient import resilient_callbacks, tensorboard_callback

        folder = folder if folder is not None else self.out
        if folder is None:
            return [keras.callbacks.TerminateOnNaN()]
        # the backup is removed by finish(), after the final model is on disk
        cbs = resilient_callbacks(folder, delete_backup=False, checkpoint=False)
        cbs[0].min_interval = float(backup_interval)
        self.backup = cbs[0]
        if self.tensorboard is True and distribute.is_chief():
            cbs.append(tensorboard_callback(folder / "logs"))
        return cbs

    def tensorboard_logger(self, folder: str | Path | None = None, validation_data: Any = None,
                           epochs: int | None = None) -> keras.callbacks.Callback | None:
        """The :class:`kerasdoc.tensorboard.TensorBoardLogger` of a fit into ``folder`` when
        ``tensorboard`` is a folder (chief only), else None."""
        if isinstance(self.tensorboard, bool) or self.tensorboard is None \
                or not distribute.is_chief():
            return None
        from kerasdoc.tensorboard import TensorBoardLogger

        log_dir = Path(self.tensorboard)
        if folder is not None:
            folder = Path(folder)
            try:
                rel = folder.resolve().relative_to(self.out.resolve()) if self.out else None
            except ValueError:
                rel = None
            log_dir = log_dir / (rel if rel is not None else folder.name)
        facts = self.describe()
        hparams = {"strategy": facts.get("strategy"), "replicas": self.replicas,
                   "global_batch": self.batch_size, "policy": self.policy, "seed": self.seed,
                   **self.hparams}
        return TensorBoardLogger(log_dir, validation_data=validation_data, hparams=hparams,
                                 epochs=epochs)

    def fit(self, model: keras.Model, x: Any, y: Any = None, *, epochs: int,
            validation_data: Any = None, callbacks: Sequence[Any] = (),
            fit_fn: Callable[..., Any] | None = None, folder: str | Path | None = None,
            verbose: int | str = 2, backup_interval: float = 0.0,
            **fit_kwargs: Any) -> dict[str, list[float]]:
        """Train with the resilient callbacks; resumes from the folder's backup.

        Args:
            model: a compiled model (from :meth:`build` / :meth:`compile`); with ``fit_fn``
                it may be uncompiled when ``fit_fn`` compiles it (``fit_one_cycle`` does).
            x, y: arrays (``y`` given; batched with the global batch) or a dataset / flow.
            epochs: total epochs, restored ones included.
            validation_data: as for ``fit``.
            callbacks: more callbacks.
            fit_fn: a ``fit``-like function ``fit_fn(model, x, epochs=..., callbacks=...,
                validation_data=..., verbose=..., **fit_kwargs)`` in place of ``model.fit``
                (e.g. :func:`kerasdoc.training.fit_one_cycle` via a lambda).
            folder: where this fit's backup lives (default: the run folder); a multi-stage
                recipe gives each stage its own.
            verbose: ``fit``'s verbosity.
            backup_interval: seconds. 0: back up after every epoch; more: only after an epoch
                ending at least that long after the previous backup (short fits whose
                per-epoch backup costs more than the epochs a kill could lose).

        Returns:
            The history of every epoch, restored ones included.
        """
        if epochs < 1:
            raise ValueError(f"epochs must be a positive integer. Received: epochs={epochs}")
        if fit_fn is None and getattr(model, "optimizer", None) is None:  # fit_fn may compile
            raise ValueError(f"Model {model.name!r} must be compiled before fit (Run.compile).")
        where = Path(folder) if folder is not None else self.out
        if where is not None:
            self._lock(where)
            self._check_fingerprint(where, model, epochs, data=x)
        cbs = self.callbacks(where, backup_interval) + list(callbacks)
        logger = self.tensorboard_logger(where, validation_data, epochs)
        if logger is not None:
            cbs.append(logger)
        backup = self.backup if where is not None else None
        x, y, fit_kwargs = self._array_feed(x, y, fit_kwargs)
        if hasattr(x, "start_epoch"):  # seeded flows and array feeds replay epoch k when
            x.start_epoch = self._backup_epoch(where) if where is not None else 0  # resumed at k
        if y is not None:
            fit_kwargs.setdefault("batch_size", self.batch_size)
            fit_kwargs.setdefault("shuffle", True)
        else:
            fit_kwargs.setdefault("shuffle", False)  # datasets and flows shuffle themselves
        if fit_fn is None:
            build_before_fit(model, x, y)  # one trace of the training step, not two
            hist = model.fit(x, y, epochs=epochs, validation_data=validation_data,
                             callbacks=cbs, verbose=verbose, **fit_kwargs)
        else:
            if y is not None:
                raise ValueError("fit_fn takes a dataset; pass x as a dataset and y=None.")
            fit_kwargs.pop("shuffle", None)
            hist = fit_fn(model, x, epochs=epochs, validation_data=validation_data,
                          callbacks=cbs, verbose=verbose, **fit_kwargs)
        if backup is not None:
            if backup.restored_epoch:
                print(f"[run] resumed after epoch {backup.restored_epoch} from "
                      f"{backup.backup_dir}", flush=True)
            return backup.history
        return {k: [float(v) for v in vs] for k, vs in hist.history.items()}

    #: ``fit`` arguments that Keras' own array feed takes and :class:`EpochArrays` does not.
    _KERAS_ARRAY_ARGS = ("sample_weight", "class_weight", "validation_split", "steps_per_epoch")

    def _array_feed(self, x: Any, y: Any, fit_kwargs: dict[str, Any]) -> tuple[Any, Any, dict]:
        """NumPy ``(x, y)`` as an :class:`~kerasdoc.generators.epoch_arrays.EpochArrays` feed
        (each epoch its own order, seeded by the run's seed; Keras' own feed gives every epoch
        the same order under a seed); anything else, or arguments only Keras' feed takes
        (:data:`_KERAS_ARRAY_ARGS`, ``shuffle="batch"``), as it is."""
        from kerasdoc.generators.epoch_arrays import EpochArrays, feedable

        shuffle = fit_kwargs.get("shuffle", True)
        if (y is None or shuffle == "batch" or not feedable(x, y)
                or any(k in fit_kwargs for k in self._KERAS_ARRAY_ARGS)):
            return x, y, fit_kwargs
        kwargs = dict(fit_kwargs)
        batch_size = kwargs.pop("batch_size", None) or self.batch_size
        kwargs.pop("shuffle", None)
        seed = self.seed if self.seed is not None else int(np.random.randint(2 ** 31 - 1))
        return EpochArrays(x, y, batch_size=batch_size, shuffle=bool(shuffle), seed=seed), \
            None, kwargs

    @staticmethod
    def _backup_epoch(folder: Path) -> int:
        """Epochs completed in ``folder``'s backup (0 without one)."""
        from kerasdoc.training.resilient import METADATA

        meta = folder / "backup" / METADATA
        return int(json.loads(meta.read_text()).get("epoch", 0)) if meta.is_file() else 0

    _locks: dict[str, Any] = {}

    def _lock(self, folder: Path) -> None:
        """Hold ``folder/.lock`` for the life of the process: a second training into the same
        folder at once gets a clear error instead of two runs overwriting one backup."""
        import fcntl
        import os

        key = str(folder.resolve())
        if key in Run._locks:
            return
        folder.mkdir(parents=True, exist_ok=True)
        fh = open(folder / ".lock", "a+")  # noqa: SIM115 - kept open to hold the lock
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            owner = fh.read().strip() or "another process"
            fh.close()
            raise RuntimeError(f"{folder} is being trained into by {owner}; wait for it to "
                               "finish or choose another folder.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        Run._locks[key] = fh

    @staticmethod
    def _fingerprint(model: keras.Model, data: Any = None) -> dict[str, Any]:
        fp = {"model": model.name, "input_shape": list(model.input_shape[1:]),
              "output_shape": list(model.output_shape[1:]),
              "parameters": int(model.count_params())}
        indices = getattr(data, "class_indices", None)
        if indices:  # a flow: its class names and the files it reads
            fp["classes"] = sorted(indices, key=indices.get)
        paths = getattr(data, "filepaths", None)
        if paths:
            import hashlib

            fp["samples"] = len(paths)
            fp["data"] = hashlib.sha1("\n".join(map(str, paths)).encode()).hexdigest()[:16]
        return fp

    def _check_fingerprint(self, folder: Path, model: keras.Model, epochs: int,
                           data: Any = None) -> None:
        """Refuse to resume from a backup of another model, class set or dataset (the files of
        a flow); say what resuming with fewer epochs than the backup holds does."""
        from kerasdoc.training.resilient import atomic_write_text

        backup = folder / "backup"
        meta_file, fp_file = backup / "training_metadata.json", backup / "fingerprint.json"
        want = self._fingerprint(model, data)
        if meta_file.is_file():
            have = json.loads(fp_file.read_text()) if fp_file.is_file() else None
            shared = [k for k in want if have is not None and k in have]  # older backups
            if have is not None and any(have[k] != want[k] for k in shared):
                diff = {k: (have[k], want[k]) for k in shared if have[k] != want[k]}
                if "data" in diff:
                    diff["data"] = ("another file list", "this flow's")
                raise ValueError(f"The backup in {backup} is of another run ({diff}: backup vs "
                                 "now); delete it to start over, or use another folder.")
            done = int(json.loads(meta_file.read_text()).get("epoch", 0))
            if done >= epochs:
                print(f"[run] the backup in {backup} already holds {done} epoch(s), not fewer "
                      f"than epochs={epochs}: no further training; its weights are finished.",
                      flush=True)
        else:
            backup.mkdir(parents=True, exist_ok=True)
            atomic_write_text(fp_file, json.dumps(want))

    # -- finish --------------------------------------------------------------------------
    def finish(self, keras_model: keras.Model, class_names: Sequence[str], spec: Any,
               history: dict[str, list[float]] | None = None, *, folder: str | Path | None = None,
               **card: Any) -> Path:
        """Write ``model.keras``, its card and ``history.json`` atomically, then clean up.

        Args:
            keras_model: the trained model.
            class_names: one per output.
            spec: the training flow's :class:`kerasdoc.generators.spec.ImageSpec` (``flow.spec``).
            history: per-epoch logs.
            folder: default: the run folder.
            **card: more facts for the model card (``model=``, ``paper=``, ``data=`` ...).

        Returns:
            The path of ``model.keras``.
        """
        from kerasdoc.card import write_card
        from kerasdoc.diskio import DiskFullError, disk_full_error
        from kerasdoc.training.resilient import atomic_save_model, atomic_write_text

        folder = Path(folder) if folder is not None else self.out
        if folder is None:
            raise ValueError("This run has no folder (Run(out=None)); pass folder=.")
        if spec is None:
            raise ValueError("The training flow has no image spec (it uses a step a spec cannot "
                             "express, e.g. preprocessing_function); pass the ImageSpec the "
                             "model's inputs follow.")
        spec.check_model(keras_model)
        model_file = folder / "model.keras"
        if distribute.is_chief():
            folder.mkdir(parents=True, exist_ok=True)
            kept = (" (the backup of the last epoch is kept: free some space and re-run the "
                    "same command to finish without training again)"
                    if (folder / "backup").is_dir() else "")
            try:
                atomic_save_model(keras_model, model_file, hint=kept)
                write_card(model_file, class_names, spec, run=self.describe(), **card)
                if history is not None:
                    atomic_write_text(folder / "history.json", json.dumps(history, indent=2),
                                      hint=kept)
            except DiskFullError as e:  # no half-finished run: the backup resumes it
                if (folder / "backup").is_dir():
                    model_file.unlink(missing_ok=True)
                raise disk_full_error(e.filename, kept) from None
            (folder / "checkpoint.keras").unlink(missing_ok=True)
            shutil.rmtree(folder / "backup", ignore_errors=True)
        return model_file

    @staticmethod
    def discard(folder: str | Path) -> None:
        """Remove a fit's backup and checkpoint when its model is not kept (a trial whose
        metrics are all that is reported)."""
        folder = Path(folder)
        (folder / "checkpoint.keras").unlink(missing_ok=True)
        shutil.rmtree(folder / "backup", ignore_errors=True)


def export_model_file(model_files: str | Path | Sequence[str | Path], name: str,
                      base_dir: str | Path = "saved_models", version: int | None = None,
                      *, card_flags: dict[str, Any] | None = None, **kwargs: Any) -> Path:
    """Export ``.keras`` file(s) with the image spec and class names of their model cards.

    Several files make one ensemble; their class names must agree. A stacked pipeline (its
    ``pipeline.json``, or the run folder holding it, as ``kerasdoc reproduce rvl-cdip`` writes)
    is exported by :func:`kerasdoc.stacking.export_pipeline`: members, crops and meta-classifier
    in one SavedModel. An existing version is never overwritten.

    ``card_flags`` (``card=``, ``class_names=``, ``image_spec=``: the CLI flags' text, see
    :func:`kerasdoc.card.resolve_card`) replace or stand in for the cards.

    Raises:
        FileNotFoundError: a file is missing; :class:`kerasdoc.card.MissingCardError`: a card
            is missing and the flags do not say what it would.
        FileExistsError: the version exists.
        ValueError: the members disagree on the classes; a pipeline given with other files.
    """
    from kerasdoc.card import load_members, split_pipeline
    from kerasdoc.export import export_for_serving

    files, pipeline = split_pipeline(model_files)
    if pipeline is not None:
        from kerasdoc.stacking import export_pipeline

        return export_pipeline(pipeline, name, base_dir, version, **kwargs)
    models, specs, names = load_members(files, card_flags)
    return export_for_serving(models, name, base_dir, version, class_names=names, spec=specs,
                              **kwargs)

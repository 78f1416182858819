"""Everything of Keras' private API (``keras.src``, and TensorFlow's private names next to it)
that training, export and ``tf.distribute`` rely on, in one place.

The flows' part lives in :mod:`kerasdoc.generators.keras_adapter` (the generators import nothing
above their floor); these two modules are the only ones of kerasdoc that import ``keras.src``
(``tests/test_architecture.py`` checks it). Here:

* :func:`patch_keras_multiworker_build`: the TensorFlow trainer's two fixes for ``fit`` under
  ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585), used by
  :func:`kerasdoc.distribute.get_strategy`;
* :func:`weights_h5_bytes`: a model's ``.weights.h5`` built in memory (Keras' saving library has
  no public in-memory writer), used by :mod:`kerasdoc.training.resilient`;
* :func:`build_before_fit`: the optimizer's and the compiled metrics' variables created before
  ``fit`` traces its step, so the step is traced once instead of twice, used by every ``fit``
  of kerasdoc (:meth:`kerasdoc.runs.Run.fit`, :mod:`kerasdoc.training`);
* :func:`write_export_archive`: ``keras.export.ExportArchive.write_out`` with each endpoint
  traced once instead of twice, used by every SavedModel export of kerasdoc
  (:mod:`kerasdoc.export`, :mod:`kerasdoc.robustness.serving`).

:func:`check_keras_internals` says, in one sentence per item, what a new Keras release changed
(``tests/test_keras_internals.py`` runs it).

Example:
    >>> check_keras_internals()
    []
"""

from __future__ import annotations

import inspect
import io
from typing import Any

import keras


def patch_keras_multiworker_build() -> None:
    """Work around keras-team/keras#20585: ``fit`` under ``MultiWorkerMirroredStrategy``.

    Keras 3.15's TF trainer fails twice there (checked with TF 2.21):

    1. before building it reduces the first (x, y) batch with one ``strategy.reduce`` call on
       the whole tuple; the collective strategy's ``reduce`` takes one tensor at a time
       ("Attempt to convert a value (PerReplica ...)"). The replacement reduces element by
       element and is otherwise Keras' own method;
    2. it averages the per-step logs across workers with ``reduce("MEAN", v, axis=0)``, which
       fails on scalar logs ("Invalid reduction dimension 0"). The replacement averages them
       with ``axis=None`` (the mean over workers) and leaves every other case to Keras.

    Both are installed once, when :func:`kerasdoc.distribute.get_strategy` creates a
    multi-worker strategy.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    tree = keras.tree
    if getattr(TensorFlowTrainer._maybe_symbolic_build, "_kerasdoc_patched", False):
        return
    keras_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if (reduction in ("auto", "mean")
                and tf_trainer._collective_all_reduce_multi_worker(strategy)):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    tf_trainer.reduce_per_replica = reduce_per_replica

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                batch = next(it)
                distributed = tree.map_structure(
                    lambda x: isinstance(x, tf.distribute.DistributedValues), batch)
                if all(tree.flatten(distributed)):
                    data_batch = tree.map_structure(
                        lambda x: self.distribute_strategy.reduce("MEAN", x, axis=None), batch)
                else:
                    data_batch = batch
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    _maybe_symbolic_build._kerasdoc_patched = True
    TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build


def weights_h5_bytes(model: keras.Model) -> bytes | None:
    """``model.save_weights`` (model and optimizer state) as the bytes of a ``.weights.h5``
    file, built in memory: HDF5 never writes to disk, so a full disk is a plain ``OSError`` of
    the final write, where h5py writing a file on a full disk prints tracebacks and can end
    the process with a segmentation fault at exit. None where this Keras lacks the API."""
    try:
        from keras.src.saving import saving_lib

        store = saving_lib.H5IOStore(io.BytesIO(), mode="w")
        save_state = saving_lib._save_state
    except (ImportError, AttributeError, TypeError):
        return None
    buf = store.path_or_io
    save_state(model, weights_store=store, assets_store=None, inner_path="",
               visited_saveables=set())
    store.close()
    return buf.getvalue()


def _data_spec(x: Any, y: Any = None) -> Any:
    """The batch structure of ``fit``'s data as ``tf.TensorSpec``s (batch size None): from a
    ``tf.data.Dataset``, a flow or an ``EpochArrays`` feed (its ``element_spec``), or from
    arrays ``x`` (``y``); None
    for anything else (a generator, a ``PyDataset``)."""
    import numpy as np
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):  # kerasdoc's flows are datasets too
        return x.element_spec
    if y is None and isinstance(getattr(x, "element_spec", None), tuple):  # EpochArrays
        return x.element_spec

    def array_spec(a):
        a = np.asarray(a)
        if a.ndim == 0 or a.dtype.kind not in "biuf":
            raise TypeError(f"not a numeric array: {a.dtype}")
        return tf.TensorSpec((None, *a.shape[1:]), tf.as_dtype(a.dtype))

    try:
        xs = keras.tree.map_structure(array_spec, x)
        return xs if y is None else (xs, keras.tree.map_structure(array_spec, y))
    except (TypeError, ValueError):
        return None


def build_before_fit(model: keras.Model, x: Any, y: Any = None) -> bool:
    """Create the variables that ``fit``'s first training step would create: the optimizer's
    slots and the compiled loss's and metrics' state.

    Without a distribution strategy, Keras' TensorFlow trainer leaves them to the first trace
    of the training step, and a ``tf.function`` that creates variables on its first call is
    traced a second time (TensorFlow's rule): every ``fit`` of a new model traced its step
    twice (tensorflow/tensorflow#48851). Keras' own ``_symbolic_build`` (what it runs itself
    under a strategy) builds them from the data's specs, with nothing computed; the training
    is the same (same variables, same order, same numbers), the step is traced once (a
    one-epoch ``fit`` of ``resnet_quick``: 7.0 s -> 3.7 s, ``python -m
    benchmarks.fit_overhead``).

    Args:
        model: a compiled model.
        x, y: ``fit``'s data: a ``tf.data.Dataset``, a kerasdoc flow, or arrays.

    Returns:
        Whether it built anything (False: nothing to build, data of another kind, a model
        that belongs to a strategy, or Keras' build failed here; ``fit`` then builds in its
        trace as before).

    Example:
        >>> import numpy as np
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> m.compile("adam", "mse")
        >>> build_before_fit(m, np.zeros((4, 3)), np.zeros((4, 2))), m.optimizer.built
        (True, True)
    """
    import tensorflow as tf

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or getattr(model, "_distribute_strategy", None) is not None:
        return False
    if tf.distribute.has_strategy():  # the variables would land outside the strategy
        return False
    spec = _data_spec(x, y)
    build = getattr(model, "_symbolic_build", None)
    if spec is None or build is None:
        return False
    metrics = getattr(model, "_compile_metrics", None)
    if optimizer.built and (metrics is None or metrics.built):
        return False
    try:
        build(data_batch=spec)
    except Exception:  # noqa: BLE001 - Keras builds in the first trace instead, as before
        return False
    return True


def write_export_archive(archive: Any, filepath: str, *, verbose: bool = False,
                         options: Any = None) -> None:
    """``archive.write_out(filepath, options=options, verbose=verbose)``, each endpoint traced
    once instead of twice.

    Keras' ``write_out`` first traces every endpoint to list the variables it uses
    (``_filter_and_track_resources``), then ``tf.saved_model.save`` traces them again: a
    function's traces are keyed by whether a SavedModel is being written (the save options'
    variable policy), so the first trace is not reused. Here Keras' listing runs under the
    same save context that ``tf.saved_model.save`` then enters, so the save reuses its traces:
    the same SavedModel (same signatures, variables and outputs), one trace per endpoint (a
    ``resnet_quick`` export: 3 endpoint traces instead of 6, 3.75 s -> 2.93 s of CPU,
    ``python -m benchmarks.export_overhead``). Where this Keras or TensorFlow lacks either
    private name, it is Keras' plain ``write_out``.

    Args:
        archive: a ``keras.export.ExportArchive`` with its endpoints added.
        filepath: the SavedModel folder to write.
        verbose: print the endpoints (Keras' ``verbose``).
        options: ``tf.saved_model.SaveOptions`` (default: TensorFlow's defaults).

    Example:
        >>> import tempfile, tensorflow as tf
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> archive = keras.export.ExportArchive()
        >>> archive.track(m)
        >>> _ = archive.add_endpoint("serve", lambda x: m(x),
        ...                          input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        >>> d = tempfile.mkdtemp()
        >>> write_export_archive(archive, d)
        >>> loaded = tf.saved_model.load(d)
        >>> loaded.serve(tf.zeros((1, 3))).shape
        TensorShape([1, 2])
    """
    import tensorflow as tf

    options = options or tf.saved_model.SaveOptions()
    listing = getattr(archive, "_filter_and_track_resources", None)
    try:
        from tensorflow.python.saved_model import save_context
    except ImportError:
        save_context = None
    if listing is not None and getattr(save_context, "save_context", None) is not None:
        def listing_as_saved():
            with save_context.save_context(options):
                listing()

        archive._filter_and_track_resources = listing_as_saved  # this archive only
    try:
        archive.write_out(filepath, options=options, verbose=verbose)
    finally:
        vars(archive).pop("_filter_and_track_resources", None)


def _missing_params(fn, names: tuple[str, ...]) -> list[str]:
    params = inspect.signature(fn).parameters
    return [n for n in names if n not in params]


def check_keras_internals() -> list[str]:
    """What of Keras' private API this module relies on is missing or changed: one sentence
    each, empty when everything is as expected."""
    problems = []
    try:
        from keras.src.backend.tensorflow import trainer as tf_trainer
    except ImportError as e:
        problems.append(f"Keras moved its TensorFlow trainer module ({e}): "
                        "patch_keras_multiworker_build cannot patch it")
    else:
        for name, params in (("reduce_per_replica", ("values", "strategy", "reduction")),
                             ("_collective_all_reduce_multi_worker", ("strategy",))):
            fn = getattr(tf_trainer, name, None)
            if fn is None or _missing_params(fn, params):
                problems.append(f"keras.src.backend.tensorflow.trainer.{name} is gone or takes "
                                f"other arguments than {params}: update "
                                "patch_keras_multiworker_build")
        trainer = getattr(tf_trainer, "TensorFlowTrainer", None)
        for name in ("_maybe_symbolic_build", "_symbolic_build"):
            fn = getattr(trainer, name, None)
            if fn is None or _missing_params(fn, ("iterator", "data_batch")):
                problems.append(f"TensorFlowTrainer.{name} is gone or has no iterator / "
                                "data_batch parameters: update patch_keras_multiworker_build and "
                                "build_before_fit")
    try:
        from tensorflow.python.saved_model import save_context
    except ImportError as e:
        problems.append(f"TensorFlow moved its save_context module ({e}): write_export_archive "
                        "traces each endpoint twice")
    else:
        if getattr(save_context, "save_context", None) is None:
            problems.append("tensorflow.python.saved_model.save_context.save_context is gone: "
                            "write_export_archive traces each endpoint twice")
    archive_class = type(keras.export.ExportArchive())
    if not callable(getattr(archive_class, "_filter_and_track_resources", None)):
        problems.append(f"{archive_class.__name__}._filter_and_track_resources is gone: "
                        "write_export_archive traces each endpoint twice")
    try:
        from keras.src.saving import saving_lib
    except ImportError as e:
        return problems + [f"Keras moved its saving library ({e}): weights_h5_bytes returns "
                           "None (backups written through a file)"]
    store = getattr(saving_lib, "H5IOStore", None)
    if store is None or _missing_params(store.__init__, ("path_or_io", "mode")):
        problems.append("keras.src.saving.saving_lib.H5IOStore is gone or takes no "
                        "path_or_io / mode: weights_h5_bytes cannot build weights in memory")
    save_state = getattr(saving_lib, "_save_state", None)
    if save_state is None or _missing_params(save_state, ("weights_store", "assets_store",
                                                          "inner_path", "visited_saveables")):
        problems.append("keras.src.saving.saving_lib._save_state is gone or takes other "
                        "arguments: weights_h5_bytes cannot build weights in memory")
    return problems

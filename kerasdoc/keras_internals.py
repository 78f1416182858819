"""Everything of Keras' private API (``keras.src``) that training and ``tf.distribute`` rely on,
in one place.

The flows' part lives in :mod:`kerasdoc.generators.keras_adapter` (the generators import nothing
above their floor); these two modules are the only ones of kerasdoc that import ``keras.src``
(``tests/test_architecture.py`` checks it). Here:

* :func:`patch_keras_multiworker_build`: the TensorFlow trainer's two fixes for ``fit`` under
  ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585), used by
  :func:`kerasdoc.distribute.get_strategy`;
* :func:`weights_h5_bytes`: a model's ``.weights.h5`` built in memory (Keras' saving library has
  no public in-memory writer), used by :mod:`kerasdoc.training.resilient`.

:func:`check_keras_internals` says, in one sentence per item, what a new Keras release changed
(``tests/test_keras_internals.py`` runs it).

Example:
    >>> check_keras_internals()
    []
"""

from __future__ import annotations

import inspect
import io

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
                                "data_batch parameters: update patch_keras_multiworker_build")
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

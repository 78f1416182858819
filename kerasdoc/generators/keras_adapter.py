"""Everything of Keras and tf_keras that a :class:`~kerasdoc.generators.flow.Flow` needs and that
is not public API, in one place.

Keras 3 has no public way for an input object to be told the ``steps_per_epoch`` and
``class_weight`` of the ``fit`` / ``evaluate`` / ``predict`` call that reads it, nor to be told
when an epoch begins (a seeded flow's epoch ``k`` is a pure function of ``(seed, k)``, so that a
resumed run replays it), nor to keep one iterator for a whole ``fit`` when it does not know
the epoch's length (:func:`keep_iterator`). Its data-adapter protocol
(``keras.src...DataAdapter``: a custom adapter passed as ``x`` is used as it is) and the frames
of its epoch iterator give all three; this module is the only one of kerasdoc that
imports ``keras.src`` or looks at Keras' frames, beside :mod:`kerasdoc.keras_internals` (training
and ``tf.distribute``'s part). :func:`check_keras_internals` says, in one sentence per item,
what a new Keras release changed (``tests/test_generators_keras_adapter.py`` runs it).

Example:
    >>> check_keras_internals()
    []
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable

try:
    from keras.src.trainers.data_adapters.data_adapter import DataAdapter
except ImportError:  # pragma: no cover - Keras 3 is a dependency; keep generators importable
    class DataAdapter:  # type: ignore[no-redef]
        """Stand-in when Keras 3 is absent."""

#: Frames above the flow's own method searched for Keras' epoch iterator.
_FRAMES = 8


def _asking_frames(depth: int):
    """The frames, from ``depth`` up (at most :data:`_FRAMES`), whose ``self`` is a Keras 3
    ``EpochIterator``: ``(frame, iterator)`` pairs."""
    try:
        from keras.src.trainers.epoch_iterator import EpochIterator
    except ImportError:  # pragma: no cover - another Keras
        return
    frame = sys._getframe(depth + 1)
    for _ in range(_FRAMES):
        if frame is None:
            break
        if isinstance(frame.f_locals.get("self"), EpochIterator):
            yield frame, frame.f_locals["self"]
        frame = frame.f_back


def fit_options() -> dict:
    """``steps_per_epoch`` and ``class_weight`` of the Keras 3 ``fit`` / ``evaluate`` /
    ``predict`` call that is asking the flow (Keras hands a custom data adapter neither): read
    from the locals of Keras' ``EpochIterator`` a few frames up."""
    out: dict = {}
    for frame, iterator in _asking_frames(2):
        loc = frame.f_locals
        out.setdefault("steps_per_epoch", iterator.steps_per_epoch)
        cw = loc.get("class_weight", (loc.get("kwargs") or {}).get("class_weight"))
        if cw is not None:
            out["class_weight"] = cw
    return out


#: :func:`keep_iterator`'s answers: the caller gives endless passes (a ``fit``'s training data),
#: or one pass (validation data, ``evaluate``, ``predict``).
ENDLESS, ONE_PASS = "endless", "one pass"


def keep_iterator(batches_per_epoch: int | None) -> str | None:
    """Tell the Keras 3 epoch iterator that is building its dataset (the caller's caller:
    ``TFEpochIterator.__init__``, TensorFlow backend) that an epoch is ``batches_per_epoch``
    batches, as ``steps_per_epoch`` would, so that it keeps one iterator while it reads them.

    Without ``steps_per_epoch``, Keras makes a new iterator of the dataset at each epoch's start
    and another when the data ends, which the next epoch throws away; each ``iter()`` rewrites
    and starts the whole pipeline (a few ms of CPU for an augmenting flow; the thrown-away one
    also starts reading the next pass), and each epoch waits for its first batch. Returns:

    - :data:`ENDLESS` for the training data of a ``fit``: one iterator for every epoch, so the
      caller must give endless passes, epoch after epoch;
    - :data:`ONE_PASS` for validation data, ``evaluate`` and ``predict``: the caller gives one
      pass as before (Keras makes one iterator per call, and a validation pass is the next
      epoch's), without the iterator made when it ends;
    - None, with nothing changed, when the call has ``steps_per_epoch`` of its own, when the
      number of batches is not known, or when ``steps_per_execution`` does not divide the epoch
      (an execution would run into the next pass).

    Either way the caller must then report ``num_batches`` None (Keras reads it again when the
    call begins; a count would end each epoch's iterator again)."""
    try:
        from keras.src.backend.tensorflow.trainer import TFEpochIterator
    except ImportError:  # pragma: no cover - Keras without its TensorFlow backend
        return None
    for frame, iterator in _asking_frames(2):
        if (frame.f_code.co_name != "__init__" or not isinstance(iterator, TFEpochIterator)
                or iterator.steps_per_epoch or not batches_per_epoch or batches_per_epoch < 1
                or batches_per_epoch % max(int(iterator.steps_per_execution or 1), 1)):
            return None
        iterator.steps_per_epoch = int(batches_per_epoch)
        iterator._num_batches = None  # no end of data to wait for: no iterator at each end
        # fit hands class_weight (None or not) to its training data's iterator only
        return ENDLESS if "class_weight" in (frame.f_locals.get("kwargs") or {}) else ONE_PASS
    return None


def class_weight_map_fn(class_weight: dict) -> Callable:
    """Keras' own ``(x, y[, w]) -> (x, y, w)`` map that applies ``class_weight`` to a dataset."""
    from keras.src.trainers.data_adapters.tf_dataset_adapter import make_class_weight_map_fn

    return make_class_weight_map_fn(class_weight)


def torch_dataloader(dataset):
    """Keras' torch data loader over a ``tf.data`` dataset (the torch backend)."""
    from keras.src.trainers.data_adapters import data_adapter_utils

    return data_adapter_utils.get_torch_dataloader(dataset)


class TFDatasetAdapter(DataAdapter):
    """A Keras data adapter whose batches are its ``get_tf_dataset()``: the other backends'
    iterators read that dataset (NumPy batches; torch through Keras' own loader)."""

    def get_numpy_iterator(self):
        import tensorflow as tf

        for batch in self.get_tf_dataset():
            yield tf.nest.map_structure(lambda t: t.numpy(), batch)

    def get_jax_iterator(self):
        return self.get_numpy_iterator()

    def get_torch_dataloader(self):
        return torch_dataloader(self.get_tf_dataset())


def caller_is_tf_keras(depth: int = 2) -> bool:
    """Whether the code asking (``depth`` frames up) is tf_keras (Keras 2 on TensorFlow)."""
    frame = sys._getframe(depth)
    return frame is not None and str(frame.f_globals.get("__name__", "")).startswith("tf_keras")


class NotForTfKeras:
    """A method that tf_keras does not see: tf_keras picks its data adapter by type *and* by
    ``hasattr(x, "__next__")``; a flow is both a dataset and an iterator, which tf_keras refuses
    ("Data adapters should be mutually exclusive"). Hidden from it, the flow is a dataset there
    (``tf.data`` speed); ``next(flow)`` elsewhere is unaffected."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self.fn
        if caller_is_tf_keras():
            raise AttributeError(self.name)
        return self.fn.__get__(obj, objtype)


def check_keras_internals() -> list[str]:
    """What of Keras' private API this module relies on is missing or changed: one sentence
    each, empty when everything is as expected."""
    problems = []
    try:
        from keras.src.trainers import data_adapters
        from keras.src.trainers.data_adapters import data_adapter
        from keras.src.trainers.epoch_iterator import EpochIterator
    except ImportError as e:
        return [f"Keras moved its data-adapter or epoch-iterator module ({e}); update "
                "kerasdoc/generators/keras_adapter.py"]
    if DataAdapter is not data_adapter.DataAdapter:
        problems.append("keras.src...data_adapter.DataAdapter is not the class flows inherit")
    src = inspect.getsource(data_adapters.get_data_adapter)
    if "isinstance(x, data_adapter.DataAdapter)" not in src:
        problems.append("Keras' get_data_adapter no longer takes a custom DataAdapter as it is: "
                        "model.fit(flow) would wrap the flow instead of reading its pipeline")
    params = inspect.signature(EpochIterator.__init__).parameters
    for name in ("steps_per_epoch", "class_weight"):
        if name not in params:
            problems.append(f"EpochIterator.__init__ has no {name!r} parameter: fit_options() "
                            "cannot read it (steps_per_epoch / class_weight of fit(flow))")
    for name in ("get_tf_dataset", "num_batches", "on_epoch_begin", "on_epoch_end",
                 "has_partial_batch", "partial_batch_size"):
        if not hasattr(data_adapter.DataAdapter, name):
            problems.append(f"DataAdapter has no {name!r}: Keras changed the adapter protocol")
    problems += _keep_iterator_problems(EpochIterator)
    try:
        from keras.src.trainers.data_adapters.tf_dataset_adapter import (  # noqa: F401
            make_class_weight_map_fn,
        )
    except ImportError:
        problems.append("keras.src...tf_dataset_adapter.make_class_weight_map_fn is gone: "
                        "fit(flow, class_weight=...) cannot weight batches")
    return problems


def _keep_iterator_problems(epoch_iterator: type) -> list[str]:
    """What :func:`keep_iterator` relies on and a Keras release changed."""
    try:
        from keras.src.backend.tensorflow.trainer import TensorFlowTrainer, TFEpochIterator
    except ImportError:
        return ["keras.src.backend.tensorflow.trainer has no TFEpochIterator or "
                "TensorFlowTrainer: update keep_iterator (fit(flow) would not keep its iterator)"]
    problems = []
    if "self._current_iterator is None or self.steps_per_epoch is None" not in \
            inspect.getsource(epoch_iterator._enumerate_iterator):
        problems.append("EpochIterator._enumerate_iterator no longer keeps its iterator across "
                        "epochs under steps_per_epoch: keep_iterator would break epochs")
    if "get_tf_dataset()" not in inspect.getsource(TFEpochIterator.__init__):
        problems.append("TFEpochIterator.__init__ no longer builds its dataset: keep_iterator "
                        "cannot find the iterator that asks")
    calls = {name: inspect.getsource(getattr(TensorFlowTrainer, name)).count(
        "class_weight=class_weight") for name in ("fit", "evaluate", "predict")}
    if calls != {"fit": 1, "evaluate": 0, "predict": 0}:
        problems.append("Keras' fit no longer hands class_weight to its training data's iterator "
                        f"alone (counts {calls}): keep_iterator cannot tell it from validation")
    return problems

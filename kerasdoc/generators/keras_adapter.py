"""Everything of Keras and tf_keras that a :class:`~kerasdoc.generators.flow.Flow` needs and that
is not public API, in one place.

Keras 3 has no public way for an input object to be told the ``steps_per_epoch`` and
``class_weight`` of the ``fit`` / ``evaluate`` / ``predict`` call that reads it, nor to be told
when an epoch begins (a seeded flow's epoch ``k`` is a pure function of ``(seed, k)``, so that a
resumed run replays it). Its data-adapter protocol (``keras.src...DataAdapter``: a custom adapter
passed as ``x`` is used as it is) gives both; this module is the only one of kerasdoc that
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


def fit_options() -> dict:
    """``steps_per_epoch`` and ``class_weight`` of the Keras 3 ``fit`` / ``evaluate`` /
    ``predict`` call that is asking the flow (Keras hands a custom data adapter neither): read
    from the locals of Keras' ``EpochIterator`` a few frames up."""
    try:
        from keras.src.trainers.epoch_iterator import EpochIterator
    except ImportError:  # pragma: no cover - another Keras
        return {}
    frame = sys._getframe(2)
    out: dict = {}
    for _ in range(_FRAMES):
        if frame is None:
            break
        loc = frame.f_locals
        if isinstance(loc.get("self"), EpochIterator):
            out.setdefault("steps_per_epoch", loc["self"].steps_per_epoch)
            cw = loc.get("class_weight", (loc.get("kwargs") or {}).get("class_weight"))
            if cw is not None:
                out["class_weight"] = cw
        frame = frame.f_back
    return out


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
    try:
        from keras.src.trainers.data_adapters.tf_dataset_adapter import (  # noqa: F401
            make_class_weight_map_fn,
        )
    except ImportError:
        problems.append("keras.src...tf_dataset_adapter.make_class_weight_map_fn is gone: "
                        "fit(flow, class_weight=...) cannot weight batches")
    return problems

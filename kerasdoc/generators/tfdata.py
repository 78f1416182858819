"""``map`` and ``flat_map`` for kerasdoc's own dataset functions, instantiated cheaply by every
iterator: the only module of kerasdoc that builds ``tf.data`` ops from TensorFlow's private API.

Why: every ``iter(dataset)`` instantiates each function of the pipeline again, and
``tf.data`` instantiates a function as a *multi-device* function, running Grappler over its
graph each time (``tensorflow/core/data/captured_function.cc``), unless the function carries
the ``experimental_ints_on_device`` attribute, as TensorFlow's own ``copy_to_device`` and
multi-device iterator functions do. Keras 3 makes a new iterator for every epoch and one more
when an epoch ends (``EpochIterator._enumerate_iterator``), so a flow's pipeline was set up
twice an epoch: ~100 ms of CPU each time for the invoice recipe's augmenting flow, against a
training epoch of ~0.3 s (``python -m benchmarks.flow_passes --iterators``; a flow now also
asks Keras for one iterator per ``fit``: :func:`~kerasdoc.generators.keras_adapter.
keep_iterator`). With the attribute the function runs on the iterator's device (the CPU, where
``tf.data`` runs it anyway) as it was written, without Grappler's rewrites: the same values up
to float rounding (Grappler's arithmetic rewrites move the last bit of some pixels: 1.2e-7 at
most on images in [0, 1]).

Only kerasdoc's own graph code goes through here: a function that calls the user's
``preprocessing_function`` (which may place ops on another device) keeps ``Dataset.map``.
Where TensorFlow's internals differ from what this module expects, or in ``tf.data``'s debug
mode, :func:`map_fn` and :func:`flat_map` fall back to ``Dataset.map`` / ``Dataset.flat_map``
(:func:`check_tf_internals` says what is missing; a test runs it).

Example:
    >>> import tensorflow as tf
    >>> ds = map_fn(tf.data.Dataset.range(3), lambda x: x * 2)
    >>> [int(v) for v in ds], single_device(ds)
    ([0, 2, 4], True)
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

#: The function attribute that makes ``tf.data`` instantiate a function on one device.
INTS_ON_DEVICE = "experimental_ints_on_device"

try:  # TensorFlow's private tf.data API (present from 2.16 to at least 2.21)
    from tensorflow.python.data.ops import dataset_ops, debug_mode, structured_function
    from tensorflow.python.ops import gen_dataset_ops

    _Unary = dataset_ops.UnaryDataset
except ImportError:  # pragma: no cover - another TensorFlow: Dataset.map is used instead
    dataset_ops = debug_mode = structured_function = gen_dataset_ops = None
    _Unary = object


def _no_injected_prefetch() -> tf.data.Options:
    """``tf.data``'s ``inject_prefetch`` rewrite fails at ``iter()`` on a pipeline holding such
    a map whose function has several outputs and string ops ("Expected only one fetch node",
    TensorFlow 2.21); kerasdoc's flows end with their own ``prefetch`` anyway."""
    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = False
    return options


def _usable() -> bool:
    return gen_dataset_ops is not None and not debug_mode.DEBUG_MODE


def _wrap(fn: Callable, name: str, ds: tf.data.Dataset):
    return structured_function.StructuredFunctionWrapper(
        fn, name, dataset=ds, defun_kwargs={INTS_ON_DEVICE: True})


class _Map(_Unary):
    """``Dataset.map`` (parallel, deterministic, ``AUTOTUNE``; or sequential) of a function
    with :data:`INTS_ON_DEVICE`."""

    def __init__(self, input_dataset: tf.data.Dataset, fn: Callable, parallel: bool):
        self._input_dataset = input_dataset
        self._map_func = _wrap(fn, "Dataset.map()", input_dataset)
        self._name = None
        func = self._map_func.function
        if parallel:
            variant = gen_dataset_ops.parallel_map_dataset_v2(
                input_dataset._variant_tensor, func.captured_inputs, f=func,
                num_parallel_calls=tf.constant(tf.data.AUTOTUNE, tf.int64),
                deterministic="true", preserve_cardinality=True, **self._common_args)
        else:
            variant = gen_dataset_ops.map_dataset(
                input_dataset._variant_tensor, func.captured_inputs, f=func,
                preserve_cardinality=True, **self._common_args)
        super().__init__(input_dataset, variant)

    def _functions(self):
        return [self._map_func]

    @property
    def element_spec(self):
        return self._map_func.output_structure


class _FlatMap(_Unary):
    """``Dataset.flat_map`` of a function with :data:`INTS_ON_DEVICE`."""

    def __init__(self, input_dataset: tf.data.Dataset, fn: Callable):
        self._input_dataset = input_dataset
        self._map_func = _wrap(fn, "Dataset.flat_map()", input_dataset)
        if not isinstance(self._map_func.output_structure, dataset_ops.DatasetSpec):
            raise TypeError("flat_map's function must return a tf.data.Dataset. Received: "
                            f"{self._map_func.output_structure!r}")
        self._structure = self._map_func.output_structure._element_spec
        self._name = None
        func = self._map_func.function
        variant = gen_dataset_ops.flat_map_dataset(
            input_dataset._variant_tensor, func.captured_inputs, f=func, **self._common_args)
        super().__init__(input_dataset, variant)

    def _functions(self):
        return [self._map_func]

    @property
    def element_spec(self):
        return self._structure


def map_fn(ds: tf.data.Dataset, fn: Callable, *, parallel: bool = True) -> tf.data.Dataset:
    """``ds.map(fn, num_parallel_calls=AUTOTUNE, deterministic=True)`` (``parallel=False``:
    ``ds.map(fn)``), ``fn`` instantiated on one device by each iterator (module docstring).
    ``fn`` must be graph code of kerasdoc's (no AutoGraph conversion is skipped or added:
    wrap it in ``tf.autograph.experimental.do_not_convert`` as ``Dataset.map`` would see it)."""
    if _usable():
        return _Map(ds, fn, parallel).with_options(_no_injected_prefetch())
    if parallel:
        return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.map(fn)


def flat_map(ds: tf.data.Dataset, fn: Callable) -> tf.data.Dataset:
    """``ds.flat_map(fn)``, ``fn`` instantiated on one device by each iterator."""
    if _usable():
        return _FlatMap(ds, fn).with_options(_no_injected_prefetch())
    return ds.flat_map(fn)


def single_device(ds: tf.data.Dataset) -> bool:
    """Whether the last transformation of ``ds`` with a function (options aside) is one of this
    module's: its function carries :data:`INTS_ON_DEVICE`."""
    while ds is not None and not ds._functions():
        ds = getattr(ds, "_input_dataset", None)
    return ds is not None and all(
        f.function.function_def.attr[INTS_ON_DEVICE].b for f in ds._functions())


def check_tf_internals() -> list[str]:
    """What of TensorFlow's private ``tf.data`` API this module relies on is missing or changed:
    one sentence each, empty when everything is as expected."""
    if gen_dataset_ops is None:
        return ["tensorflow.python.data.ops (dataset_ops, debug_mode, structured_function) or "
                "gen_dataset_ops moved: kerasdoc's dataset functions use Dataset.map, and each "
                "iterator runs Grappler over them again"]
    problems = []
    for op in ("parallel_map_dataset_v2", "map_dataset", "flat_map_dataset"):
        if not hasattr(gen_dataset_ops, op):
            problems.append(f"gen_dataset_ops.{op} is gone: update kerasdoc/generators/tfdata.py")
    if not problems:
        try:
            ds = map_fn(tf.data.Dataset.range(2), lambda x: x + 1)
            if [int(v) for v in ds] != [1, 2] or not single_device(ds):
                problems.append("a map built by kerasdoc/generators/tfdata.py gives other "
                                "values or lost its function attribute")
        except Exception as e:  # noqa: BLE001 - say what changed, in one sentence
            problems.append(f"building a map from tf.data's private API failed: {e!r}")
    return problems

"""kerasdoc.generators.tfdata: maps whose functions every iterator instantiates on one device
(no Grappler per ``iter()``), with ``Dataset.map``'s values, and the flows built on them."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorflow.core.framework import graph_pb2

from kerasdoc.generators import ImageDataGenerator
from kerasdoc.generators.tfdata import (
    INTS_ON_DEVICE,
    check_tf_internals,
    flat_map,
    map_fn,
    single_device,
)

na = tf.autograph.experimental.do_not_convert
NAMES = tf.constant(["a", "bb", "ccc", "dddd", "eeeee"])


def _rows(ds):
    return [tuple(np.asarray(v).tolist() for v in tf.nest.flatten(el)) for el in ds]


def _dataset_functions(ds) -> dict[str, bool]:
    """Every tf.data function of ``ds``'s graph: name -> carries INTS_ON_DEVICE."""
    g = graph_pb2.GraphDef.FromString(
        tf.raw_ops.DatasetToGraphV2(input_dataset=ds._variant_tensor).numpy())
    return {f.signature.name: f.attr[INTS_ON_DEVICE].b for f in g.library.function
            if f.attr["_tf_data_function"].b}


def test_tensorflow_internals_are_as_expected():
    assert check_tf_internals() == []


@pytest.mark.parametrize("parallel", [True, False])
def test_map_gives_dataset_maps_values_specs_and_cardinality(parallel):
    # several outputs with string ops: the case tf.data's inject_prefetch rewrite failed on
    fn = na(lambda i: (tf.strings.length(tf.gather(NAMES, i)), i * 2, tf.gather(NAMES, i)))
    base = tf.data.Dataset.range(5)
    ours = map_fn(base, fn, parallel=parallel)
    ref = base.map(fn, num_parallel_calls=tf.data.AUTOTUNE if parallel else None,
                   deterministic=True if parallel else None)
    assert _rows(ours) == _rows(ref) == [(1, 0, b"a"), (2, 2, b"bb"), (3, 4, b"ccc"),
                                         (4, 6, b"dddd"), (5, 8, b"eeeee")]
    assert ours.element_spec == ref.element_spec
    assert int(ours.cardinality()) == 5
    assert single_device(ours) and not single_device(ref)
    # after ignore_errors, batching and a user's own map, as a flow's pipeline continues
    more = map_fn(base, fn, parallel=parallel).ignore_errors().batch(2).map(
        lambda a, b, c: tf.cast(a, tf.int64) + b)
    assert [v.tolist() for v in more.as_numpy_iterator()] == [[1, 4], [7, 10], [13]]


def test_flat_map_and_nesting_in_a_graph():
    ds = flat_map(tf.data.Dataset.range(3), na(lambda n: map_fn(
        tf.data.Dataset.range(n), na(lambda i: (i, tf.gather(NAMES, i))))))
    assert _rows(ds) == [(0, b"a"), (0, b"a"), (1, b"bb")]
    assert single_device(ds)

    @tf.function
    def total():  # inside a tf.function (the hand-pulled batch path builds its graph there)
        return map_fn(tf.data.Dataset.range(4), na(lambda i: i + 1)).reduce(
            tf.constant(0, tf.int64), lambda a, b: a + b)

    assert int(total()) == 10
    with pytest.raises(TypeError, match="must return a tf.data.Dataset"):
        flat_map(tf.data.Dataset.range(2), na(lambda i: i))


def _folder(root, n=6):
    for c in range(2):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((12, 10), 40 * c + i, np.uint8)).save(
                root / f"c{c}" / f"{i}.png")
    return root


@pytest.mark.parametrize("cache", [True, False])
def test_an_augmenting_flows_own_functions_are_single_device(tmp_path, cache):
    gen = ImageDataGenerator(rotation_range=10, rescale=1 / 255)
    flow = gen.flow_from_directory(_folder(tmp_path / "d"), (8, 8), "grayscale", batch_size=4,
                                   seed=3, cache=cache)
    fns = _dataset_functions(flow.get_tf_dataset())
    ours = [name for name, single in fns.items() if single]
    assert any("per_image" in name for name in ours)  # the augmentation
    assert any("decode" in name or "to_cache" in name for name in ours)  # the file reading
    # left to Dataset.map: TensorFlow's own functions and the decode guard's scan and filter
    others = [name for name, single in fns.items() if not single]
    assert all(("scan" in n or "filter" in n or "normalize" in n) for n in others), others
    batches = [b[0].shape[0] for b in flow.get_tf_dataset()]
    assert sum(batches) == 12


def test_a_users_preprocessing_function_keeps_dataset_map(tmp_path):
    def brighter(x):  # Python control flow on a tensor: needs AutoGraph
        if tf.reduce_mean(x) > 1000.0:
            return x
        return x + 1.0

    gen = ImageDataGenerator(preprocessing_function=brighter)
    flow = gen.flow_from_directory(_folder(tmp_path / "d"), (8, 8), "grayscale", batch_size=12,
                                   shuffle=False)
    fns = _dataset_functions(flow.dataset)
    assert [n for n, single in fns.items() if "per_image" in n] and not any(
        single for n, single in fns.items() if "per_image" in n)
    x, _ = next(iter(flow.dataset))
    assert float(tf.reduce_min(x)) == 1.0  # class 0's first image (0) plus one

"""A flow's ``tf.data`` pipeline: shuffle -> read -> augment -> batch -> finish, and the same
graph for hand-pulled batches (:func:`make_pull`).

``gen`` below is the :class:`~kerasdoc.generators.image_generator.ImageDataGenerator` whose
augmentation, ``preprocessing_function``, rescale and standardisation finish each image
(:func:`finish_image`).

Example:
    >>> import numpy as np, tensorflow as tf
    >>> from kerasdoc.generators import ImageDataGenerator
    >>> ds = tf.data.Dataset.from_tensor_slices(np.ones((5, 2, 2, 1), np.uint8))
    >>> out = build_pipeline(ImageDataGenerator(rescale=0.5), ds, 5, None, batch_size=2,
    ...                      shuffle=False, seed=None, augment=False)
    >>> [float(b.numpy().max()) for b in out], gray_to_rgb(tf.ones([1, 1, 1])).shape
    ([0.5, 0.5, 0.5], TensorShape([1, 1, 3]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdoc.generators.flow import at_pass_start, flow_seed, permute
from kerasdoc.generators.ops import to_grayscale
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.generators.tfdata import flat_map, map_fn

AUTOTUNE = tf.data.AUTOTUNE

# For dataset functions written as plain graph code (tf.cond, no Python control flow on
# tensors): AutoGraph would only fail to convert closures and warn about it.
no_autograph = tf.autograph.experimental.do_not_convert


def _map(gen, ds: tf.data.Dataset, fn: Callable) -> tf.data.Dataset:
    """``ds.map(fn)`` in parallel, in order. kerasdoc's own graph code runs without AutoGraph
    (AutoGraph converts every function a map function calls, ~1 s of CPU per process for the
    augmentation path, and wraps each call when it is traced) through
    :func:`~kerasdoc.generators.tfdata.map_fn` (set up cheaply by every iterator); a function
    that calls the user's ``preprocessing_function``, which may use Python control flow on
    tensors or ask for other devices, goes through ``Dataset.map`` with AutoGraph."""
    if gen.preprocessing_function is not None:
        return ds.map(fn, num_parallel_calls=AUTOTUNE, deterministic=True)
    return map_fn(ds, no_autograph(fn))


def gray_to_rgb(img: tf.Tensor) -> tf.Tensor:
    """``(..., 1)`` -> ``(..., 3)``, each channel a copy. A product with ``ones((1, 3))`` (one
    multiply by 1.0 per output value: exact) runs on the vectorised matrix kernels, about twice
    as fast as ``tf.tile`` over the channel axis, which is memory-bound per element here."""
    if img.dtype in (tf.float32, tf.float64, tf.float16, tf.bfloat16):
        return tf.matmul(img, tf.ones([1, 3], img.dtype))
    return tf.tile(img, [1] * (img.shape.rank - 1) + [3])


def empty_batch(element_spec: Any) -> tf.data.Dataset:
    """One batch of zero elements with ``element_spec``'s structure (unknown sizes as 0)."""
    return tf.data.Dataset.from_tensors(tf.nest.map_structure(
        lambda sp: tf.zeros([0] + [0 if d is None else d for d in sp.shape[1:]], sp.dtype),
        element_spec))


def to_uint8(img: tf.Tensor) -> tf.Tensor:
    """Float pixels (0-255) as uint8, rounded and clipped: what a flow's cache keeps."""
    return tf.cast(tf.round(tf.clip_by_value(img, 0.0, 255.0)), tf.uint8)


def graph_standardize(gen, img: tf.Tensor) -> tf.Tensor:
    """samplewise -> featurewise -> ZCA on an image or a batch (channels last)."""
    axes = [-3, -2, -1]
    if gen.samplewise_center:
        img = img - tf.reduce_mean(img, axis=axes, keepdims=True)
    if gen.samplewise_std_normalization:
        img = img / (tf.math.reduce_std(img, axis=axes, keepdims=True) + 1e-6)
    last = gen.data_format == "channels_last"

    def stat(v):
        v = np.asarray(v, np.float32)
        return tf.constant(v if last else np.transpose(v, (1, 2, 0)))

    if gen.featurewise_center and gen.mean is not None:
        img = img - stat(gen.mean)
    if gen.featurewise_std_normalization and gen.std is not None:
        img = img / (stat(gen.std) + 1e-6)
    if gen.zca_whitening and gen.zca_whitening_matrix is not None:
        shape = tf.shape(img)
        d = int(np.prod(img.shape[-3:]))
        m = tf.constant(np.asarray(gen.zca_whitening_matrix, np.float32))
        if last:
            flat = tf.reshape(img, [-1, d])
            img = tf.reshape(flat @ m, shape)
        else:
            perm_in = [0, 3, 1, 2] if img.shape.rank == 4 else [2, 0, 1]
            perm_out = [0, 2, 3, 1] if img.shape.rank == 4 else [1, 2, 0]
            cf = tf.transpose(img, perm_in)
            flat = tf.reshape(cf, [-1, d])
            img = tf.transpose(tf.reshape(flat @ m, tf.shape(cf)), perm_out)
    return img


def call_preprocessing(gen, img: tf.Tensor) -> tf.Tensor:
    """Run ``preprocessing_function`` in the graph when it takes tensors, else on a NumPy
    array through ``tf.numpy_function`` (as Keras 2 calls it)."""
    fn = gen.preprocessing_function
    if gen._numpy_preprocessing is not True:
        try:
            out = tf.convert_to_tensor(fn(img), tf.float32)
            gen._numpy_preprocessing = False
            return out
        except Exception:
            if gen._numpy_preprocessing is False:
                raise
            gen._numpy_preprocessing = True
    out = tf.numpy_function(lambda a: np.asarray(fn(a.copy()), np.float32), [img],
                            tf.float32, stateful=False)
    return tf.ensure_shape(out, img.shape)


def finish_image(gen, img: tf.Tensor, rnd: tf.Tensor | None,
                 spec: ImageSpec | None = None) -> tf.Tensor:
    """One image (or a batch): grayscale -> augmentation (draws from ``rnd``) ->
    ``preprocessing_function`` -> rescale (or the spec's scaling) -> standardisation -> dtype."""
    img = tf.cast(img, tf.float32)
    if gen.grayscale:
        img = to_grayscale(img)
    if rnd is not None:
        img = gen.augmentation.apply(img, tf.stack([rnd, tf.constant(0, tf.int64)]))
    if gen.preprocessing_function is not None:
        img = call_preprocessing(gen, img)
    if spec is not None:
        img = spec.scale(img)
    elif gen.rescale:
        img = img * float(gen.rescale)
    if gen._standardizes:
        img = graph_standardize(gen, img)
    return tf.cast(img, gen.dtype)


def _join(img, rest):
    return (img, *rest) if rest else img


def _shuffled(ds: tf.data.Dataset, n: int, seed: int | None, epoch: Any,
              buffer: int | None, cached: bool = False, table: Any = None) -> tf.data.Dataset:
    """An epoch's pass order: a stateless permutation of ``(seed, epoch)`` when both are given,
    else ``tf.data``'s reshuffling buffer. ``cached``: ``ds`` reads a cache (decoded images),
    gathered into the pass's table when the pass begins, not when the pipeline is built (so the
    first pass decodes every file before its first element); its row count is the cache's (a
    guard may have dropped files). ``table``: ``ds``'s rows as tensors already (an array
    flow's), used as they are instead of a copy gathered from ``ds``."""
    if epoch is not None and seed is not None:  # no op-seed plumbing
        if cached:  # read on the pass itself: the first pass fills the cache
            rows = ds.batch(1 << 30)
            rows = rows.concatenate(empty_batch(rows.element_spec)).take(1)
            start = tf.data.Dataset.zip(
                rows, at_pass_start(lambda: flow_seed(seed, "shuffle", epoch)))
        else:
            if table is None:
                table = ds.batch(n).get_single_element()
            start = at_pass_start(lambda: (table, flow_seed(seed, "shuffle", epoch)))
        return flat_map(start, no_autograph(_gathered))
    return ds.shuffle(buffer or n, seed=seed, reshuffle_each_iteration=True)


#: Bytes of rows gathered per map call of a pass over a table in memory (:func:`_gathered`).
GATHER_BYTES = 1 << 20


def gather_rows(table: Any, limit: int = 256) -> int:
    """Rows per gather of :func:`_gathered`: at most ``limit``, and at most
    :data:`GATHER_BYTES` of them (a chunk that stays in the CPU's cache while ``unbatch`` copies
    it out; 256 rows of 224 x 224 RGB floats would be 154 MB of fresh memory per chunk, copied
    twice), but at least one. ``limit`` where a row's size is not static.

    Example:
        >>> import tensorflow as tf
        >>> gather_rows(tf.zeros((10, 28, 28, 1), tf.uint8)), gather_rows(
        ...     (tf.zeros((10, 128, 128, 3), tf.uint8), tf.zeros((10, 16)))), gather_rows(
        ...     tf.zeros((10, 224, 224, 3)))
        (256, 21, 1)
    """
    row = 0
    for t in tf.nest.flatten(table):
        dims = t.shape[1:]
        if not dims.is_fully_defined():
            return limit
        row += max(dims.num_elements(), 1) * t.dtype.size
    return int(max(1, min(limit, GATHER_BYTES // max(row, 1))))


def _gathered(table: Any, key: tf.Tensor, batch_size: int | None = None) -> tf.data.Dataset:
    """The rows of ``table`` in the pass order of ``key`` (:func:`permute`), gathered a few at a
    time (:func:`gather_rows`): a map call per element would cost more than small rows, a large
    chunk more than its rows (fresh memory, copied again by ``unbatch``). With ``batch_size``:
    batches of the rows in that order, each gathered at once (nothing to unbatch)."""
    n = tf.shape(tf.nest.flatten(table)[0], out_type=tf.int64)[0]
    order = tf.data.Dataset.from_tensor_slices(permute(tf.range(n), key, tf.maximum(n, 1)))
    if batch_size is not None:  # one memcpy per batch: sequential (no buffered batches)
        return map_fn(order.batch(batch_size), no_autograph(
            lambda j: tf.nest.map_structure(lambda t: tf.gather(t, j), table)), parallel=False)
    rows = gather_rows(table)
    gathered = map_fn(order if rows == 1 else order.batch(rows), no_autograph(
        lambda j: tf.nest.map_structure(lambda t: tf.gather(t, j), table)))
    return gathered if rows == 1 else gathered.unbatch()


def epoch_batches(table: Any, seed: int, epoch: Any, batch_size: int) -> tf.data.Dataset:
    """Epoch ``epoch``'s pass over ``table`` (rows in memory: a tensor or a tuple of them) as
    whole batches: the rows in the order of ``flow_seed(seed, "shuffle", epoch)``, read when the
    pass begins (``epoch`` may be a variable), ``batch_size`` at a time, each batch gathered at
    once (a seeded array flow without per-image work; :class:`~kerasdoc.generators.
    epoch_arrays.EpochArrays`)."""
    start = at_pass_start(lambda: (table, flow_seed(seed, "shuffle", epoch)))
    return flat_map(start, no_autograph(lambda t, key: _gathered(t, key, batch_size)))


def _random_stream(n: Any, seed: int | None, epoch: Any, hand_seed: Any) -> tf.data.Dataset:
    """One int64 per image for its augmentation draws: from a hand-pulled batch's seed, from
    ``(seed, epoch)``, or ``tf.data``'s random stream."""
    if hand_seed is not None:
        return tf.data.Dataset.from_tensor_slices(tf.random.stateless_uniform(
            tf.reshape(tf.cast(n, tf.int32), [1]), tf.stack([hand_seed, 7]),
            minval=None, maxval=None, dtype=tf.int64))
    if epoch is not None and seed is not None:
        keys = at_pass_start(lambda: flow_seed(seed, "augment", epoch))
        return flat_map(keys, no_autograph(lambda key: map_fn(
            tf.data.Dataset.range(1 << 62), no_autograph(lambda i: tf.random.stateless_uniform(
                [], tf.stack([key, i]), minval=None, maxval=None, dtype=tf.int64)))))
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)


def _read_and_augment(gen, ds: tf.data.Dataset, load: Callable | None, rnd: Any, *,
                      per_batch: bool, spec: ImageSpec | None) -> tf.data.Dataset:
    """The per-image map: ``load``, then (unless finished per batch) augmentation with the
    draws of ``rnd`` (a dataset, or None) and the finishing."""
    def call(el):
        el = el if isinstance(el, tuple) else (el,)
        out = load(*el) if load is not None else el
        return (out[0], tuple(out[1:])) if isinstance(out, tuple) else (out, ())

    if rnd is not None:
        ds = tf.data.Dataset.zip((ds, rnd))

        def per_image(el, r):
            img, rest = call(el)
            return _join(finish_image(gen, img, tf.cast(r, tf.int64), spec), rest)
    elif per_batch:
        if load is None:
            return ds

        def per_image(*el):
            return _join(*call(el))
    else:
        def per_image(*el):
            img, rest = call(el)
            return _join(finish_image(gen, img, None, spec), rest)
    return _map(gen, ds, per_image)


def _finish_batches(gen, ds: tf.data.Dataset, *, per_batch: bool, spec: ImageSpec | None,
                    to_rgb: bool, image_as_target: bool) -> tf.data.Dataset:
    """Per batch: the vectorised finishing (without augmentation), channels first, and the
    image as its own target (``class_mode="input"``)."""
    if per_batch:
        def finish(*el):
            img = el[0]
            if to_rgb and spec is not None:  # a spec may hold per-channel statistics
                img = gray_to_rgb(img)
            img = finish_image(gen, img, None, spec)
            if to_rgb and spec is None:  # rescale one channel, then copy it
                img = gray_to_rgb(img)
            return _join(img, tuple(el[1:]))

        ds = _map(gen, ds, finish)
    if gen.data_format == "channels_first":
        ds = map_fn(ds, no_autograph(
            lambda *el: _join(tf.transpose(el[0], [0, 3, 1, 2]), tuple(el[1:]))), parallel=False)
    if image_as_target:  # class_mode="input": the target is the image itself (autoencoders)
        ds = map_fn(ds, no_autograph(lambda x, *rest: (x, x, *rest)))
    return ds


def build_pipeline(gen, ds: tf.data.Dataset, n: Any, load: Callable | None, *,
                   batch_size: int | None, shuffle: bool, seed: int | None, augment: bool,
                   buffer: int | None = None, spec: ImageSpec | None = None,
                   image_as_target: bool = False, hand_seed: Any = None,
                   epoch: Any = None, gray_to_rgb: bool = False,
                   batch_check: Callable | None = None, cached: bool = False,
                   table: Any = None) -> tf.data.Dataset:
    """shuffle -> per-image ``load`` (+ augmentation and finishing) -> batch -> prefetch.

    ``load(*element)`` returns ``image`` or ``(image, *targets)`` before augmentation,
    ``preprocessing_function`` and ``rescale``. Without augmentation and
    ``preprocessing_function``, the finishing (grayscale, rescale, standardisation, cast)
    runs once per batch, vectorised, instead of once per image. With ``hand_seed`` (a
    scalar tensor) the whole dataset is one batch, augmented with seeds drawn from it: a
    hand-pulled batch. A ``load`` with a true ``drops_failures`` attribute runs first,
    with ``ignore_errors`` (elements whose load fails are dropped; a guarded hand-pulled
    batch returns the file indices it kept as a second output). With ``epoch`` (an int64
    scalar tensor) and a ``seed``, the pass is epoch ``epoch``'s: its shuffle order and
    augmentation draws are a pure function of ``(seed, epoch)`` (:func:`flow_seed`), so a
    resumed run replays them. With ``gray_to_rgb`` (only without augmentation and
    ``preprocessing_function``) ``load`` gives 1-channel images that the batch finishing
    copies to 3 channels. ``batch_check`` (batches -> batches) runs right after batching
    (the guarded file flows' decode check, which also drops the elements' extra columns).
    ``cached``: ``ds`` reads a cache of decoded images; an epoch's pass takes them from it
    when the pass begins (:func:`_shuffled`). ``table``: the rows of ``ds`` as tensors (an
    array flow's), read by an epoch's pass without another copy.
    """
    hand = hand_seed is not None
    per_batch = not augment and gen.preprocessing_function is None
    if not hand:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
        if (shuffle and n > 1 and table is not None and epoch is not None and seed is not None
                and per_batch and load is None and batch_check is None):
            # an array flow's epoch pass with nothing per image: whole batches gathered from
            # the table in the pass order (the same batches as gathering rows, then batching)
            ds = _finish_batches(gen, epoch_batches(table, seed, epoch, batch_size),
                                 per_batch=True, spec=spec, to_rgb=gray_to_rgb,
                                 image_as_target=image_as_target)
            return ds.prefetch(AUTOTUNE)
        if shuffle and n > 1:
            ds = _shuffled(ds, n, seed, epoch, buffer, cached, table)
    if load is not None and getattr(load, "drops_failures", False):
        # a guarded hand-pulled batch: images that fail to decode are dropped here, before
        # anything else runs (load returns (image, file index): the caller sees which)
        ds = map_fn(ds, no_autograph(lambda *el: load(*el))).ignore_errors()
        load = None
    if gray_to_rgb and not per_batch:
        raise ValueError("gray_to_rgb needs a flow without augmentation")
    rnd = _random_stream(n, seed, None if hand else epoch, hand_seed) if augment else None
    ds = _read_and_augment(gen, ds, load, rnd, per_batch=per_batch, spec=spec)
    ds = ds.batch(1 << 30 if hand else batch_size)
    if batch_check is not None:
        ds = batch_check(ds)
    ds = _finish_batches(gen, ds, per_batch=per_batch, spec=spec, to_rgb=gray_to_rgb,
                         image_as_target=image_as_target)
    return ds if hand else ds.prefetch(AUTOTUNE)


def make_pull(gen, sources: Sequence[np.ndarray], load: Callable | None, *, augment: bool,
              spec: ImageSpec | None, image_shape: tuple, gray_to_rgb: bool = False) -> Callable:
    """``pull(index_array, seed) -> images`` (NumPy): the hand-pulled batch path, the same
    graph ops as the flow's pipeline, traced once."""
    sources = [np.asarray(s) for s in sources]

    def tf_dtype(a):
        return tf.string if a.dtype.kind in "USO" else tf.as_dtype(a.dtype)

    sig = [tf.TensorSpec((None, *a.shape[1:]), tf_dtype(a)) for a in sources]
    sig.append(tf.TensorSpec([], tf.int64))

    # autograph=False: converting build_pipeline here would put AutoGraph's converted copies of
    # its inner functions in AutoGraph's cache, where the dataset path's map functions
    # (same code objects, other closures) then pick them up with the wrong closure cells.
    @tf.function(input_signature=sig, autograph=False)
    def pull_graph(*args):
        *sel, seed = args
        ds = tf.data.Dataset.from_tensor_slices(tuple(sel) if len(sel) > 1 else sel[0])
        ds = build_pipeline(gen, ds, tf.shape(sel[0])[0], load, batch_size=None, shuffle=False,
                            seed=None, augment=augment, spec=spec, hand_seed=seed,
                            gray_to_rgb=gray_to_rgb)
        # a batch whose every image failed to decode (guarded load) is an empty batch
        return ds.concatenate(empty_batch(ds.element_spec)).take(1).get_single_element()

    out_shape = tuple(image_shape)
    if gen.data_format == "channels_first" and len(out_shape) == 3:
        out_shape = (out_shape[2], out_shape[0], out_shape[1])

    def pull(index_array: np.ndarray, seed: int) -> np.ndarray:
        if len(index_array) == 0:
            return np.zeros((0, *out_shape), gen.dtype)
        sel = [tf.constant(s[index_array].astype(object) if s.dtype.kind in "USO"
                           else s[index_array]) for s in sources]
        out = pull_graph(*sel, tf.constant(seed, tf.int64))
        if isinstance(out, tuple):  # (images, kept file indices) from a guarded load
            return tuple(t.numpy() for t in out)
        return out.numpy()

    return pull

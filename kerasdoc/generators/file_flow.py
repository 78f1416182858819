"""A :class:`~kerasdoc.generators.flow.Flow` over image files: options resolved and checked once,
files checked and subset (:mod:`kerasdoc.generators.file_table`), read by
:mod:`kerasdoc.generators.read`, guarded by :mod:`kerasdoc.generators.guard`, batched by
:mod:`kerasdoc.generators.pipeline`.

Example:
    >>> import os, tempfile, numpy as np, cv2
    >>> from kerasdoc.generators import ImageDataGenerator
    >>> from kerasdoc.generators.file_table import FileTable
    >>> d = tempfile.mkdtemp()
    >>> paths = [os.path.join(d, f"{i}.png") for i in range(3)]
    >>> for p in paths:
    ...     _ = cv2.imwrite(p, np.zeros((5, 5), np.uint8))
    >>> table = FileTable(paths, np.array([0, 1, 0]), {"a": 0, "b": 1}, ["0", "1", "2"])
    >>> flow = file_flow(ImageDataGenerator(), table, FileFlowOptions(
    ...     target_size=(4, 4), color_mode="grayscale", class_mode="sparse", batch_size=2))
    >>> flow.samples, flow.image_shape, [len(y) for _, y in flow.dataset]
    (3, (4, 4, 1), [2, 1])
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import tensorflow as tf

from kerasdoc.generators import crops as crops_lib
from kerasdoc.generators.file_table import (
    CLASS_MODES,
    FileFlowOptions,
    FileTable,
    check_choice,
    select_files,
    targets_of,
)
from kerasdoc.generators.flow import Flow
from kerasdoc.generators.guard import DecodeGuard
from kerasdoc.generators.ops import INTERPOLATIONS, PADDING_MODES, RESIZE_MODES
from kerasdoc.generators.pipeline import (
    build_pipeline,
    make_pull,
    no_autograph,
    to_uint8,
)
from kerasdoc.generators.read import ReadPlan, plan_read, read_image
from kerasdoc.generators.spec import FILE_COLOR_MODES, ImageSpec, crop_name
from kerasdoc.generators.tfdata import map_fn

#: Keras 2 (PIL) interpolation names -> the resize method that matches them.
PIL_NAMES = {"bilinear": "antialias_bilinear", "bicubic": "antialias_bicubic"}
CHECKS = (True, False, "header")


@dataclasses.dataclass
class _Geometry:
    """The options after the spec and the crop are applied (validated)."""

    target_size: tuple[int, int]
    color_mode: str
    crop: Any
    resize_mode: str
    padding_mode: str
    interpolation: str
    spec: ImageSpec | None  # the flow's reported spec (None: serving cannot replay it)
    value_spec: ImageSpec | None  # the spec that scales the values in the pipeline

    @property
    def channels(self) -> int:
        return FILE_COLOR_MODES[self.color_mode]


def _resolve(gen, o: FileFlowOptions) -> _Geometry:
    """Validate the options once; a ``spec`` replaces the geometry and the rescale."""
    spec = gen._value_spec(o.spec)
    interpolation = PIL_NAMES.get(o.interpolation, o.interpolation)  # Keras 2 means PIL's
    target_size, color_mode, crop = o.target_size, o.color_mode, o.crop
    resize_mode, padding_mode = o.resize_mode, o.padding_mode
    if spec is not None:
        target_size, color_mode, crop = spec.image_size, spec.color_mode, spec.crop
        resize_mode, padding_mode = spec.resize_mode, spec.padding_mode
        interpolation = spec.interpolation
    if color_mode not in FILE_COLOR_MODES:
        raise ValueError(f"Invalid color mode: {color_mode}; expected \"rgb\", \"rgba\", or "
                         "\"grayscale\".")
    if o.class_mode not in CLASS_MODES:
        raise ValueError(f"Invalid class_mode: {o.class_mode}; expected one of {CLASS_MODES}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Invalid interpolation method {interpolation!r} specified. "
                         f"Supported methods are {sorted(set(INTERPOLATIONS))}")
    check_choice(resize_mode, RESIZE_MODES, "resize_mode")
    check_choice(padding_mode, PADDING_MODES, "padding_mode")
    crop = crops_lib.get(crop)
    if target_size is None:
        if crop is None or crop.output_size is None:
            raise ValueError("target_size=None needs a crop with a fixed output size")
        target_size = crop.output_size
    target_size = tuple(int(v) for v in target_size)
    if len(target_size) != 2 or min(target_size) < 1:
        raise ValueError(f"target_size must be (height, width). Received: {target_size}")
    named_crop = crop_name(crop)
    # a step no spec expresses (serving cannot replay it)
    unspeccable = (gen.preprocessing_function is not None or gen.grayscale
                   or gen._standardizes or color_mode == "rgba"
                   or gen.data_format != "channels_last")
    value_spec = spec
    if spec is None and not unspeccable and (crop is None or named_crop is not None):
        spec = ImageSpec(target_size, color_mode, gen.rescale, crop=named_crop,
                         resize_mode=resize_mode, padding_mode=padding_mode,
                         interpolation=interpolation)
        value_spec = None
    return _Geometry(target_size, color_mode, crop, resize_mode, padding_mode, interpolation,
                     None if unspeccable else spec, value_spec)


def _source(guard: DecodeGuard | None, parts: tuple, plan: ReadPlan,
            cache: bool | str) -> tf.data.Dataset:
    """The rows as a dataset; with ``cache`` the decoded images (uint8), kept after the first
    pass (guarded: a file that fails to decode is named or dropped while filling it)."""
    if not cache:
        return tf.data.Dataset.from_tensor_slices(parts)
    if guard is not None:
        elements, check_batches = guard.guarded_pass(as_uint8=True)
        ds = check_batches(elements.batch(256)).unbatch()
        if guard.on_bad == "raise":  # every image, or the pass raises: Keras knows the steps
            ds = ds.apply(tf.data.experimental.assert_cardinality(len(guard.paths)))
    else:
        def to_cache(path, is_tiff, *target):
            img = to_uint8(read_image(path, is_tiff, plan))
            return (img, *target) if target else img

        ds = map_fn(tf.data.Dataset.from_tensor_slices(parts), no_autograph(to_cache))
    return ds.cache("" if cache is True else str(cache))


def _pass_function(gen, o: FileFlowOptions, geo: _Geometry, plan: ReadPlan, source,
                   guard: DecodeGuard | None, *, n: int, shuffle: bool, augment: bool,
                   n_targets: int):
    """``one_pass(epoch=None)``: one pass over the files (epoch ``epoch``'s with a seed)."""
    def load(path, is_tiff, *target):
        img = read_image(path, is_tiff, plan)
        return (img, *target) if target else img

    pipe_load = None if o.cache else load

    def one_pass(epoch=None):
        src, shuf, check_batches = source, shuffle, None
        if guard is not None:  # read (and shuffled) by the guard, checked per batch
            (src, check_batches), shuf = guard.guarded_pass(epoch, shuffled=shuffle), False
        out = build_pipeline(gen, src, n, None if guard is not None else pipe_load,
                             batch_size=o.batch_size, shuffle=shuf, seed=o.seed,
                             augment=augment, spec=geo.value_spec,
                             image_as_target=o.class_mode == "input", epoch=epoch,
                             gray_to_rgb=plan.gray_to_rgb, batch_check=check_batches,
                             cached=o.cache is True)
        if guard is not None and guard.on_bad == "raise":  # every batch, or the pass raises
            out = out.apply(tf.data.experimental.assert_cardinality(-(-n // o.batch_size)))
        if o.class_mode == "multi_output":
            def regroup(*el):
                return (el[0], tuple(el[1:1 + n_targets]), *el[1 + n_targets:])

            out = map_fn(out, no_autograph(regroup), parallel=False)
        return out

    return one_pass, load


def _pull_function(gen, o: FileFlowOptions, geo: _Geometry, plan: ReadPlan, load,
                   guard: DecodeGuard | None, *, paths, tiff, targets, weights, augment: bool):
    """``pull(index_array, seed)``: a hand-pulled batch (NumPy), Keras 2's structure."""
    hand_sources = [np.asarray(paths, dtype=str), tiff]
    if guard is not None:
        hand_sources.append(np.arange(len(paths), dtype=np.int64))
    pull_x = make_pull(gen, hand_sources, load if guard is None else guard.pull_load(),
                       augment=augment, spec=geo.value_spec,
                       image_shape=(*geo.target_size, geo.channels),
                       gray_to_rgb=plan.gray_to_rgb)

    def pull(index_array, hand_seed):
        bx = pull_x(index_array, hand_seed)
        if guard is not None:  # (images, kept file indices): name or skip the others
            bx, kept = bx
            index_array = guard.check_pull(index_array, kept)
        if o.class_mode == "input":
            by = bx.copy()
        elif targets is None:
            return bx
        elif isinstance(targets, tuple):
            by = [t[index_array] for t in targets]
        else:
            by = targets[index_array]
        if weights is not None:
            return bx, by, np.asarray(weights)[index_array]
        return bx, by

    return pull


def file_flow(gen, table: FileTable, o: FileFlowOptions) -> Flow:
    """The flow of ``table``'s files with options ``o``, for generator ``gen``."""
    geo = _resolve(gen, o)
    if o.batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={o.batch_size}")
    gen._check_fitted()
    select_files(table, check=o.check, on_bad=o.on_bad,
                 min_size=geo.crop.min_size if geo.crop else None,
                 subset_indices=lambda labels, n: gen._subset_indices(labels, n, o.subset))
    paths = table.paths
    targets = targets_of(table, o.class_mode, gen.dtype)
    shuffle = (o.subset != "validation") if o.shuffle is None else bool(o.shuffle)
    augment = gen._wants_augment(o.augment, o.subset)
    plan = plan_read(paths, table.formats, target_size=geo.target_size, channels=geo.channels,
                     crop=geo.crop, resize_mode=geo.resize_mode, padding_mode=geo.padding_mode,
                     interpolation=geo.interpolation, reduced_decode=o.reduced_decode,
                     batch_rgb_ok=(not augment and not gen.grayscale and not gen._standardizes
                                   and gen.preprocessing_function is None))
    if o.check not in CHECKS:
        raise ValueError(f"check must be True, 'header' or False. Received: {o.check!r}")
    tiff = np.asarray([f == "tiff" for f in table.formats], bool)
    tparts = () if targets is None else (targets if isinstance(targets, tuple) else (targets,))
    if table.weights is not None:
        tparts = (*tparts, np.asarray(table.weights))
    parts = (np.asarray(paths, dtype=str), tiff, *tparts)
    skipped = list(table.skipped)
    guard = None
    if o.check is True and len(paths) > 0:
        guard = DecodeGuard(paths, parts, lambda p, t: read_image(p, t, plan), on_bad=o.on_bad,
                            skipped=skipped, seed=o.seed,
                            batch_level=not augment and gen.preprocessing_function is None)
    source = _source(guard, parts, plan, o.cache)
    one_pass, load = _pass_function(
        gen, o, geo, plan, source, None if o.cache else guard, n=len(paths), shuffle=shuffle,
        augment=augment, n_targets=len(targets) if isinstance(targets, tuple) else 0)
    pull = _pull_function(gen, o, geo, plan, load, guard, paths=paths, tiff=tiff,
                          targets=targets, weights=table.weights, augment=augment)
    flow = Flow(one_pass(), samples=len(paths), batch_size=o.batch_size,
                class_indices=table.class_indices,
                classes=table.labels if table.multi_labels is None else list(table.multi_labels),
                filenames=table.filenames, filepaths=[os.path.abspath(p) for p in paths],
                class_mode=o.class_mode, image_shape=(*geo.target_size, geo.channels),
                shuffle=shuffle, seed=o.seed, skipped=skipped, spec=geo.spec, pull=pull,
                directory=None if table.directory is None else str(table.directory),
                target_size=geo.target_size, color_mode=geo.color_mode, dtype=gen.dtype,
                image_data_generator=gen, save=o.save, interpolation=geo.interpolation,
                # a file cache (a path) shuffles with tf.data's buffer: its pass never holds
                # every image at once, so it is not epoch-keyed (a resumed run reshuffles)
                pass_fn=one_pass if o.seed is not None and o.cache in (False, True) else None)
    flow.sample_weight = None if table.weights is None else np.asarray(table.weights)
    if o.class_mode in ("raw", "multi_output") and targets is not None:
        flow._raw_labels = targets
    return flow

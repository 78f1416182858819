"""The decode guard of a file flow: a file that passes the header checks but fails to decode
(corrupt scan data, a bad PNG IDAT ...) names itself (``on_bad="raise"``) or is dropped with its
label (``on_bad="skip"``), wherever it comes: in a pass (``model.fit``, ``flow.dataset``) or in a
hand-pulled batch (``next(flow)``, ``flow[i]``).

One :class:`DecodeGuard` per flow serves both: passes read on the main pipeline with
``ignore_errors`` and find the missing positions per batch (:meth:`DecodeGuard.guarded_pass`,
:meth:`DecodeGuard.check_batches`); hand-pulled batches decode with ``ignore_errors`` too, keep
each image's file index, and :meth:`DecodeGuard.check_pull` names or records the missing ones.

Example:
    >>> import os, tempfile, numpy as np, tensorflow as tf
    >>> d = tempfile.mkdtemp()
    >>> bad = os.path.join(d, "bad.png")
    >>> _ = open(bad, "wb").write(b"\\x89PNG\\r\\n\\x1a\\n" + b"0" * 40)
    >>> decode_failure_reason(bad).startswith("cannot be decoded")
    True
    >>> skips = DecodeSkips([])
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     _ = skips(bad)
    >>> [p for p, _ in skips.skipped] == [bad]
    True
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from kerasdoc.generators.files import BadImageFile
from kerasdoc.generators.flow import at_pass_start, flow_seed, permute, shuffle_key
from kerasdoc.generators.pipeline import empty_batch, no_autograph, to_uint8
from kerasdoc.generators.tfdata import flat_map, map_fn

ON_BAD = ("raise", "skip")


def decode_failure_reason(path: str) -> str:
    """Why an image file that passed the header checks does not decode (PIL's opinion)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            mode, (w, h) = im.mode, im.size
    except Exception as e:  # PIL raises many types on damaged files
        return f"cannot be decoded ({type(e).__name__}: {e})"
    return (f"TensorFlow cannot decode or resize it (PIL reads it as a {mode} {h}x{w} image; "
            "re-save it, e.g. as PNG)")


def undecodable(path: str) -> BadImageFile:
    """The error for a file that passed the header checks but does not decode."""
    return BadImageFile(path, decode_failure_reason(path) + "; pass on_bad='skip' to skip such "
                        "files")


class DecodeSkips:
    """Records images that fail to decode during a pass (``on_bad="skip"``) in the flow's
    ``skipped`` list, warning once per file."""

    def __init__(self, skipped: list):
        self.skipped, self.lock = skipped, threading.Lock()
        self.seen: set[str] = set()

    def record_paths(self, paths) -> np.bool_:
        """Records each of ``paths``; returns True."""
        for p in paths:
            self(p)
        return np.True_

    def __call__(self, path) -> np.bool_:
        p = path.decode() if isinstance(path, bytes) else str(path)
        with self.lock:
            if p in self.seen:
                return np.False_
            self.seen.add(p)
            reason = decode_failure_reason(p)
            self.skipped.append((p, reason))
            n = len(self.seen)
        warnings.warn(f"skipped an image that fails to decode: {p}: {reason} ({n} skipped "
                      "while decoding so far; its label is dropped with it; flow.skipped lists "
                      "them)", UserWarning, stacklevel=2)
        return np.False_


class DecodeGuard:
    """The guard of one file flow.

    Args:
        paths: the flow's file paths, in file order.
        parts: ``(paths, tiff flags, *targets)`` arrays, one row per file.
        read: ``read(path, is_tiff) -> image`` (graph ops; fails on an undecodable file).
        on_bad: ``"raise"`` or ``"skip"``.
        skipped: the flow's ``skipped`` list (``on_bad="skip"`` appends to it).
        seed: the flow's seed (the pass order of epoch ``k`` is ``flow_seed(seed, "shuffle", k)``).
        batch_level: a pass with nothing between the decode and the batching may drop a whole
            batch with a failing file and read its files one by one to name it (the map stays
            fused with the batching); else failing images are dropped one by one.
    """

    def __init__(self, paths: Sequence[str], parts: tuple, read: Callable, *, on_bad: str,
                 skipped: list, seed: int | None, batch_level: bool):
        self.paths, self.parts, self.read, self.on_bad = list(paths), parts, read, on_bad
        self.recorder = DecodeSkips(skipped)
        self.seed, self.batch_level = seed, batch_level and on_bad == "raise"

    # ------------------------------------------------------------------ passes
    def guarded_pass(self, epoch=None, shuffled: bool = False,
                     as_uint8: bool = False) -> tuple[tf.data.Dataset, Callable]:
        """One pass read with ``ignore_errors``: ``(elements, check)``. ``elements`` are
        ``(image, key, position, *targets)`` in pass order, without the files that failed to
        decode; ``check(batches)`` takes them batched (:meth:`check_batches`). The order is a
        stateless permutation of the positions (``index_shuffle`` keyed per pass: by
        ``(seed, epoch)`` for an epoch's pass, else drawn per iteration), so a missing position
        maps back to its file (``check``). Good files cost two gathers per image and a check
        per batch."""
        n = len(self.paths)
        table = tuple(tf.constant(t) for t in self.parts)
        shuffled = shuffled and n > 1
        if shuffled:
            if self.seed is not None and epoch is not None:
                keys = at_pass_start(lambda: flow_seed(self.seed, "shuffle", epoch))
            else:
                keys = tf.data.Dataset.random(seed=self.seed, rerandomize_each_iteration=True
                                              ).take(1).map(no_autograph(shuffle_key))
            ds = flat_map(keys, no_autograph(lambda key: tf.data.Dataset.from_tensor_slices(
                (tf.range(n, dtype=tf.int64), tf.tile(key[None], [n, 1])))))
        else:
            ds = tf.data.Dataset.range(n)  # positions only: the key is a placeholder
        read = self.read

        def order(key, pos):  # pass position(s) -> file index(es)
            return permute(pos, key, n) if shuffled else pos

        @no_autograph
        def decode(pos, key=None):
            key = tf.zeros([2], tf.int64) if key is None else key
            el = tuple(tf.gather(t, order(key, pos)) for t in table)
            img = read(el[0], el[1])
            return (to_uint8(img) if as_uint8 else img, key, pos, *el[2:])

        elements = map_fn(ds, decode)
        if not self.batch_level:
            elements = elements.ignore_errors()
        return elements, lambda batches: self.check_batches(batches, table, order)

    def check_batches(self, batches: tf.data.Dataset, table: tuple,
                      order: Callable) -> tf.data.Dataset:
        """Batches of :meth:`guarded_pass` -> the same batches without key and position, after
        finding the pass positions missing from each (and, after the last, from the end of the
        pass) and naming their files (``on_bad="raise"``) or recording them in ``skipped``."""
        if self.batch_level:
            batches = batches.ignore_errors()
        # an empty batch after the last reports the failures at the end of the pass
        end = empty_batch(batches.element_spec)
        def step(state, b):
            return self._step(state, b, table, order)

        out = batches.concatenate(end).scan(
            (tf.constant(0, tf.int64), tf.zeros([2], tf.int64)), no_autograph(step))
        out = out.filter(no_autograph(lambda img, *rest: tf.shape(img)[0] > 0))
        return map_fn(out, no_autograph(lambda *el: el if len(el) > 1 else el[0]),
                      parallel=False)

    def _step(self, state, b, table, order):  # state: (next expected position, the pass's key)
        expected, key = state
        pos = b[2]
        size = tf.size(pos, out_type=tf.int64)
        # one past the batch's last position (the end batch: n), and the key
        last = tf.where(size > 0, tf.reduce_max(tf.concat([pos, [-1]], 0)) + 1,
                        tf.constant(len(self.paths), tf.int64))
        key = tf.concat([b[1], key[None]], 0)[0]

        def missing():
            got = tf.scatter_nd((pos - expected)[:, None], tf.ones_like(pos, tf.int32),
                                [last - expected])
            qs = expected + tf.where(tf.equal(got, 0))[:, 0]
            # with no batch seen yet the key is a placeholder, but then every position is
            # missing and any permutation names the same files
            idx = order(key, qs)
            bad = tf.gather(table[0], idx)
            if self.on_bad == "raise":  # eager: a graph branch would cost every batch
                out = tf.py_function(self.raise_first, [bad, tf.gather(table[1], idx)],
                                     tf.bool)
            else:
                out = tf.numpy_function(self.recorder.record_paths, [bad], tf.bool,
                                        stateful=True)
            return tf.reshape(out, [])

        done = tf.cond(last - expected > size, missing, lambda: tf.constant(True))
        with tf.control_dependencies([done]):
            img = tf.identity(b[0])
        return (last, key), (img, *b[3:])

    def raise_first(self, bad, tiff_flags):
        """Eager: read the files of a dropped batch one by one and name the first that fails."""
        names = [p.decode() for p in bad.numpy()]
        for p, t in zip(names, tiff_flags.numpy()):
            try:
                self.read(tf.constant(p), tf.constant(t))
            except tf.errors.OpError:
                raise undecodable(p) from None
        raise BadImageFile(names[0], "a batch of these files failed to load, but each "
                           "decodes on its own (was a file changed while reading?): "
                           + ", ".join(names))

    # ------------------------------------------------------------------ hand-pulled batches
    def pull_load(self) -> Callable:
        """The ``load`` of a guarded hand-pulled batch: ``(path, is_tiff, file index) ->
        (image, file index)``, run with ``ignore_errors`` (its ``drops_failures``)."""
        read = self.read

        def load_kept(path, is_tiff, index):
            return read(path, is_tiff), index

        load_kept.drops_failures = True
        return load_kept

    def check_pull(self, index_array: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """The file indices of a hand-pulled batch that decoded (``kept``): raise for the first
        missing one (``on_bad="raise"``) or record them; returns the indices kept."""
        index_array = np.asarray(index_array)
        ok = np.isin(index_array, kept)
        if not ok.all():
            bad = [self.paths[i] for i in index_array[~ok]]
            if self.on_bad == "raise":
                raise undecodable(bad[0])
            for p in bad:
                self.recorder(p)
            index_array = index_array[ok]
        return index_array

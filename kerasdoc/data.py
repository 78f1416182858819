"""Folders of class folders as training, validation and test flows, at any image spec.

:class:`FolderData` is the one data source over ``DIR/<class>/<image>`` folders: ``kerasdoc
train`` reads ``--data`` (and ``--val`` or ``--val-split``) through it, and the persian-ocr
experiment its ``train/`` and ``valid/`` folders (the Hoda archive's layout). ``flows(spec)``
gives, for one :class:`kerasdoc.generators.spec.ImageSpec`, the ``train`` flow, the ``select``
flow (the validation images that choose: epochs, stages, the model to ship) and the ``test``
flow (images nothing trained or chose on), made once per spec so that progressive resizing
reads the same files at each size.

Example:
    >>> import tempfile
    >>> from kerasdoc.demo.digits import write_digit_folders
    >>> from kerasdoc.generators.spec import ImageSpec
    >>> root = write_digit_folders(tempfile.mkdtemp(), 40, 20, size=16)
    >>> data = FolderData.from_split_root(root, batch_size=8, test_split=0.5)
    >>> flows = data.flows(ImageSpec((16, 16), "grayscale", rescale=1 / 255))
    >>> flows["train"].samples, flows["select"].samples, flows["test"].samples
    (40, 10, 10)
    >>> data.describe_test(flows["test"].samples)
    'held-out 50% of the validation folder (10 images, seeded stratified, seed 0; never...'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def find_split_root(path: str | Path) -> Path:
    """The folder holding ``train/`` and ``valid/``: ``path`` itself or one folder below it
    (an extracted archive's top folder).

    Raises:
        FileNotFoundError: neither ``path`` nor a folder in it holds both.
    """
    path = Path(path)
    for cand in [path, *sorted(p for p in path.iterdir() if p.is_dir())]:
        if (cand / "train").is_dir() and (cand / "valid").is_dir():
            return cand
    raise FileNotFoundError(f"{path}: expected ImageNet-style folders train/<class>/ and "
                            "valid/<class>/ (here or one level below)")


def channel_stats(batches: Iterable, n_batches: int = 20) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation (at least 1e-3) of the images of the first
    ``n_batches`` ``(images, labels)`` batches: fastai's ``normalize()`` from data statistics,
    for :meth:`ImageSpec.replace(mean=..., std=...) <kerasdoc.generators.spec.ImageSpec>`.

    Example:
        >>> batches = [(np.full((2, 4, 4, 1), v, "float32"), None) for v in (0.0, 1.0, 5.0)]
        >>> channel_stats(batches, n_batches=2)
        ([0.5], [0.5])
    """
    xs = []
    for i, (xb, _) in enumerate(batches):
        xs.append(np.asarray(xb))
        if i + 1 >= n_batches:
            break
    x = np.concatenate(xs)
    return x.mean(axis=(0, 1, 2)).tolist(), np.maximum(x.std(axis=(0, 1, 2)), 1e-3).tolist()


#: The augmentation of the persian-ocr ``cpu`` recipe, the default ``transforms``.
DEFAULT_TRANSFORMS = dict(rotation_range=10, zoom_range=0.1, width_shift_range=0.08,
                          height_shift_range=0.08)


class FolderData:
    """Class-folder images as ``train`` / ``select`` / ``test`` flows for any image spec.

    ``train``: ``train_dir`` (its seeded stratified ``1 - val_split`` share with ``val_split``),
    augmented with ``transforms`` when ``augment``. ``select``: ``valid_dir`` (its ``1 -
    test_split`` share when the test images come from it), else the ``val_split`` share of
    ``train_dir``, else None. ``test``: ``test_dir``, else the ``test_split`` share of
    ``valid_dir``, else None. Every flow gives sparse labels in the training flow's class
    order; only ``train`` is shuffled.

    Args:
        train_dir: str or Path. The training folder (``train_dir/<class>/<image>``; a path
            through a ``.tgz`` works as in ``flow_from_directory``).
        batch_size: int. Images per batch (the global batch under a distribution strategy).
        seed: int. Seed of the splits, the shuffle and the augmentation. Defaults to 0.
        valid_dir: str, Path or None. The validation folder (same classes). Defaults to None.
        test_dir: str, Path or None. A test folder (same classes). Defaults to None.
        val_split: float in [0, 1). Share of each class of ``train_dir`` held out: the
            ``select`` images without ``valid_dir``, unused (a smaller training set) with it.
            Defaults to 0.
        test_split: float in [0, 1). Without ``test_dir``: share of each class of
            ``valid_dir`` held out as the ``test`` images. Defaults to 0.
        augment: bool. Augment the training flow with ``transforms``. Defaults to False.
        transforms: dict or None. ``ImageDataGenerator`` augmentation arguments. Defaults to
            :data:`DEFAULT_TRANSFORMS`.
        shuffle: bool or None. Shuffle the training flow; None: when augmenting. Defaults to
            None.
        kind: str. What the data is, for the results ("real: PATH" by default).
    """

    def __init__(self, train_dir: str | Path, *, batch_size: int, seed: int = 0,
                 valid_dir: str | Path | None = None, test_dir: str | Path | None = None,
                 val_split: float = 0.0, test_split: float = 0.0, augment: bool = False,
                 transforms: dict[str, Any] | None = None, shuffle: bool | None = None,
                 kind: str = ""):
        self.train_dir, self.valid_dir, self.test_dir = train_dir, valid_dir, test_dir
        self.batch_size, self.seed, self.augment, self.shuffle = batch_size, seed, augment, shuffle
        self.transforms = dict(DEFAULT_TRANSFORMS) if transforms is None else transforms
        self.val_split, self.test_split = val_split, test_split
        self.kind = kind or f"real: {train_dir}"
        self._flows: dict[Any, dict[str, Any]] = {}

    @classmethod
    def from_split_root(cls, path: str | Path, **kwargs: Any) -> FolderData:
        """The data of a folder holding ``train/`` and ``valid/`` (here or one level below:
        :func:`find_split_root`), or of an archive of one (``.tgz``, ``.tar``, ``.zip``:
        extracted once to the cache, :func:`kerasdoc.generators.extract_archive`); ``kwargs``
        as for :class:`FolderData`."""
        from kerasdoc.generators import extract_archive
        from kerasdoc.generators.archives import is_archive

        folder = Path(path)
        if folder.is_file() and is_archive(folder):
            folder = Path(extract_archive(folder))
        root = find_split_root(folder)
        kwargs.setdefault("kind", f"real: {path}")
        return cls(root / "train", valid_dir=root / "valid", **kwargs)

    def describe_test(self, n: int) -> str:
        """The test images in words, for results (``n`` images)."""
        if self.test_dir is not None:
            return f"test set {self.test_dir} ({n} images)"
        return (f"held-out {self.test_split:.0%} of the validation folder ({n} images, seeded "
                f"stratified, seed {self.seed}; never trained or chosen on)")

    def train_flow(self, spec, augment: bool | None = None):
        """The training images at ``spec``, augmenting unless ``augment=False``."""
        from kerasdoc.generators import ImageDataGenerator

        augment = self.augment if augment is None else augment
        shuffle = augment if self.shuffle is None else self.shuffle
        split = self.val_split
        gen = ImageDataGenerator(validation_split=split, validation_seed=self.seed,
                                 **(self.transforms if augment else {}))
        return gen.flow_from_directory(self.train_dir, spec=spec, class_mode="sparse",
                                       batch_size=self.batch_size, shuffle=shuffle,
                                       seed=self.seed, subset="training" if split else None,
                                       augment=augment)

    def flows(self, spec) -> dict[str, Any]:
        """``{"train", "select", "test", "class_names"}`` at ``spec`` (made once per spec).

        Raises:
            ValueError: the training folder holds fewer than two class folders.
        """
        if spec not in self._flows:
            self._flows[spec] = self._make_flows(spec)
        return self._flows[spec]

    def _make_flows(self, spec) -> dict[str, Any]:
        from kerasdoc.generators import ImageDataGenerator

        train = self.train_flow(spec)
        classes = train.class_indices
        names = sorted(classes, key=classes.get)
        if len(names) < 2:
            raise ValueError(f"{self.train_dir} holds {len(names)} class folder(s) {names}; a "
                             "classifier needs at least two classes (one sub-folder of images "
                             "per class).")
        kw = dict(spec=spec, class_mode="sparse", batch_size=self.batch_size)
        plain = ImageDataGenerator()
        select = test = None
        if self.valid_dir is not None and (self.test_dir is not None or not self.test_split):
            select = plain.flow_from_directory(self.valid_dir, classes=classes, shuffle=False,
                                               **kw)
        elif self.valid_dir is not None:
            split = ImageDataGenerator(validation_split=self.test_split,
                                       validation_seed=self.seed)
            select = split.flow_from_directory(self.valid_dir, classes=classes,
                                               subset="training", shuffle=False,
                                               augment=False, **kw)
            test = split.flow_from_directory(self.valid_dir, classes=classes,
                                             subset="validation", shuffle=False, **kw)
        elif self.val_split:
            held = ImageDataGenerator(validation_split=self.val_split, validation_seed=self.seed)
            select = held.flow_from_directory(self.train_dir, subset="validation",
                                              shuffle=False, **kw)
        if self.test_dir is not None:
            test = plain.flow_from_directory(self.test_dir, classes=classes, shuffle=False,
                                             **kw)
        return {"train": train, "select": select, "test": test, "class_names": names}

"""Seeded, stratified splits of labelled data.

``fit(validation_split=...)`` takes the *last* fraction of the arrays before shuffling, which on
data read class by class from folders leaves whole classes out of training; use these instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def stratified_split(labels: Sequence[int] | np.ndarray, test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a seeded split that keeps each class's share in both parts.

    Args:
        labels: sequence of int. One class label per sample.
        test_fraction: float in (0, 1). Share of each class that goes to the second part.
        seed: int. Random seed; the same seed gives the same split.

    Returns:
        ``(train_indices, test_indices)``, each sorted, disjoint and together complete.

    Example:
        >>> tr, te = stratified_split([0] * 8 + [1] * 2, test_fraction=0.5, seed=1)
        >>> sorted(np.asarray([0] * 8 + [1] * 2)[te].tolist())
        [0, 0, 0, 0, 1]
    """
    labels = np.asarray(labels).reshape(-1)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"test_fraction must be in (0, 1). Received: test_fraction={test_fraction}"
        )
    if labels.size < 2:
        raise ValueError(f"Need at least two samples to split. Received: {labels.size} labels")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        if len(idx) >= 2:
            n_test = min(max(n_test, 1), len(idx) - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def train_val_test_split(labels: Sequence[int] | np.ndarray, val_fraction: float = 0.1,
                         test_fraction: float = 0.1, seed: int = 0
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of a seeded, stratified three-way split (train / validation / test).

    Paper: the RVL-CDIP blog (seed 001) filters its data into train, test and cv parts; the
    invoice paper (seed 000) uses a fixed 840 / 360 split.

    Args:
        labels: sequence of int. One class label per sample.
        val_fraction: float in [0, 1). Share of each class for validation.
        test_fraction: float in [0, 1). Share of each class for the test part.
        seed: int. Random seed.

    Returns:
        ``(train, val, test)`` sorted index arrays, disjoint and together complete.

    Example:
        >>> tr, va, te = train_val_test_split([0] * 10 + [1] * 10, 0.2, 0.3, seed=0)
        >>> len(tr), len(va), len(te)
        (10, 4, 6)
    """
    labels = np.asarray(labels).reshape(-1)
    if not (0.0 <= val_fraction < 1.0 and 0.0 <= test_fraction < 1.0
            and val_fraction + test_fraction < 1.0):
        raise ValueError("need 0 <= val_fraction, test_fraction and their sum < 1. Received: "
                         f"val_fraction={val_fraction}, test_fraction={test_fraction}")
    all_idx = np.arange(labels.size)
    empty = np.zeros(0, np.int64)
    if test_fraction:
        rest, test = stratified_split(labels, test_fraction, seed)
    else:
        rest, test = all_idx, empty
    if val_fraction:
        tr, va = stratified_split(labels[rest], val_fraction / (1.0 - test_fraction), seed + 1)
        train, val = rest[tr], rest[va]
    else:
        train, val = rest, empty
    return np.sort(train), np.sort(val), np.sort(test)


def subset_lists(paths: Sequence[str], labels: Sequence[int], indices: np.ndarray
                 ) -> tuple[list[str], list[int]]:
    """The paths and labels at ``indices`` (e.g. from :func:`train_val_test_split`).

    Example:
        >>> subset_lists(["a", "b", "c"], [0, 1, 0], np.array([2, 0]))
        (['c', 'a'], [0, 0])
    """
    if len(paths) != len(labels):
        raise ValueError(f"paths and labels differ in length: {len(paths)} vs {len(labels)}")
    return [paths[i] for i in indices], [int(labels[i]) for i in indices]

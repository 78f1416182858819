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

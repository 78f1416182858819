"""ImageDataGenerator-style data pipelines on ``tf.data``.

Keras 3 removed ``keras.preprocessing.image.ImageDataGenerator``; this package gives code written
for it a home that runs on ``tf.data`` (parallel decode, prefetch, ``tf.distribute``-ready).

Example:
    >>> from generators import stratified_split
    >>> train_idx, test_idx = stratified_split([0, 0, 1, 1, 0, 1], test_fraction=1/3, seed=0)
    >>> len(train_idx), len(test_idx)
    (4, 2)
"""

from generators.sources import load_idx
from generators.splits import stratified_split

__all__ = ["load_idx", "stratified_split"]

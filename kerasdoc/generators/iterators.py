"""Keras 2's iterator classes as constructors: ``NumpyArrayIterator(x, y, gen)``,
``DirectoryIterator(directory, gen)``, ``DataFrameIterator(df, directory, gen)`` each return the
:class:`~kerasdoc.generators.flow.Flow` of the matching ``gen.flow*`` call.

Example:
    >>> import numpy as np
    >>> from kerasdoc.generators import ImageDataGenerator
    >>> it = NumpyArrayIterator(np.zeros((3, 2, 2, 1)), None, ImageDataGenerator(), batch_size=2)
    >>> isinstance(it, Flow), len(it)
    (True, 2)
"""

from __future__ import annotations

from typing import Any

from kerasdoc.generators.flow import Flow
from kerasdoc.generators.image_generator import ImageDataGenerator


class NumpyArrayIterator(Flow):
    """Keras 2's constructor form ``NumpyArrayIterator(x, y, image_data_generator, ...)``: the
    same as ``image_data_generator.flow(x, y, ...)`` (returns a :class:`Flow`)."""

    def __new__(cls, x: Any, y: Any, image_data_generator: Any,
                batch_size: int = 32, shuffle: bool = False, sample_weight: Any = None,
                seed: int | None = None, data_format: str | None = None,
                save_to_dir: str | None = None, save_prefix: str = "",
                save_format: str = "png", subset: str | None = None,
                ignore_class_split: bool = False, dtype: str | None = None) -> Flow:
        return image_data_generator.flow(
            x, y, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
            seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, ignore_class_split=ignore_class_split, subset=subset)


class DirectoryIterator(Flow):
    """Keras 2's ``DirectoryIterator(directory, image_data_generator, ...)``: the same as
    ``image_data_generator.flow_from_directory(directory, ...)``."""

    def __new__(cls, directory: Any, image_data_generator: Any = None,
                *args: Any, data_format: str | None = None, dtype: str | None = None,
                **kwargs: Any) -> Flow:
        gen = image_data_generator or ImageDataGenerator()
        return gen.flow_from_directory(directory, *args, **kwargs)


class DataFrameIterator(Flow):
    """Keras 2's ``DataFrameIterator(dataframe, directory, image_data_generator, ...)``: the
    same as ``image_data_generator.flow_from_dataframe(dataframe, directory, ...)``."""

    def __new__(cls, dataframe: Any, directory: Any = None,
                image_data_generator: Any = None, *args: Any,
                data_format: str | None = None, dtype: str | None = None,
                **kwargs: Any) -> Flow:
        gen = image_data_generator or ImageDataGenerator()
        return gen.flow_from_dataframe(dataframe, directory, *args, **kwargs)

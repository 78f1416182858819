"""ImageDataGenerator-style data pipelines on ``tf.data``.

Keras 3 removed ``keras.preprocessing.image.ImageDataGenerator``; this package gives code written
for it a home that runs on ``tf.data`` (parallel decode, prefetch, ``tf.distribute``-ready):
``ImageDataGenerator(...).flow / flow_from_directory / flow_from_labelfile / flow_from_dataframe``
return a :class:`Flow` (Keras 2's iterator: ``next(flow)``, ``flow[i]``, ``reset()``; a Keras 3
data adapter for ``model.fit`` at ``tf.data`` speed; a ``tf.data.Dataset``) with
``class_indices``, ``classes``, ``filenames``, ``samples``, ``num_classes`` and ``batch_size``.
Keras 2's NumPy image helpers (``load_img``, ``apply_affine_transform`` ...) come from
:mod:`kerasdoc.generators.keras2`; crop functions live in ``kerasdoc.generators.crops``; the MNIST-C
corruptions (``corrupt``, ``corrupt_mixed``, ``CorruptionAugment``, ``corruption_pair_dataset``)
in ``kerasdoc.generators.corruptions``.

Example:
    >>> from kerasdoc.generators import stratified_split
    >>> train_idx, test_idx = stratified_split([0, 0, 1, 1, 0, 1], test_fraction=1/3, seed=0)
    >>> len(train_idx), len(test_idx)
    (4, 2)
"""

from kerasdoc.generators import crops
from kerasdoc.generators.archives import extract_archive, resolve_archive_path
from kerasdoc.generators.augment import Augmentation
from kerasdoc.generators.files import (
    BadImageFile,
    check_files,
    image_size,
    list_image_folder,
    sniff_image,
)
from kerasdoc.generators.flow import Flow
from kerasdoc.generators.image_generator import ImageDataGenerator
from kerasdoc.generators.iterators import DataFrameIterator, DirectoryIterator, NumpyArrayIterator
from kerasdoc.generators.keras2 import (
    Iterator,
    apply_affine_transform,
    apply_brightness_shift,
    apply_channel_shift,
    array_to_img,
    flip_axis,
    img_to_array,
    list_pictures,
    load_img,
    random_brightness,
    random_channel_shift,
    random_rotation,
    random_shear,
    random_shift,
    random_zoom,
    save_img,
    transform_matrix_offset_center,
    validate_filename,
)
from kerasdoc.generators.label_files import (
    RVL_CDIP_CLASSES,
    load_file_list,
    parse_label_file,
    save_file_list,
)
from kerasdoc.generators.ops import decode_image, resize_image, to_grayscale
from kerasdoc.generators.sources import MNIST_C_CORRUPTIONS, load_idx, load_tfds
from kerasdoc.generators.splits import stratified_split, subset_lists, train_val_test_split

__all__ = [
    "DataFrameIterator", "DirectoryIterator", "Iterator", "NumpyArrayIterator",
    "apply_affine_transform", "apply_brightness_shift", "apply_channel_shift", "array_to_img",
    "flip_axis", "img_to_array", "list_pictures", "load_img", "random_brightness",
    "random_channel_shift", "random_rotation", "random_shear", "random_shift", "random_zoom",
    "save_img", "transform_matrix_offset_center", "validate_filename",
    "MNIST_C_CORRUPTIONS", "RVL_CDIP_CLASSES", "Augmentation", "BadImageFile", "Flow",
    "ImageDataGenerator", "check_files", "crops", "decode_image", "extract_archive",
    "image_size", "image_size_survey", "list_image_folder", "load_file_list", "load_idx",
    "load_tfds", "parse_label_file", "resize_image", "resolve_archive_path", "save_file_list",
    "sniff_image", "stratified_split", "subset_lists", "to_grayscale", "train_val_test_split",
    "CORRUPTIONS", "CorruptionAugment", "corrupt", "corrupt_mixed", "corruption_pair_dataset",
]

#: Names served from :mod:`kerasdoc.generators.corruptions` on first use (it imports SciPy).
_CORRUPTION_NAMES = ("CORRUPTIONS", "CorruptionAugment", "corrupt", "corrupt_mixed",
                     "corruption_pair_dataset")


def __getattr__(name: str):
    # imported lazily so that ``python -m generators.survey`` runs without a double import
    if name == "image_size_survey":
        from kerasdoc.generators.survey import image_size_survey

        return image_size_survey
    if name in _CORRUPTION_NAMES:
        from kerasdoc.generators import corruptions

        return getattr(corruptions, name)
    raise AttributeError(f"module 'kerasdoc.generators' has no attribute {name!r}")

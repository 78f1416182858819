"""Training recipes and callbacks of the Persian OCR workflow (seeds/004), fastai-style.

``freeze`` / ``unfreeze`` by layer group, ``fit_one_cycle`` (learning rate and Adam ``beta_1``
scheduled around ``fit``), ``lr_find`` (range test, plot and suggestions, weights restored),
discriminative learning rates (:class:`DiscriminativeAdam`, ``lr_max=slice(1e-6, 1e-4)``),
progressive resizing (:func:`with_input_size`) and :func:`transfer_weights` by layer name;
and resumable, fault-tolerant training (:mod:`kerasdoc.training.resilient`: atomic
``BackupAndRestore``, NaN-safe checkpoints, :func:`fit_resilient`).

Example:
    >>> from kerasdoc.training import lr_range
    >>> [f"{x:.0e}" for x in lr_range(slice(1e-6, 1e-4), 3)]
    ['1e-06', '1e-05', '1e-04']
"""

from kerasdoc.models.weights import load_keras_model, transfer_weights, with_input_size
from kerasdoc.training.groups import (
    freeze,
    group_lr_multipliers,
    is_head_layer,
    layer_groups,
    unfreeze,
)
from kerasdoc.training.optim import DiscriminativeAdam, lr_range
from kerasdoc.training.resilient import (
    AtomicBackupAndRestore,
    AtomicModelCheckpoint,
    fit_resilient,
)
from kerasdoc.training.schedule import (
    LRFinderResult,
    OneCycleScheduler,
    compile_discriminative,
    fit_one_cycle,
    lr_find,
    lr_suggestions,
    one_cycle_values,
    plot_lr_find,
)

__all__ = [
    "AtomicBackupAndRestore",
    "AtomicModelCheckpoint",
    "DiscriminativeAdam",
    "LRFinderResult",
    "OneCycleScheduler",
    "compile_discriminative",
    "fit_one_cycle",
    "fit_resilient",
    "freeze",
    "group_lr_multipliers",
    "is_head_layer",
    "layer_groups",
    "load_keras_model",
    "lr_find",
    "lr_range",
    "lr_suggestions",
    "one_cycle_values",
    "plot_lr_find",
    "transfer_weights",
    "unfreeze",
    "with_input_size",
]

"""Training recipes and callbacks of the Persian OCR workflow (seeds/004), fastai-style.

``freeze`` / ``unfreeze`` by layer group, ``fit_one_cycle`` (learning rate and Adam ``beta_1``
scheduled around ``fit``), ``lr_find`` (range test, plot and suggestions, weights restored),
discriminative learning rates (:class:`DiscriminativeAdam`, ``lr_max=slice(1e-6, 1e-4)``),
progressive resizing (:func:`with_input_size`) and :func:`transfer_weights` by layer name;
and resumable, fault-tolerant training (:mod:`kerasdoc.training.resilient`: atomic
``BackupAndRestore``, NaN-safe checkpoints, :func:`fit_resilient`); :func:`build_before_fit`
before a ``model.fit`` of your own, so its training step is traced once, not twice (every
``fit`` of kerasdoc does it).

Example:
    >>> from kerasdoc.training import lr_range
    >>> [f"{x:.0e}" for x in lr_range(slice(1e-6, 1e-4), 3)]
    ['1e-06', '1e-05', '1e-04']
"""

import importlib

#: Where each public name lives. Imported on first use (PEP 562), so that TensorFlow-free parts
#: (:mod:`kerasdoc.training.rates`, read by ``kerasdoc reproduce persian-ocr --help``) load
#: without starting TensorFlow.
_SOURCES = {
    "load_keras_model": "kerasdoc.models.weights",
    "transfer_weights": "kerasdoc.models.weights",
    "with_input_size": "kerasdoc.models.weights",
    "freeze": "kerasdoc.training.groups",
    "group_lr_multipliers": "kerasdoc.training.groups",
    "is_head_layer": "kerasdoc.training.groups",
    "layer_groups": "kerasdoc.training.groups",
    "unfreeze": "kerasdoc.training.groups",
    "DiscriminativeAdam": "kerasdoc.training.optim",
    "lr_range": "kerasdoc.training.optim",
    "AtomicBackupAndRestore": "kerasdoc.training.resilient",
    "AtomicModelCheckpoint": "kerasdoc.training.resilient",
    "fit_resilient": "kerasdoc.training.resilient",
    "build_before_fit": "kerasdoc.keras_internals",
    "LRFinderResult": "kerasdoc.training.schedule",
    "OneCycleScheduler": "kerasdoc.training.schedule",
    "compile_discriminative": "kerasdoc.training.schedule",
    "fit_one_cycle": "kerasdoc.training.schedule",
    "lr_find": "kerasdoc.training.schedule",
    "lr_suggestions": "kerasdoc.training.schedule",
    "one_cycle_values": "kerasdoc.training.schedule",
    "plot_lr_find": "kerasdoc.training.schedule",
}


def __getattr__(name: str):
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'kerasdoc.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_SOURCES))


__all__ = sorted(_SOURCES)

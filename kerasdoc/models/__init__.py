"""Functional Keras model builders, registered by name.

Each module of this package registers its public builders with ``@register_model``; they are all
imported the first time the registry is queried, so a new module needs no edit here.

Example:
    >>> from kerasdoc.models import get_model, list_models
    >>> model = get_model("digits_rnn")
    >>> model.output_shape
    (None, 10)
"""

from kerasdoc.models.registry import (
    ModelSpec,
    get_model,
    list_models,
    model_spec,
    register_model,
)

__all__ = ["ModelSpec", "get_model", "list_models", "model_spec", "register_model"]

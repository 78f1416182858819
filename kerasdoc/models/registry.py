"""Model registry: ``register_model``, ``get_model``, ``list_models``.

Every public builder in ``kerasdoc.models`` registers itself by name, so that the CLI
(``kerasdoc list``), the experiments and the test battery can reach it without knowing its module.

Example:
    >>> from kerasdoc.models import get_model, list_models
    >>> "digits_dnn" in list_models()
    True
    >>> get_model("digits_dnn", num_classes=4).output_shape
    (None, 4)
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import keras


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one model.

    Attributes:
        name: registry name (``get_model(name)``).
        builder: the function returning a functional ``keras.Model``.
        paper: short reference of the source document (e.g. ``"002"``).
        test_kwargs: small, non-default arguments the test battery builds with (a smaller input
            shape, a different class count) so that every registered model is tested quickly.
        large: True for models too slow for the default test run; the battery then runs only
            with ``pytest -m slow``.
    """

    name: str
    builder: Callable[..., keras.Model]
    paper: str = ""
    test_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    large: bool = False


_REGISTRY: dict[str, ModelSpec] = {}
_LOADED = False


def register_model(
    name: str,
    *,
    paper: str = "",
    test_kwargs: dict[str, Any] | None = None,
    large: bool = False,
) -> Callable[[Callable[..., keras.Model]], Callable[..., keras.Model]]:
    """Decorator registering a model builder under ``name``.

    Args:
        name: str. Registry name; must be unique.
        paper: str. Source document id, e.g. ``"000"``.
        test_kwargs: dict. Arguments for the test battery's non-default build.
        large: bool. Mark the model as slow to test.

    Returns:
        The decorator, which returns the builder unchanged.
    """

    def decorator(fn: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        if name in _REGISTRY and _REGISTRY[name].builder is not fn:
            raise ValueError(f"A model named {name!r} is already registered "
                             f"(by {_REGISTRY[name].builder.__module__}).")
        _REGISTRY[name] = ModelSpec(name, fn, paper, dict(test_kwargs or {}), large)
        return fn

    return decorator


def _load_all() -> None:
    """Import every module of ``kerasdoc.models`` so that their decorators run."""
    global _LOADED
    if _LOADED:
        return
    import kerasdoc.models as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"kerasdoc.models.{info.name}")
    _LOADED = True


def list_models() -> list[str]:
    """Names of all registered models, sorted."""
    _load_all()
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` registered under ``name`` (``ValueError`` if unknown)."""
    _load_all()
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown model {name!r}. Expected one of: {', '.join(sorted(_REGISTRY))}."
        )
    return _REGISTRY[name]


def get_model(name: str, **kwargs: Any) -> keras.Model:
    """Build the registered model ``name`` with ``kwargs`` passed to its builder.

    Args:
        name: str. A name from :func:`list_models`.
        **kwargs: builder arguments (``input_shape``, ``num_classes``, ...).

    Returns:
        A functional ``keras.Model``.

    Example:
        >>> get_model("digits_cnn", input_shape=(32, 32, 1)).input_shape
        (None, 32, 32, 1)
    """
    return model_spec(name).builder(**kwargs)

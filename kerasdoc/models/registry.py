"""Model registry: ``register_model``, ``get_model``, ``list_models``, ``model_spec``.

Every public builder in ``kerasdoc.models`` registers itself by name together with what a
pipeline needs to know about it without building it (as timm's pretrained configs and fastai's
``model_meta`` do): the paper it comes from, its default input shape and colour mode, and its
layer groups (which layers form the head, where the body splits for freezing and discriminative
learning rates). The CLI (``kerasdoc list``, ``kerasdoc train``), the experiments, the training
recipes and the test battery read these facts here and nowhere else.

Example:
    >>> from kerasdoc.models import get_model, list_models, model_spec
    >>> "digits_dnn" in list_models()
    True
    >>> model_spec("digits_cnn").input_shape, model_spec("digits_cnn").color_mode
    ((28, 28, 1), 'grayscale')
    >>> get_model("digits_dnn", num_classes=4).output_shape
    (None, 4)
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable, Sequence
from typing import Any

import keras

from kerasdoc.generators.spec import FILE_COLOR_MODES

#: Layer-name prefixes of a classifier head when a model declares none (kerasdoc's builders name
#: their heads ``head_*`` and end in ``logits`` / ``predictions``).
DEFAULT_HEAD = ("head_", "logits", "predictions")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows of one model.

    Attributes:
        name: registry name (``get_model(name)``).
        builder: the function returning a functional ``keras.Model``.
        paper: key of the source publication in :mod:`kerasdoc.papers` (``""`` for none).
        input_shape: the builder's default input shape ``(height, width, channels)``; height and
            width may be None for variable-size models.
        color_mode: ``"grayscale"`` or ``"rgb"``: what the default input's channels mean.
        head: layer-name prefixes of the classifier head (an exact name matches too).
        split_before: layer-name prefixes; the first matching layer starts the second body group
            (fastai's split of a ResNet body in halves). Empty: split in the middle of the
            body's weighted layers.
        test_kwargs: small, non-default arguments the test battery builds with (a smaller input
            shape, a different class count) so that every registered model is tested quickly.
        large: True for models too slow for the default test run; the battery then runs only
            with ``pytest -m slow``.
        task: ``"classification"`` (outputs class probabilities) or ``"image-to-image"``.
    """

    name: str
    builder: Callable[..., keras.Model]
    paper: str = ""
    input_shape: tuple[int | None, int | None, int] = (None, None, 3)
    color_mode: str = "rgb"
    head: tuple[str, ...] = DEFAULT_HEAD
    split_before: tuple[str, ...] = ()
    test_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    large: bool = False
    task: str = "classification"

    @property
    def channels(self) -> int:
        """Channels of the default input."""
        return int(self.input_shape[-1])

    def summary(self) -> str:
        """The first line of the builder's docstring."""
        return (self.builder.__doc__ or "").strip().splitlines()[0] if self.builder.__doc__ \
            else ""


_REGISTRY: dict[str, ModelSpec] = {}
_LOADED = False


def register_model(
    name: str,
    *,
    input_shape: Sequence[int | None],
    paper: str = "",
    color_mode: str | None = None,
    head: Sequence[str] = DEFAULT_HEAD,
    split_before: Sequence[str] = (),
    test_kwargs: dict[str, Any] | None = None,
    large: bool = False,
    task: str = "classification",
) -> Callable[[Callable[..., keras.Model]], Callable[..., keras.Model]]:
    """Decorator registering a model builder under ``name`` with its metadata.

    Args:
        name: str. Registry name; must be unique.
        input_shape: the builder's default ``(height, width, channels)``.
        paper: str. Key of the source publication in :mod:`kerasdoc.papers`.
        color_mode: ``"grayscale"`` or ``"rgb"``; default: from the channels (1 or 3).
        head: layer-name prefixes of the classifier head.
        split_before: layer-name prefixes where the body's second group begins.
        test_kwargs: dict. Arguments for the test battery's non-default build.
        large: bool. Mark the model as slow to test.
        task: ``"classification"`` or ``"image-to-image"``.

    Returns:
        The decorator, which returns the builder unchanged.

    Example:
        >>> @register_model("doc_tiny_net", input_shape=(8, 8, 1))
        ... def build_tiny(input_shape=(8, 8, 1), num_classes=2, *, name="doc_tiny_net"):
        ...     x = keras.Input(input_shape, name="image")
        ...     y = keras.layers.Flatten(name="flatten")(x)
        ...     y = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(y)
        ...     return keras.Model(x, y, name=name)
        >>> model_spec("doc_tiny_net").color_mode
        'grayscale'
        >>> unregister_model("doc_tiny_net")
    """
    shape = tuple(None if d is None else int(d) for d in input_shape)
    if len(shape) != 3 or shape[-1] is None:
        raise ValueError(f"register_model({name!r}): input_shape must be (height, width, "
                         f"channels) with known channels. Received: input_shape={input_shape}")
    if color_mode is None:
        color_mode = {c: m for m, c in FILE_COLOR_MODES.items()}.get(shape[-1], "")
    if color_mode not in FILE_COLOR_MODES:
        raise ValueError(f"register_model({name!r}): color_mode must be "
                         f"{', '.join(FILE_COLOR_MODES)}. Received: color_mode={color_mode!r}")
    if task not in ("classification", "image-to-image"):
        raise ValueError(f"register_model({name!r}): task must be 'classification' or "
                         f"'image-to-image'. Received: task={task!r}")

    def decorator(fn: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        if name in _REGISTRY and _REGISTRY[name].builder is not fn:
            raise ValueError(f"A model named {name!r} is already registered "
                             f"(by {_REGISTRY[name].builder.__module__}).")
        _REGISTRY[name] = ModelSpec(name, fn, paper, shape, color_mode, tuple(head),
                                    tuple(split_before), dict(test_kwargs or {}), large, task)
        return fn

    return decorator


def unregister_model(name: str) -> None:
    """Remove ``name`` from the registry (for tests and notebooks that register throw-aways)."""
    _REGISTRY.pop(name, None)


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


def find_spec(model: keras.Model) -> ModelSpec | None:
    """The spec of the registered model ``model`` was built from (matched by its name), or None.

    Builders name their model after the registry entry by default; a model built with another
    ``name=`` is matched by the longest registered name it starts with (``resnet34_size48``).
    """
    _load_all()
    if model.name in _REGISTRY:
        return _REGISTRY[model.name]
    prefixes = [n for n in _REGISTRY if model.name.startswith(n + "_")]
    return _REGISTRY[max(prefixes, key=len)] if prefixes else None


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

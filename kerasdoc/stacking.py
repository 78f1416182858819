"""Stacked generalisation: member probabilities, the meta-classifier, the pipeline file, export.

Paper: Das et al. (2018), "Document Image Classification with Intra-Domain Transfer Learning and
Stacked Generalization of Deep Convolutional Neural Networks", as rebuilt in the blog: the softmax
outputs of 5 models (holistic, top, bottom, left, right) are concatenated and a 2-layer MLP
(``stacking_mlp``) learns from them on data the members were not trained on.

A trained pipeline is one JSON file (``pipeline.json``) naming its members' ``.keras`` files (each
with its model card, whose :class:`kerasdoc.generators.spec.ImageSpec` carries the member's crop)
and the
meta-classifier's file. From it:

* :func:`member_probabilities` runs the members on the training pipeline's own flows
  (one flow per member spec, in file order): ``[pages, members, classes]``;
* :func:`fit_stacker` trains the meta-classifier; :func:`stack_predict` applies it;
* :func:`export_pipeline` writes ONE SavedModel (``kerasdoc.export.export_for_serving`` with
  ``stacker=``): page bytes in, each page decoded once, the 5 crops and resizes, the 5 members
  and the meta-MLP inside the graph; outputs ``probabilities``, ``class_ids``, ``class_names``,
  ``member_probabilities`` and the top-k.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(40) % 4
    >>> x = np.full((40, 2, 4), 0.1, "float32"); x[np.arange(40), 0, y] = 0.7
    >>> meta = fit_stacker(x, y, epochs=30, batch_size=8, units=16, seed=0, jit_compile=False)
    >>> float((stack_predict(meta, x).argmax(-1) == y).mean())
    1.0
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasdoc.generators.epoch_arrays import EpochArrays
from kerasdoc.generators.spec import ImageSpec
from kerasdoc.keras_internals import build_before_fit

PIPELINE_FILE = "pipeline.json"


# --------------------------------------------------------------------------------------------
# Member probabilities, meta-features, splits
# --------------------------------------------------------------------------------------------

def prediction_flow(paths: Sequence[str], spec: ImageSpec, *, batch_size: int = 32):
    """A flow over image files, in order, with ``spec``: what a member is evaluated on.

    Args:
        paths: sequence of str. Image files (absolute, or relative to the working folder).
        spec: ImageSpec. The member's spec (size, colour, crop, scaling).
        batch_size: int. Defaults to 32.

    Returns:
        A ``generators`` flow yielding image batches only (no labels), not shuffled.
    """
    from kerasdoc.generators import ImageDataGenerator

    return ImageDataGenerator().flow_from_dataframe(
        {"filename": [str(p) for p in paths]}, None, y_col=None, class_mode=None,
        batch_size=batch_size, shuffle=False, spec=spec)


def member_probabilities(models: Sequence[keras.Model], specs: Sequence[ImageSpec],
                         paths: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
    """Each member's softmax output on the same pages, through its own spec's flow.

    Args:
        models: the members (holistic first, then the regions).
        specs: one ImageSpec per member (its model card's).
        paths: the pages.
        batch_size: int. Prediction batch. Defaults to 32.

    Returns:
        float32 ``[pages, members, classes]``.
    """
    if len(models) != len(specs):
        raise ValueError(f"Got {len(specs)} specs for {len(models)} members.")
    out = [np.asarray(m.predict(prediction_flow(paths, s, batch_size=batch_size), verbose=0),
                      np.float32) for m, s in zip(models, specs)]
    return np.stack(out, axis=1)


def meta_split(labels: Sequence[int], fraction: float = 0.5, seed: int = 0
               ) -> tuple[np.ndarray, np.ndarray]:
    """A seeded, stratified split of held-out pages into meta-train and meta-test halves.

    Paper: the blog trains the meta-classifier on the validation set and tests it on the test
    set; without a test label file the validation set is split in two (said so in the results).

    Args:
        labels: the held-out pages' labels.
        fraction: float. Share of each class in the meta-test part. Defaults to 0.5.
        seed: int. Split seed.

    Returns:
        ``(meta_train_indices, meta_test_indices)``.

    Example:
        >>> tr, te = meta_split([0, 0, 1, 1], seed=0)
        >>> len(tr), len(te)
        (2, 2)
    """
    from kerasdoc.generators.splits import stratified_split

    return stratified_split(np.asarray(labels), test_fraction=fraction, seed=seed)


def kfold_indices(labels: Sequence[int], folds: int, seed: int = 0) -> list[np.ndarray]:
    """Seeded, stratified k folds (index arrays) for out-of-fold stacking (scikit-learn's
    ``StratifiedKFold`` with shuffling).

    Args:
        labels: one label per sample.
        folds: int >= 2.
        seed: int.

    Returns:
        ``folds`` disjoint sorted index arrays covering every sample.

    Example:
        >>> labels = [0, 0, 0, 1, 1, 1]
        >>> folds = kfold_indices(labels, 3, seed=0)
        >>> [sorted(labels[i] for i in f) for f in folds]  # one page of each class per fold
        [[0, 1], [0, 1], [0, 1]]
        >>> sorted(i for f in folds for i in f.tolist())
        [0, 1, 2, 3, 4, 5]
    """
    import warnings

    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels).reshape(-1)
    if folds < 2:
        raise ValueError(f"folds must be >= 2. Received: folds={folds}")
    if folds > labels.size:
        raise ValueError(f"folds must be <= the number of samples ({labels.size}). "
                         f"Received: folds={folds}")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # a class smaller than `folds` is spread as far as it goes
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        return [np.sort(held).astype(np.int64)
                for _, held in splitter.split(np.zeros(labels.size), labels)]


# --------------------------------------------------------------------------------------------
# The meta-classifier
# --------------------------------------------------------------------------------------------

def fit_stacker(x: np.ndarray, y: Sequence[int], *, epochs: int = 20, batch_size: int = 32,
                lr: float = 1e-3, units: int = 256, dropout: float = 0.5, seed: int = 0,
                validation: tuple[np.ndarray, np.ndarray] | None = None,
                run: Any = None, jit_compile: bool | str = "auto",
                verbose: int = 0) -> keras.Model:
    """Train the ``stacking_mlp`` meta-classifier on member probabilities.

    Paper: Das et al. (2018) / the blog: a 2-layer MLP trained for 20 epochs on the members'
    softmax outputs for the validation pages.

    Args:
        x: float ``[pages, members, classes]`` member probabilities.
        y: labels.
        epochs: int. Defaults to 20 (the blog's).
        batch_size: int. Defaults to 32.
        lr: float. Adam learning rate. Defaults to 1e-3.
        units: int. Hidden width. Defaults to 256.
        dropout: float. Defaults to 0.5.
        seed: int. Build seed, and each epoch's shuffle order's (epoch k: a function of
            ``(seed, k)``, :class:`~kerasdoc.generators.epoch_arrays.EpochArrays`).
        validation: optional ``(x, y)`` monitored each epoch.
        run: a :class:`kerasdoc.runs.Run` (builds in its strategy scope) or None.
        jit_compile: Keras' ``compile(jit_compile=...)`` (XLA). Defaults to ``"auto"``.
        verbose: ``fit`` verbosity.

    Returns:
        The trained model; its history is ``model.stacking_history``.
    """
    from kerasdoc.models import get_model

    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int64)
    if x.ndim != 3 or len(x) != len(y):
        raise ValueError(f"x must be [pages, members, classes] with one label per page. "
                         f"Received: x.shape={x.shape}, {len(y)} labels")
    kwargs = dict(input_shape=(x.shape[1], x.shape[2], 1), num_classes=x.shape[2], units=units,
                  dropout=dropout)
    if run is not None:
        run.seed = seed
        model = run.build("stacking_mlp", **kwargs)
        run.compile(model, keras.optimizers.Adam(lr), "sparse_categorical_crossentropy",
                    jit_compile=jit_compile)
    else:
        keras.utils.set_random_seed(seed)
        model = get_model("stacking_mlp", **kwargs)
        model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy",
                      metrics=["accuracy"], jit_compile=jit_compile)
    val = None if validation is None else (np.asarray(validation[0], np.float32)[..., None],
                                           np.asarray(validation[1], np.int64))
    # each epoch in its own seeded order (Keras' own array feed repeats one order under a seed)
    feed = EpochArrays(x[..., None], y, batch_size=batch_size, seed=seed)
    build_before_fit(model, feed)  # one trace of the training step, not two
    hist = model.fit(feed, epochs=epochs, validation_data=val, verbose=verbose)
    model.stacking_history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    return model


def stack_predict(stacker: keras.Model, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """The meta-classifier's probabilities for member probabilities ``x`` ``[pages, m, k]``."""
    x = np.asarray(x, np.float32)
    return np.asarray(stacker.predict(x.reshape(-1, *stacker.input_shape[1:]),
                                      batch_size=batch_size, verbose=0), np.float32)


# --------------------------------------------------------------------------------------------
# The pipeline file, in-process prediction, export
# --------------------------------------------------------------------------------------------

def write_pipeline(path: str | Path, members: dict[str, str | Path], stacker_file: str | Path,
                   class_names: Sequence[str], **facts: Any) -> Path:
    """Write ``pipeline.json``: member name -> ``.keras`` file, the stacker file, the classes.

    Paths are stored relative to the pipeline file's folder, so the run folder can move.

    Args:
        path: str or Path. The JSON file.
        members: ordered mapping ``{"holistic": file, "top": file, ...}`` (the stacker's input
            rows follow this order).
        stacker_file: the meta-classifier's ``.keras`` file.
        class_names: one per class.
        **facts: JSON-safe extras (how the meta-learner was fitted, accuracies ...).

    Returns:
        The path written.
    """
    from kerasdoc.training.resilient import atomic_write_text

    path = Path(path)
    root = path.parent.resolve()

    def rel(p: str | Path) -> str:
        p = Path(p).resolve()
        return str(p.relative_to(root)) if root in p.parents else str(p)

    data = {"members": {k: rel(v) for k, v in members.items()}, "stacker": rel(stacker_file),
            "class_names": [str(c) for c in class_names], **facts}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2, default=str))
    return path


def read_pipeline(path: str | Path) -> dict[str, Any]:
    """Read ``pipeline.json`` (a file, or the folder holding it); paths made absolute.

    Raises:
        FileNotFoundError: no pipeline file, or a member / stacker file it names is missing.
        ValueError: a file that is not a pipeline description.
    """
    p = Path(path)
    if p.is_dir():
        p = p / PIPELINE_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p} is missing: expected the pipeline.json an rvl-cdip run "
                                "writes (members and stacker).")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        members = {k: (p.parent / v).resolve() for k, v in data["members"].items()}
        stacker = (p.parent / data["stacker"]).resolve()
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{p} is not a pipeline file (expected JSON with members and "
                         f"stacker): {e}") from e
    for f in [*members.values(), stacker]:
        if not f.is_file():
            raise FileNotFoundError(f"{p} names {f}, which does not exist.")
    data.update(members=members, stacker=stacker, path=p)
    return data


class StackedPipeline:
    """The trained members and meta-classifier, applied through the training pipeline's flows.

    Args:
        pipeline: path of ``pipeline.json`` (or its folder).

    Attributes:
        names: member names; models, specs: one per member; stacker; class_names.
    """

    def __init__(self, pipeline: str | Path):
        from kerasdoc.card import read_card
        from kerasdoc.models.weights import load_keras_model

        data = read_pipeline(pipeline)
        self.names = list(data["members"])
        self.models, self.specs = [], []
        for f in data["members"].values():
            m = load_keras_model(f, compile=False)
            self.models.append(m)
            self.specs.append(read_card(f, m).spec)
        self.stacker = load_keras_model(data["stacker"], compile=False)
        self.class_names = list(data["class_names"])
        self.data = data

    def predict_files(self, paths: Sequence[str], *, batch_size: int = 32
                      ) -> dict[str, np.ndarray]:
        """``{"probabilities": [n, k], "member_probabilities": [n, m, k]}`` for image files."""
        members = member_probabilities(self.models, self.specs, paths, batch_size=batch_size)
        return {"probabilities": stack_predict(self.stacker, members),
                "member_probabilities": members}


def export_pipeline(pipeline: str | Path, name: str, base_dir: str | Path = "saved_models",
                    version: int | None = None, *, top_k: int | None = 3,
                    verbose: bool = False) -> Path:
    """Export a trained stacked pipeline as ONE SavedModel for TF Serving.

    ``serving_default`` takes encoded page bytes, decodes each page once, runs the members'
    crops, resizes and scaling (their model cards' specs) and the members, then the
    meta-classifier; outputs ``probabilities`` (the stack's), ``class_ids``, ``class_names``,
    ``member_probabilities`` [batch, members, classes] and the top-k.

    Args:
        pipeline: ``pipeline.json`` or its folder.
        name: model name (``base_dir/name/<version>``).
        base_dir: model repository. Defaults to ``"saved_models"``.
        version: int or None (next free).
        top_k: int or None. Defaults to 3.
        verbose: let Keras print the endpoints.

    Returns:
        The version folder.
    """
    from kerasdoc.export import export_for_serving

    p = StackedPipeline(pipeline)
    return export_for_serving(p.models, name, base_dir, version, class_names=p.class_names,
                              spec=p.specs, top_k=top_k, stacker=p.stacker, verbose=verbose)


__all__ = ["PIPELINE_FILE", "StackedPipeline", "export_pipeline", "fit_stacker", "kfold_indices",
           "member_probabilities", "meta_split", "prediction_flow", "read_pipeline",
           "stack_predict", "write_pipeline"]

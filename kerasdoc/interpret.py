"""Interpretation of a trained classifier: top losses, confusion matrix, most-confused pairs,
class activation maps, Grad-CAM and the hand-made 3x3 kernel demo.

Paper: seeds/004 (Kendal, Persian OCR report): ``ClassificationInterpretation.from_learner`` then
``plot_top_losses(9)`` ("prediction / actual / loss / probability"), ``plot_confusion_matrix()``,
``most_confused(min_val=2)``; the heatmap of the last convolutional block averaged over its 512
channels, overlaid on the image (``hook_output`` / ``hooked_backward``); and the edge kernel
``[[0, -5/3, 1], [-5/3, -5/3, 1], [1, 1, 1]] / 6`` applied with ``F.conv2d``.

Example:
    >>> import keras, numpy as np
    >>> m = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(name="f"),
    ...                       keras.layers.Dense(3, activation="softmax", name="predictions")])
    >>> x, y = np.random.rand(12, 4, 4, 1).astype("float32"), np.arange(12) % 3
    >>> interp = Interpretation.from_model(m, (x, y), ["a", "b", "c"])
    >>> int(interp.confusion_matrix().sum())
    12
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kerasdoc.reporting import confusion_matrix, save_figure
from kerasdoc.reporting import plot_confusion_matrix as _plot_cm

EDGE_KERNEL = np.array([[0.0, -5 / 3, 1.0], [-5 / 3, -5 / 3, 1.0], [1.0, 1.0, 1.0]]) / 6


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _show(ax, image: np.ndarray) -> None:
    img = np.asarray(image, dtype="float32")
    lo, hi = float(img.min()), float(img.max())
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    ax.axis("off")


def predict_probs(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for images in memory, by direct calls in inference mode,
    ``batch_size`` at a time.

    For the small sets an experiment measures each of its models on (the Persian OCR stages'
    interpretation, the numeric-loss trials): each new model's ``model.predict`` traces its own
    function (a second or more for a ResNet), and TensorFlow printed "triggered tf.function
    retracing" from the fifth model on. The outputs are the same. Large sets, compiled (XLA)
    or distributed prediction: ``model.predict``.

    Example:
        >>> import keras, numpy as np
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
        >>> x = np.ones((5, 3), "float32")
        >>> bool(np.allclose(predict_probs(m, x, batch_size=2), m.predict(x, verbose=0), atol=1e-6))
        True
        >>> predict_probs(m, x[:0]).shape
        (0, 2)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    x = np.asarray(x)
    if x.dtype.kind == "f" and x.dtype != keras.config.floatx():
        x = x.astype(keras.config.floatx())  # as model.predict converts float arrays
    outs = [keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=False))
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0, *model.output_shape[1:]), "float32")


#: Images of a dataset an :class:`Interpretation` keeps from its pass: the highest-loss ones
#: (``plot_top_losses(9)`` and the heatmap of the worst) and the first.
KEPT_IMAGES = 16


class DatasetImages:
    """The images of a dataset by index, without holding them all in memory: the ones kept
    from the pass that measured the model (its first and its :data:`KEPT_IMAGES` highest-loss
    images); any other is read by one more pass of ``dataset`` (one pass for a whole
    :meth:`take`), so that pass must give the images in the same order: an unshuffled flow.

    Example:
        >>> import numpy as np, tensorflow as tf
        >>> x = np.arange(5, dtype="float32").reshape(5, 1, 1, 1)
        >>> imgs = DatasetImages(tf.data.Dataset.from_tensor_slices((x, x)).batch(2), 5, {0: x[0]})
        >>> len(imgs), float(imgs[0][0, 0, 0]), float(imgs[3][0, 0, 0])
        (5, 0.0, 3.0)
    """

    def __init__(self, dataset: tf.data.Dataset, n: int, kept: dict[int, np.ndarray]):
        self.dataset, self.n, self.kept = dataset, int(n), dict(kept)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i) -> np.ndarray:
        return self.take([i])[0]

    def take(self, indices: Sequence[int]) -> list[np.ndarray]:
        """The images at ``indices`` (one more pass for those not kept)."""
        idx = [int(i) + self.n if int(i) < 0 else int(i) for i in indices]
        bad = [i for i in idx if not 0 <= i < self.n]
        if bad:
            raise IndexError(f"image index {bad[0]} out of range for {self.n} images")
        missing, got = sorted(set(idx) - set(self.kept)), {}
        start = 0
        for batch in (self.dataset if missing else ()):
            xb = np.asarray(batch[0] if isinstance(batch, (tuple, list)) else batch)
            for i in missing:
                if start <= i < start + len(xb):
                    got[i] = xb[i - start].copy()  # not a view holding the whole batch
            start += len(xb)
            if start > missing[-1]:
                break
        if set(missing) - set(got):
            raise ValueError(f"the dataset gave {start} images on another pass, expected "
                             f"{self.n}: its images cannot be read again by index")
        return [self.kept[i] if i in self.kept else got[i] for i in idx]


def _arrays(data) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of ``(x, y)`` arrays."""
    if len(data) != 2:
        raise ValueError(f"data must be (x, y) or a dataset of (x, y) batches. Received a "
                         f"tuple of {len(data)}.")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} images, {len(y)} labels.")
    return x, y


def _stream(model: keras.Model, dataset: tf.data.Dataset
            ) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """One pass of a dataset of ``(x, y)`` batches through the model: ``(probs, labels, kept
    images)``, holding one batch of images at a time (a Persian OCR validation set at 352 px
    is ~15 GB of float32)."""
    probs, ys, kept, worst = [], [], {}, []  # worst: a min-heap of (loss, index)
    start = 0
    for batch in dataset:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ValueError("data must be a tf.data.Dataset of (x, y) batches (or a flow "
                             "with labels); received batches without labels.")
        xb, yb = np.asarray(batch[0]), np.asarray(batch[1])
        pb = np.asarray(predict_probs(model, xb, batch_size=max(len(xb), 1)), "float64")
        yb = yb.argmax(axis=1) if yb.ndim == 2 else yb.astype(int).reshape(-1)
        probs.append(pb)
        ys.append(yb)
        if start == 0 and len(xb):
            kept[0] = xb[0].copy()  # copies: a view would hold its whole batch in memory
        inside = (yb >= 0) & (yb < pb.shape[1])
        lb = -np.log(np.clip(pb[np.arange(len(yb)), np.where(inside, yb, 0)], 1e-12, 1.0))
        for j in np.argsort(-lb, kind="stable")[:KEPT_IMAGES]:
            i = start + int(j)
            item = (float(lb[j]), -i)  # ties: the earlier index stays
            if len(worst) < KEPT_IMAGES:
                heapq.heappush(worst, item)
            elif item > worst[0]:
                dropped = -heapq.heapreplace(worst, item)[1]
                if dropped != 0:  # the first image stays
                    kept.pop(dropped, None)
            else:
                continue
            kept[i] = xb[j].copy()
        start += len(xb)
    if not probs:
        raise ValueError("data gave no batches: nothing to interpret")
    return np.concatenate(probs), np.concatenate(ys), kept


@dataclass
class Interpretation:
    """Predictions, targets and losses of a model on a data set, computed once (fastai style).

    Paper: seeds/004 (``ClassificationInterpretation.from_learner(learn)``).

    Attributes:
        probs: (n, n_classes) predicted probabilities.
        targets: (n,) true class indices.
        losses: (n,) cross-entropy of each sample.
        class_names: names of the classes, by index.
        images: (n, ...) the images (for the top-losses plot), or None: the array given, or
            for a dataset a :class:`DatasetImages` (indexable; holds the first and the
            :data:`KEPT_IMAGES` highest-loss images, reads others by another pass).
        model: the model (for heatmaps).
    """

    probs: np.ndarray
    targets: np.ndarray
    losses: np.ndarray
    class_names: list[str]
    images: np.ndarray | DatasetImages | None = None
    model: keras.Model | None = None

    @classmethod
    def from_model(cls, model: keras.Model, data, class_names: Sequence[str] | None = None, *,
                   batch_size: int = 64) -> Interpretation:
        """Run ``model`` over ``data`` once and keep predictions, targets and losses (of a
        dataset, one batch of images at a time: not all its images, see ``images``).

        Args:
            model: keras.Model with a softmax output.
            data: ``(x, y)`` arrays (``y`` class indices) or a ``tf.data.Dataset`` of
                ``(x, y)`` batches (or an object with ``.dataset``).
            class_names: names by class index (default: "0", "1", ...).
            batch_size: int. Images per call of the model for arrays (a dataset's own
                batches otherwise). Defaults to 64.

        Returns:
            An :class:`Interpretation`.

        Example:
            See the module docstring.
        """
        if isinstance(data, tuple):
            x, y = _arrays(data)
            images: Any = x
            probs = np.asarray(predict_probs(model, x, batch_size), dtype="float64")
        else:
            if hasattr(data, "dataset"):  # a flow: one pass (iterating the flow never ends)
                data = data.dataset
            if not isinstance(data, tf.data.Dataset):
                raise ValueError(f"data must be (x, y) arrays or a tf.data.Dataset of (x, y) "
                                 f"batches. Received: {type(data).__name__}")
            probs, y, kept = _stream(model, data)
            images = DatasetImages(data, len(y), kept)
        if probs.ndim != 2:
            raise ValueError(f"Expected (n, n_classes) predictions; got shape {probs.shape}.")
        n_classes = probs.shape[1]
        y = np.asarray(y).astype(int).reshape(-1)
        if len(y) != len(probs):
            raise ValueError(f"{len(y)} labels for {len(probs)} predictions.")
        if y.min(initial=0) < 0 or y.max(initial=0) >= n_classes:
            raise ValueError(f"Labels must be in [0, {n_classes}); found {y.min()}..{y.max()}.")
        names = [str(c) for c in class_names] if class_names is not None else [
            str(i) for i in range(n_classes)]
        if len(names) != n_classes:
            raise ValueError(f"{len(names)} class names for a model with {n_classes} outputs: "
                             f"{names}")
        losses = -np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))
        return cls(probs, y, losses, names, images, model)

    @property
    def preds(self) -> np.ndarray:
        """Predicted class indices."""
        return self.probs.argmax(axis=1)

    def error_rate(self) -> float:
        """Fraction of wrong predictions."""
        return float(np.mean(self.preds != self.targets))

    def top_losses(self, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` largest losses and their sample indices, largest first (fastai order)."""
        order = np.argsort(-self.losses, kind="stable")
        if k is not None:
            order = order[:k]
        return self.losses[order], order

    def confusion_matrix(self) -> np.ndarray:
        """Counts, rows actual and columns predicted."""
        return confusion_matrix(self.targets, self.preds, len(self.class_names))

    def most_confused(self, min_val: int = 1) -> list[tuple[str, str, int]]:
        """``[(actual, predicted, count), ...]`` off the diagonal, count >= ``min_val``,
        most frequent first (fastai ``most_confused``)."""
        cm = self.confusion_matrix()
        np.fill_diagonal(cm, 0)
        pairs = [(self.class_names[i], self.class_names[j], int(cm[i, j]))
                 for i, j in zip(*np.nonzero(cm >= max(min_val, 1)))]
        return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))

    def classification_report(self, *, as_dict: bool = False) -> str | dict[str, Any]:
        """scikit-learn's per-class precision / recall / F1 report."""
        from sklearn.metrics import classification_report

        return classification_report(self.targets, self.preds,
                                     labels=list(range(len(self.class_names))),
                                     target_names=self.class_names, zero_division=0,
                                     output_dict=as_dict, digits=4)

    def plot_confusion_matrix(self, path: str | Path, *, normalize: bool = False,
                              title: str = "Confusion matrix") -> Path:
        """Save the confusion matrix (``kerasdoc.reporting.plot_confusion_matrix``)."""
        return _plot_cm(self.confusion_matrix(), self.class_names, path, title=title,
                        normalize=normalize)

    def plot_top_losses(self, k: int, path: str | Path, *, heatmap: bool = False,
                        cols: int = 3) -> Path:
        """Save a grid of the ``k`` worst samples titled prediction / actual / loss / probability.

        Args:
            k: int. Number of samples.
            path: where to save the PNG.
            heatmap: bool. Overlay the Grad-CAM heatmap of the predicted class.
            cols: int. Columns in the grid. Defaults to 3.

        Returns:
            The PNG's path.
        """
        if self.images is None:
            raise ValueError("plot_top_losses needs the images: build the Interpretation from "
                             "(x, y) arrays or a dataset.")
        plt = _pyplot()
        losses, idx = self.top_losses(k)
        rows = max(1, int(np.ceil(len(idx) / cols)))
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows), squeeze=False)
        for ax in axes.ravel():
            ax.axis("off")
        images = (self.images.take(idx) if isinstance(self.images, DatasetImages)
                  else [self.images[i] for i in idx])  # one more pass at most, for a dataset
        for ax, i, loss, image in zip(axes.ravel(), idx, losses, images):
            _show(ax, image)
            pred = int(self.preds[i])
            if heatmap and self.model is not None:
                hm = grad_cam(self.model, image, class_index=pred)
                h, w = image.shape[:2]
                ax.imshow(hm, alpha=0.6, extent=(0, w, h, 0), interpolation="bilinear",
                          cmap="magma")
            ax.set_title(f"{self.class_names[pred]}/{self.class_names[self.targets[i]]}/"
                         f"{loss:.2f}/{self.probs[i, self.targets[i]]:.2f}", fontsize=9)
        fig.suptitle("prediction/actual/loss/probability")
        return save_figure(fig, path, dpi=100)


def last_conv_layer(model: keras.Model) -> str:
    """Name of the last layer with a 4-D (N, H, W, C) output: the last convolutional block."""
    for layer in reversed(model.layers):
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and not isinstance(layer, keras.layers.InputLayer):
            return layer.name
    raise ValueError(f"Model {model.name!r} has no layer with a 4-D (N, H, W, C) output.")


def _single_input(model: keras.Model):
    if len(model.inputs) != 1:
        raise ValueError(f"Model {model.name!r} must have one image input; it has "
                         f"{len(model.inputs)}.")
    return model.inputs[0]


def _prep(image) -> np.ndarray:
    img = np.asarray(image, dtype="float32")
    if img.ndim == 3:
        img = img[None]
    if img.ndim != 4 or img.shape[0] != 1:
        raise ValueError(f"Expected one image (H, W, C) or (1, H, W, C); got shape {img.shape}.")
    return img


def activation_map(model: keras.Model, image, *, layer_name: str | None = None) -> np.ndarray:
    """The report's heatmap: the last conv block's activations averaged over channels.

    Paper: seeds/004 (``acts = hook_a.stored[0]; avg_acts = acts.mean(0)``: an 11x11 map at
    352 px for ResNet-34).

    Args:
        model: keras.Model.
        image: one image, (H, W, C) or (1, H, W, C), preprocessed as the model expects.
        layer_name: str. The layer to read (default: :func:`last_conv_layer`).

    Returns:
        A (h, w) float array (the layer's grid, not resized).

    Example:
        >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c")])
        >>> activation_map(m, np.ones((8, 8, 1))).shape
        (6, 6)
    """
    name = layer_name or last_conv_layer(model)
    sub = keras.Model(_single_input(model), model.get_layer(name).output)
    acts = np.asarray(sub(_prep(image), training=False))[0]
    return acts.mean(axis=-1)


def grad_cam(model: keras.Model, image, *, class_index: int | None = None,
             layer_name: str | None = None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): channels weighted by the mean gradient of the class
    score, summed, ReLU, scaled to [0, 1].

    Paper: seeds/004 (``hooked_backward`` stores the activations and the gradient of
    ``preds[0, cat]`` at the last conv block). The class score is the ``logits`` layer's output
    where the model has one (the pre-softmax score, as in the report), else the output.

    Args:
        model: keras.Model.
        image: one image, (H, W, C) or (1, H, W, C).
        class_index: int. Class to explain (default: the predicted one).
        layer_name: str. The conv layer (default: :func:`last_conv_layer`).

    Returns:
        A (h, w) float array in [0, 1].

    Example:
        >>> m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, name="c"),
        ...                       keras.layers.GlobalAveragePooling2D(name="p"),
        ...                       keras.layers.Dense(2, name="logits")])
        >>> float(grad_cam(m, np.random.rand(8, 8, 1)).max()) <= 1.0
        True
    """
    name = layer_name or last_conv_layer(model)
    names = {layer.name for layer in model.layers}
    score_out = model.get_layer("logits").output if "logits" in names else model.outputs[0]
    sub = keras.Model(_single_input(model), [model.get_layer(name).output, score_out])
    x = tf.constant(_prep(image))
    with tf.GradientTape() as tape:
        acts, scores = sub(x, training=False)
        if class_index is None:
            class_index = int(tf.argmax(scores[0]))
        if not 0 <= class_index < scores.shape[-1]:
            raise ValueError(f"class_index must be in [0, {scores.shape[-1]}). "
                             f"Received: class_index={class_index}")
        score = scores[0, class_index]
    grads = tape.gradient(score, acts)[0].numpy()
    acts = acts[0].numpy()
    weights = grads.mean(axis=(0, 1))
    cam = np.maximum((acts * weights).sum(axis=-1), 0)
    return cam / cam.max() if cam.max() > 0 else cam


def plot_heatmap(image, heatmap: np.ndarray, path: str | Path, *, title: str = "") -> Path:
    """Save ``image`` with ``heatmap`` overlaid (bilinear, magma, alpha 0.6), as the report."""
    plt = _pyplot()
    img = np.asarray(image)
    if img.ndim == 4:
        img = img[0]
    h, w = img.shape[:2]
    fig, ax = plt.subplots(figsize=(4, 4))
    _show(ax, img)
    ax.imshow(heatmap, alpha=0.6, extent=(0, w, h, 0), interpolation="bilinear", cmap="magma")
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, path, dpi=100)


def apply_kernel(image, kernel=EDGE_KERNEL, path: str | Path | None = None) -> np.ndarray:
    """Convolve an image with a hand-made 3x3 kernel, summed over channels (``F.conv2d(t, k)``).

    Paper: seeds/004 ("Convolution kernel": ``k = tensor([[0, -5/3, 1], [-5/3, -5/3, 1],
    [1, 1, 1]]).expand(1, 3, 3, 3) / 6``; ``edge = F.conv2d(t[None], k)``; ``show_image(edge)``).
    No padding, stride 1, as ``F.conv2d``: an (H, W) image gives (H - 2, W - 2).

    Args:
        image: (H, W) or (H, W, C) array.
        kernel: (3, 3) array, applied to every channel and summed. Defaults to the report's.
        path: str or Path. If given, the filtered image is saved there as a PNG.

    Returns:
        The (H - kh + 1, W - kw + 1) filtered image (float32).

    Example:
        >>> img = np.zeros((6, 6, 3)); img[:, 3:] = 1.0
        >>> apply_kernel(img).shape
        (4, 4)
    """
    img = np.asarray(image, dtype="float32")
    if img.ndim == 2:
        img = img[..., None]
    k = np.asarray(kernel, dtype="float32")
    if img.ndim != 3 or k.ndim != 2:
        raise ValueError(f"Expected an (H, W[, C]) image and a 2-D kernel; got shapes {img.shape}"
                         f" and {k.shape}.")
    if img.shape[0] < k.shape[0] or img.shape[1] < k.shape[1]:
        raise ValueError(f"Image {img.shape[:2]} is smaller than the kernel {k.shape}.")
    k4 = np.repeat(k[:, :, None, None], img.shape[-1], axis=2)
    out = tf.nn.conv2d(img[None], k4, strides=1, padding="VALID").numpy()[0, :, :, 0]
    if path is not None:
        plt = _pyplot()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        plt.imsave(path, out, cmap="gray")
    return out

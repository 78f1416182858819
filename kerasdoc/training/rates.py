"""Learning-rate values as the command line writes them, and the one-cycle presets.

TensorFlow-free (``kerasdoc reproduce persian-ocr --help`` reads them without starting
TensorFlow); :mod:`kerasdoc.training.schedule` re-exports them.
"""

from __future__ import annotations

from collections.abc import Sequence

#: One-cycle defaults by name. ``"kerasdoc"`` (the default of :func:`fit_one_cycle`): warm-up
#: over 25% of the steps, end at ``lr_max / 1e4``. ``"fastai-v1"``: fastai v1.0's
#: ``fit_one_cycle`` (the version of the Persian OCR report): ``pct_start=0.3``, ``div_factor=25``
#: and ``final_div = div_factor * 1e4 = 2.5e5``.
ONE_CYCLE_PRESETS: dict[str, dict[str, float]] = {
    "kerasdoc": {"div": 25.0, "pct_start": 0.25, "final_div": 1e4},
    "fastai-v1": {"div": 25.0, "pct_start": 0.3, "final_div": 2.5e5},
}


def parse_lr(text: str | float) -> float | slice:
    """A learning rate from the command line: a number, or fastai's ``slice`` for
    discriminative rates.

    Accepts ``"3e-3"``, ``"slice(1e-6, 1e-4)"`` (first layer group 1e-6, head 1e-4, geometric
    in between), ``"slice(1e-3)"`` (head 1e-3, the other groups 1e-3 / 10, as fastai) and the
    short form ``"1e-6:1e-4"``.

    Example:
        >>> parse_lr("slice(1e-6, 1e-4)"), parse_lr("3e-3"), parse_lr("slice(1e-3)")
        (slice(1e-06, 0.0001, None), 0.003, slice(None, 0.001, None))
    """
    if isinstance(text, int | float):
        return float(text)
    t = str(text).strip().replace(" ", "")
    try:
        if t.startswith("slice(") and t.endswith(")"):
            parts = [p for p in t[6:-1].split(",") if p]
            if len(parts) == 1:
                return slice(float(parts[0]))
            if len(parts) == 2:
                return slice(float(parts[0]), float(parts[1]))
        elif ":" in t:
            a, b = t.split(":")
            return slice(float(a), float(b))
        else:
            return float(t)
    except ValueError:
        pass
    raise ValueError(f"A learning rate must be a number, slice(END), slice(START, END) or "
                     f"START:END. Received: {text!r}")


def lr_text(lr: float | slice | Sequence[float]) -> str:
    """``lr`` as the command line writes it (``slice(1e-06, 0.0001)``)."""
    if isinstance(lr, slice):
        return f"slice({lr.stop:g})" if lr.start is None else f"slice({lr.start:g}, {lr.stop:g})"
    if isinstance(lr, int | float):
        return f"{lr:g}"
    return "[" + ", ".join(f"{v:g}" for v in lr) + "]"

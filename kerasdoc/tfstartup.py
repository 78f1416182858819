"""TensorFlow's start-up lines kept off the console, real errors kept.

What TensorFlow 2.21 prints on a machine without a GPU, measured with both wheels (the full
``tensorflow`` and ``tensorflow-cpu``), ``TF_CPP_MIN_LOG_LEVEL=2``:

* at import, before ``absl::InitializeLog()`` (so whatever ``TF_CPP_MIN_LOG_LEVEL`` says):
  ``WARNING: All log messages before absl::InitializeLog() is called are written to STDERR`` and,
  with the full wheel, ``I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your
  machine, GPU will not be used.`` (twice); at level 0 or 1 also ``cpu_feature_guard.cc`` lines;
* when the devices are first listed (the first op, a strategy, ``list_physical_devices``), with
  the full wheel: ``E0000 ... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error:
  Failed call to cuInit: UNKNOWN ERROR (303)``. It is an error-level line, so level 2 shows it;
  ``CUDA_VISIBLE_DEVICES=""`` or ``-1`` does not stop it (measured); level 3 would, and would
  hide every real error too.

:func:`import_tensorflow_quietly` imports TensorFlow and lists its physical devices (which does
not initialise the runtime: strategies and logical devices can still be configured) with file
descriptor 2 sent to a temporary file, then writes back every line that is not start-up noise:
the absl preamble; info and warning lines the ``TF_CPP_MIN_LOG_LEVEL`` in force (default 2)
hides; the few known error-level start-up lines (:data:`KNOWN_NOISE`); and the ``cuInit``
failure only where the machine has no NVIDIA device files (``/dev/nvidia*``): where it has some,
a failing ``cuInit`` is a real error and is shown. The ``kerasdoc`` command calls it before every
command that needs TensorFlow.

Example:
    >>> kept = quiet_lines(["W0000 00:00:1.0 123 x.cc:1] a warning", "real trouble"],
    ...                    min_level=2, gpu_device_files=False)
    >>> kept
    ['real trouble']
"""

from __future__ import annotations

import glob
import logging
import os
import re
import sys
from collections.abc import Iterable

#: Error-level (or unlevelled) lines TensorFlow prints at start-up on healthy machines.
KNOWN_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "Could not find cuda drivers on your machine",
    "Unable to register cuDNN factory", "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "oneDNN custom operations are on",
)
#: The ``cuInit`` failure: noise without a GPU, a real error with one.
CUINIT = "failed call to cuInit"
#: absl's line prefix: level letter, date, time, thread, file:line]
_ABSL = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+\s+\d+ [^\]]+\] ")
_LEVELS = {"I": 0, "W": 1, "E": 2, "F": 3}


def has_gpu_device_files() -> bool:
    """True where NVIDIA's device files exist (a GPU and its driver are there)."""
    return bool(glob.glob("/dev/nvidia[0-9]*") or os.path.exists("/dev/nvidiactl"))


def min_log_level() -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as TensorFlow reads it (0 when unset or not a number)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def quiet_lines(lines: Iterable[str], *, min_level: int | None = None,
                gpu_device_files: bool | None = None) -> list[str]:
    """The lines of captured start-up output that are not noise (see the module docstring)."""
    level = min_log_level() if min_level is None else min_level
    gpu = has_gpu_device_files() if gpu_device_files is None else gpu_device_files
    kept = []
    for line in lines:
        if not line.strip() or any(n in line for n in KNOWN_NOISE):
            continue
        if CUINIT in line and not gpu:
            continue
        m = _ABSL.match(line)
        if m and _LEVELS[m.group(1)] < level:
            continue
        kept.append(line)
    return kept


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and list its devices without start-up lines on stderr.

    Sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless it is set. Does nothing when TensorFlow is already
    imported. Raises ``ModuleNotFoundError`` (after writing back what was captured) when there is
    no TensorFlow.
    """
    if "tensorflow" in sys.modules:
        return
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the platforms' first (noisy) initialisation
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
            for line in quiet_lines(text.splitlines()):
                print(line, file=sys.stderr)


#: TensorFlow's warning when a ``tf.function`` traced five times within its last ten calls.
RETRACING = "triggered tf.function retracing"


class TrainerRetracingFilter(logging.Filter):
    """Drops TensorFlow's "retracing" warning about Keras' own trainer functions.

    TensorFlow counts traces per Python function, and Keras 3 traces the same function
    (``TensorFlowTrainer``'s ``multi_step_on_iterator``, ``one_step_on_data_distributed``) once
    for each new model's ``fit``, ``evaluate`` and ``predict``. A run that trains several small
    models, each for a few calls (a quick experiment, stages, trials), is reported as
    "retracing" although every trace is a new model's first. Other retracing warnings (a
    user's own ``tf.function``) pass. :class:`kerasdoc.runs.Run` installs it on TensorFlow's
    logger while the run is open.

    Example:
        >>> import logging
        >>> def rec(fn):
        ...     msg = f"5 out of the last 5 calls to <function {fn}> triggered {RETRACING}."
        ...     return logging.LogRecord("tensorflow", logging.WARNING, "", 0, msg, (), None)
        >>> f = TrainerRetracingFilter()
        >>> f.filter(rec("TensorFlowTrainer._make_function.<locals>.multi_step_on_iterator"))
        False
        >>> f.filter(rec("my_step"))
        True
    """

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (RETRACING in msg and "TensorFlowTrainer" in msg)

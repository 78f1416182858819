"""Trials trained several at once, each in a worker process: :class:`TrialWorkers`.

Small models do not keep two CPU cores busy: TensorFlow spreads each op of a 28 x 28 digit
model over the cores and waits for the slowest, so one trial at a time used ~1.4-1.8 of two
cores (the numeric-loss experiment's DNN, RNN and CNN). :class:`TrialWorkers` trains ``jobs``
trials at once, each in a spawned worker process with its share of the cores as TensorFlow
threads (:func:`threads_per_worker`); results come back in the order the trials were given.
A trial's numbers depend on its thread count only where an op's float sums are split by thread
(the CNN's convolutions under oneDNN; the DNN and the LSTM gave the same weights with one
thread as with two, ``tests/test_training_workers.py``).

This module imports no TensorFlow: a worker unpickles it before anything else, and imports
TensorFlow itself, quietly (:func:`kerasdoc.tfstartup.import_tensorflow_quietly`), with its
thread counts set before TensorFlow starts its runtime.

Example:
    >>> threads_per_worker(2, cores=2), threads_per_worker(2, cores=16)
    (1, 8)
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def children_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process's child processes that have ended and been
    waited for (worker processes, once their pool is shut down); 0.0 where the OS does not say
    (no ``resource`` module: Windows).

    Example:
        >>> children_cpu_seconds() >= 0.0
        True
    """
    try:
        import resource
    except ImportError:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def threads_per_worker(jobs: int, cores: int | None = None) -> int:
    """TensorFlow threads (intra- and inter-op) of each of ``jobs`` workers: the usable cores
    shared out, at least one.

    Example:
        >>> threads_per_worker(2, cores=2), threads_per_worker(2, cores=16), threads_per_worker(
        ...     4, cores=2)
        (1, 8, 1)
    """
    if int(jobs) < 1:
        raise ValueError(f"jobs must be a positive integer. Received: jobs={jobs!r}")
    return max(1, (usable_cores() if cores is None else int(cores)) // int(jobs))


def tensorflow_threads() -> tuple[int, int]:
    """This process's TensorFlow (intra-op, inter-op) thread settings (0: TensorFlow's choice):
    in a worker, what :class:`TrialWorkers` set.

    Example:
        >>> all(n >= 0 for n in tensorflow_threads())
        True
    """
    import tensorflow as tf

    return (tf.config.threading.get_intra_op_parallelism_threads(),
            tf.config.threading.get_inter_op_parallelism_threads())


def _exit_with(parent: int, every: float = 0.5) -> None:
    """End this process once ``parent`` is no longer its parent (killed: a worker of a killed
    run does not train on, nor wait for work, as an orphan)."""
    import threading
    import time

    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="kerasdoc-parent-watch", daemon=True).start()


def _start_worker(parent: int, threads: int, setup: str | None, setup_args: tuple) -> None:
    """A worker's start: a watch on its parent, TensorFlow imported quietly with ``threads``
    threads, then ``setup`` (``"module:function"``, imported only now: its module may import
    TensorFlow)."""
    _exit_with(parent)
    from kerasdoc.tfstartup import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    if setup is not None:
        _named(setup)(*setup_args)


def _named(name: str) -> Callable[..., Any]:
    """The function ``"module:function"`` (imported by its module's name: the same module
    object whether the caller's script ran as ``__main__`` or not)."""
    _check_name(name)
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def _check_name(name: str) -> None:
    module, sep, attr = name.partition(":") if isinstance(name, str) else ("", "", "")
    if not sep or not module or not attr:
        raise ValueError(f"A worker function is named 'module:function'. Received: {name!r}")


def _call(fn: str, call: dict[str, Any]) -> Any:
    return _named(fn)(**call)


class TrialWorkers:
    """Trials trained ``jobs`` at a time in spawned worker processes (module docstring).

    Each worker imports TensorFlow with ``threads`` threads (default:
    :func:`threads_per_worker`), then runs ``setup(*setup_args)`` once: ``setup`` names a
    module-level function as ``"module:function"`` (so does :meth:`map`'s ``fn``); it keeps
    what every trial needs, such as the data and a :class:`kerasdoc.runs.Run`, in its module.
    :meth:`map` runs ``fn(**call)`` per call and yields the results in the calls' order as
    they finish. Leaving the ``with`` block on an exception (Ctrl-C included) stops the
    workers at once and drops the trials not yet started; a worker that dies (killed, out of
    memory) raises ``RuntimeError`` naming the trial it was running; a worker whose parent was
    killed ends within a second.

    Args:
        jobs: int >= 1. Worker processes.
        setup: ``"module:function"`` run once in each worker, before any trial (None: none).
        *setup_args: its arguments (pickled to each worker).
        threads: TensorFlow threads per worker; None: :func:`threads_per_worker`.
    """

    def __init__(self, jobs: int, setup: str | None = None, *setup_args: Any,
                 threads: int | None = None):
        self.jobs = int(jobs)
        if self.jobs < 1:
            raise ValueError(f"jobs must be a positive integer. Received: jobs={jobs!r}")
        if setup is not None:
            _check_name(setup)
        self.threads = threads_per_worker(self.jobs) if threads is None else int(threads)
        if self.threads < 1:
            raise ValueError(f"threads must be a positive integer. Received: {threads!r}")
        self._pool = ProcessPoolExecutor(
            self.jobs, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(os.getpid(), self.threads, setup, setup_args))

    def __enter__(self) -> TrialWorkers:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None:
            # interrupted (Ctrl-C) or failed: the trials running now stop at once, as a killed
            # run does (each resumes from its own backup next time), and the queued ones are
            # dropped; waiting for them would keep a Ctrl-C waiting for whole trials
            processes = getattr(self._pool, "_processes", None) or {}  # the pool's own
            for process in list(processes.values()):
                process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)

    def map(self, fn: str, calls: Sequence[dict[str, Any]],
            names: Sequence[str] | None = None) -> Iterator[Any]:
        """``fn(**call)`` for each call, ``jobs`` at a time (submitted now); the results in the
        calls' order, as they finish.

        Args:
            fn: ``"module:function"``, a module-level function.
            calls: keyword arguments of each call.
            names: each call's name for errors (default: its position).
        """
        _check_name(fn)
        futures = [self._pool.submit(_call, fn, call) for call in calls]
        return self._results(futures, names)

    @staticmethod
    def _results(futures: list, names: Sequence[str] | None) -> Iterator[Any]:
        for k, future in enumerate(futures):
            try:
                yield future.result()
            except BrokenProcessPool as e:
                name = names[k] if names is not None else f"call {k}"
                raise RuntimeError(f"A trial worker process ended abruptly while running "
                                   f"{name} (killed, out of memory, or its start failed: "
                                   f"{e}); finished trials are kept: run the same command "
                                   "again to resume.") from e

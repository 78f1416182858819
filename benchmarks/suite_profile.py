"""Where the test suite's CPU goes: a summary of a py-spy sampling profile of the whole suite.

Record (py-spy samples every Python thread of pytest, its xdist workers and every process they
start; ``pip install py-spy``), then summarise::

    py-spy record --subprocesses -r 25 -f raw -o suite.raw -- python -m pytest -n 2
    python -m benchmarks.suite_profile suite.raw

It prints the share of samples spent tracing graphs (under TensorFlow's ``trace_function``),
importing modules, and elsewhere; the processes that are neither pytest nor its workers (CLI
runs, notebook kernels, fresh-process checks) by command line; the test files by samples; and
a few named costs inside tracing (optimizer updates, the Python stack TensorFlow records for
each graph op). A sample is 1/rate seconds of one thread, running or waiting (py-spy leaves out
threads it finds idle, not every wait).

Example:
    >>> top = 'process 1:"python -m pytest";process 2:"python -c x";'
    >>> raw = (top + 't (tests/test_a.py:3);trace_function (t.py:1);update_step (adam.py:2) 3\\n'
    ...        + top + '_find_and_load (<frozen>:1) 1\\n')
    >>> s = summarise(records(raw))
    >>> s["total"], s["kinds"]["trace"], s["kinds"]["import"], s["files"]["test_a.py"]
    (4, 3, 1, 3)
"""

from __future__ import annotations

import argparse
import collections
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Named costs inside tracing: a label and a pattern searched in the stack's frames.
INSIDE_TRACING = {
    "Keras Adam update_step": r"Adam\.update_step \(.*adam\.py",
    "kerasdoc DiscriminativeAdam update_step": r"DiscriminativeAdam\.update_step",
    "optimizer apply_gradients (all)": r"apply_gradients",
    "TensorFlow recording each op's Python stack (tf_stack.extract_stack)": r"extract_stack",
    "SavedModel / export": r"saved_model|export_archive|export_for_serving",
}
_TEST_FILE = re.compile(r"\((?:tests/)?(test_\w+\.py):\d+\)")
_PROCESS = re.compile(r'process \d+:"([^"]*)"')


def records(text: str) -> Iterator[tuple[str, int]]:
    """``(stack, samples)`` of py-spy's raw (collapsed) output; a process's command line may
    span lines (``python -c`` code), so a record ends at a line ending in its sample count."""
    buf: list[str] = []
    for line in text.splitlines():
        buf.append(line)
        stack, _, count = line.rpartition(" ")
        if count.isdigit() and stack:
            yield " ".join(buf)[: -len(count) - 1], int(count)
            buf = []


def kind(stack: str) -> str:
    """``trace`` (building a graph), ``import`` or ``other``."""
    if "trace_function" in stack or "func_graph_from_py_func" in stack:
        return "trace"
    if "_find_and_load" in stack:
        return "import"
    return "other"


def summarise(recs: Iterable[tuple[str, int]]) -> dict:
    """Samples in total, per kind, per test file (the innermost ``tests/test_*.py`` frame of
    pytest's workers), per started process (by command line) and per named cost in tracing."""
    total = 0
    kinds: collections.Counter = collections.Counter()
    files: collections.Counter = collections.Counter()
    started: collections.Counter = collections.Counter()
    started_imports: collections.Counter = collections.Counter()
    inside: collections.Counter = collections.Counter()
    for stack, n in recs:
        total += n
        k = kind(stack)
        kinds[k] += n
        procs = _PROCESS.findall(stack)
        if len(procs) >= 3:  # pytest -> worker -> a process a test started
            cmd = re.sub(r"/tmp/pytest-of-\w+/pytest-\d+/popen-gw\d+/", "", procs[-1])[:90]
            started[cmd] += n
            if k == "import":
                started_imports[cmd] += n
        else:
            tests = _TEST_FILE.findall(stack)
            files[tests[-1] if tests else "(no test frame)"] += n
        if k == "trace":
            for label, pattern in INSIDE_TRACING.items():
                if re.search(pattern, stack):
                    inside[label] += n
    return {"total": total, "kinds": kinds, "files": files, "started": started,
            "started_imports": started_imports, "inside_tracing": inside}


def report(s: dict, rate: float, top: int = 20) -> str:
    """The summary as text: samples, seconds (at ``rate`` samples a second) and shares."""
    total = max(s["total"], 1)

    def row(label: str, n: int) -> str:
        return f"  {n:7d} {n / rate:8.1f} s {100 * n / total:5.1f}%  {label}"

    out = [f"{s['total']} samples ({s['total'] / rate:.0f} s of Python threads at {rate:g}/s)",
           "by kind:", *(row(k, n) for k, n in s["kinds"].most_common()),
           "inside tracing:", *(row(k, n) for k, n in s["inside_tracing"].most_common()),
           f"processes the tests started ({sum(s['started'].values())} samples, of which "
           f"importing {sum(s['started_imports'].values())}):",
           *(row(k, n) for k, n in s["started"].most_common(top)),
           "test files (pytest's workers):", *(row(k, n) for k, n in s["files"].most_common(top))]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("raw", type=Path, help="py-spy record -f raw output")
    p.add_argument("--rate", type=float, default=25.0, help="py-spy's -r (samples a second)")
    p.add_argument("--top", type=int, default=20)
    args = p.parse_args(argv)
    s = summarise(records(args.raw.read_text(errors="replace")))
    print(report(s, args.rate, args.top))
    return s


if __name__ == "__main__":
    main()

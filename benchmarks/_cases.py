"""The table the repeated-case benchmarks print (``benchmarks.trials``, ``benchmarks.trial_jobs``):
per case the median wall and CPU seconds of its rounds and their ratios to a reference case."""

from __future__ import annotations

import statistics


def print_medians(rows: dict[str, list], reference: str) -> None:
    """``rows``: per case, one ``(wall s, CPU s, ...)`` per round; printed in ``rows``' order as
    ``case | wall s (median) | CPU s (median) | wall ratio | CPU ratio``."""
    def medians(case: str) -> tuple[float, float]:
        return (statistics.median(r[0] for r in rows[case]),
                statistics.median(r[1] for r in rows[case]))

    ref_wall, ref_cpu = medians(reference)
    print("case | wall s (median) | CPU s (median) | wall ratio | CPU ratio")
    for case in rows:
        wall, cpu = medians(case)
        print(f"{case} | {wall:.2f} | {cpu:.2f} | {wall / ref_wall:.2f} | {cpu / ref_cpu:.2f}")

"""Reporting: result tables and files, plots, and the HTML page of a results folder.

One home for everything that turns a run into something to read:

* :mod:`kerasdoc.reporting.results`: tables (ours beside the paper's), mean ± std, the
  confusion matrix counts, and :func:`write_results` (``results.json``, ``results.md``,
  ``config.json`` with the environment), which every experiment writes through;
* :mod:`kerasdoc.reporting.plots`: PNG plots (training curves, confusion matrix, grouped bars,
  class balance, error histograms, a stacked pipeline's per-page prediction);
* :mod:`kerasdoc.reporting.html`: ``kerasdoc report DIR``, a results folder as one
  self-contained HTML page.

Every name is importable from here (``from kerasdoc.reporting import markdown_table``).

Example:
    >>> print(markdown_table(["model", "error"], [["cnn", "0.81"]]))
    | model | error |
    |---|---|
    | cnn | 0.81 |
"""

from kerasdoc.reporting.html import (
    find_images,
    markdown_to_html,
    render_report,
    write_report,
)
from kerasdoc.reporting.plots import (
    _pyplot,
    grouped_bar_plot,
    plot_class_balance,
    plot_confusion_matrix,
    plot_error_histograms,
    plot_history,
    plot_page_prediction,
    save_figure,
)
from kerasdoc.reporting.results import (
    confusion_matrix,
    environment,
    fmt_mean_std,
    markdown_table,
    mean_std,
    write_json,
    write_results,
)

__all__ = [
    "confusion_matrix", "environment", "find_images", "fmt_mean_std", "grouped_bar_plot",
    "markdown_table", "markdown_to_html", "mean_std", "plot_class_balance",
    "plot_confusion_matrix", "plot_error_histograms", "plot_history", "plot_page_prediction",
    "render_report", "save_figure", "write_json", "write_report", "write_results", "_pyplot",
]

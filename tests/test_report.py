"""`kerasdoc report DIR`: a results folder as one self-contained HTML page (reporting.html)."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from kerasdoc.cli import main
from kerasdoc.reporting import markdown_table, markdown_to_html, render_report, write_report

MD = "\n".join([
    "# Invoice classification, Table 1: Someone et al., A paper (2020)\n",
    "Data: **generated demo invoices**. Accuracy on the `validation split` (25 images).\n",
    "## Table 1\n",
    markdown_table(["model", "accuracy (ours)", "accuracy (paper)"],
                   [["cnn", "80.00", "92.86"], ["a \\| b", "1 < 2", "n/a"]]),
    "",
    "- first point, with *emphasis*",
    "- second point",
    "  continued",
    "",
    "1. step one",
    "2. step two",
])


def _png(path, color):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 8, 3), color, np.uint8)).save(path)


@pytest.fixture
def results_dir(tmp_path):
    d = tmp_path / "results"
    d.mkdir()
    (d / "results.md").write_text(MD)
    (d / "results.json").write_text(json.dumps({
        "experiment": "invoice", "paper": "Someone et al., A paper (2020)",
        "data": "generated demo invoices", "evaluated_on": "validation split",
        "wall_seconds": 12.5, "cpu_seconds": 20.1, "unread_flags": []}))
    (d / "config.json").write_text(json.dumps({"epochs": 2, "quick": True}))
    _png(d / "accuracy.png", 10)
    _png(d / "stages" / "holistic" / "history.png", 200)
    _png(d / "runs" / "m" / "backup" / "ignored.png", 0)
    (d / "stages" / "holistic" / "notes.md").write_text("Stage notes with a | pipe.")
    return d


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.srcs.append(dict(attrs)["src"])


def test_markdown_tables_headers_lists_and_inline():
    out = markdown_to_html(MD)
    assert "<h1>Invoice classification" in out and "<h2>Table 1</h2>" in out
    assert "<th>accuracy (paper)</th>" in out
    assert "<td>a | b</td><td>1 &lt; 2</td>" in out  # escaped pipe and HTML
    assert "<strong>generated demo invoices</strong>" in out
    assert "<code>validation split</code>" in out
    assert "<li>second point continued</li>" in out and "<em>emphasis</em>" in out
    assert "<ol><li>step one</li><li>step two</li></ol>" in out


def test_report_embeds_every_plot_and_renders_the_tables(results_dir):
    path, replaced = write_report(results_dir)
    assert path == results_dir / "report.html" and not replaced
    page = path.read_text()
    parser = _Collect()
    parser.feed(page)
    assert parser.tags.count("table") == 1 and "h1" in parser.tags
    assert len(parser.srcs) == 2  # the backup's PNG is left out
    for src in parser.srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:4] == b"\x89PNG"
    assert page.index("accuracy.png") < page.index("stages/holistic/history.png")
    assert "stages/holistic/notes.md" in page and "config.json" in page
    assert "12.5 s wall, 20.1 s CPU" in page
    assert not re.search(r'src="(?!data:)', page)  # nothing outside the page


def test_report_rewrites_its_own_page_but_not_another_file(results_dir, tmp_path):
    write_report(results_dir)
    _, replaced = write_report(results_dir)
    assert replaced
    other = tmp_path / "mine.html"
    other.write_text("<html>someone's page</html>")
    with pytest.raises(FileExistsError):
        write_report(results_dir, other)
    assert other.read_text() == "<html>someone's page</html>"
    write_report(results_dir, other, overwrite=True)
    assert "kerasdoc report" in other.read_text()


def test_report_refuses_a_folder_without_results(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a results folder"):
        render_report(tmp_path)


def test_cli_report(results_dir, capsys):
    assert main(["report", str(results_dir)]) == 0
    assert f"wrote {results_dir / 'report.html'}" in capsys.readouterr().out
    assert main(["report", str(results_dir)]) == 0
    assert "rewrote" in capsys.readouterr().out
    assert main(["report", str(results_dir / "nothing")]) == 2
    assert "is not a folder" in capsys.readouterr().err

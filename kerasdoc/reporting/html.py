"""One self-contained HTML page of a results folder (``kerasdoc report DIR``).

A results folder (what every experiment writes to ``--out``) holds ``results.json``,
``results.md``, ``config.json`` and PNG plots, some in sub-folders (``stages/*/history.png``).
:func:`write_report` renders it as ``DIR/report.html``: the run's facts (experiment, paper,
data, what it was evaluated on, time), ``results.md`` as HTML (tables, headers, paragraphs,
lists; :func:`markdown_to_html`, a small converter for what the experiments write, so no
markdown package is needed), every PNG embedded as base64 (the page opens anywhere, alone),
other ``*.md`` files, and ``config.json`` / ``results.json`` in folded blocks.

``report.html`` is this module's file: it is rewritten on each call. Any other existing file
at the output path is left alone unless ``overwrite=True``.

Example:
    >>> print(markdown_to_html("# Title\\n\\n| a | b |\\n|---|---|\\n| 1 | **2** |"))
    <h1>Title</h1>
    <table>
    <thead><tr><th>a</th><th>b</th></tr></thead>
    <tbody>
    <tr><td>1</td><td><strong>2</strong></td></tr>
    </tbody>
    </table>
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

#: The marker that says an HTML file was written by :func:`write_report` (and may be rewritten).
GENERATOR = "kerasdoc report"
REPORT_NAME = "report.html"
#: PNGs larger than this are listed, not embedded.
MAX_IMAGE_BYTES = 8 * 1024 * 1024
#: JSON blocks longer than this are cut (the file stays the full record).
MAX_JSON_CHARS = 200_000
_SKIP_DIRS = {"backup", "logs", "__pycache__"}

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1,h2,h3{line-height:1.2}table{border-collapse:collapse;margin:1em 0;font-size:0.92em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}tr:nth-child(even) td{background:#fafafa}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
pre{background:#f6f6f6;padding:0.8em;overflow:auto;font-size:0.85em}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:0.85em;color:#555}dl.facts dt{font-weight:600;float:left;clear:left;
width:11em}dl.facts dd{margin-left:12em}
"""


# --------------------------------------------------------------------------------------------
# markdown (the subset the experiments write)
# --------------------------------------------------------------------------------------------

def _inline(text: str) -> str:
    """Escape ``text`` and render inline code, bold, italics and links."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if len(part) > 1 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                   lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', s)
        out.append(s)
    return "".join(out)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def _is_separator(line: str) -> bool:
    return bool(re.fullmatch(r"\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*", line))


def markdown_to_html(text: str) -> str:
    """Render the markdown the experiments write: ``#`` headers, pipe tables, ``-``/``*`` and
    numbered lists, fenced code blocks, paragraphs; inline ``code``, **bold**, *italics*,
    ``[links](url)``. Anything else is shown as escaped text."""
    lines = text.splitlines()
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(s.strip() for s in para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            flush()
            i += 1
        elif stripped.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.append(f"<pre><code>{html.escape(chr(10).join(lines[i + 1:j]))}</code></pre>")
            i = j + 1
        elif m := re.match(r"(#{1,6})\s+(.*)", stripped):
            flush()
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2).rstrip('#').strip())}</h{level}>")
            i += 1
        elif stripped.startswith("|") and i + 1 < len(lines) and _is_separator(lines[i + 1]):
            flush()
            head = _cells(stripped)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out.append("<table>")
            out.append("<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head)
                       + "</tr></thead>")
            out.append("<tbody>")
            for r in rows:
                r = r + [""] * (len(head) - len(r))
                out.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>")
            out.append("</tbody>")
            out.append("</table>")
        elif re.match(r"([-*]|\d+[.)])\s+", stripped):
            flush()
            ordered = bool(re.match(r"\d", stripped))
            tag = "ol" if ordered else "ul"
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                s = lines[i].strip()
                m = re.match(r"([-*]|\d+[.)])\s+(.*)", s)
                if m:
                    items.append(m.group(2))
                elif items:  # a continuation line of the item
                    items[-1] += " " + s
                i += 1
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(t)}</li>" for t in items)
                       + f"</{tag}>")
        else:
            para.append(line)
            i += 1
    flush()
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------

def _skipped(path: Path, root: Path) -> bool:
    return any(part in _SKIP_DIRS for part in path.relative_to(root).parts[:-1])


def find_images(root: Path) -> list[Path]:
    """The PNG files under ``root``: the folder's own first, then sub-folders', sorted
    (backups and TensorBoard logs left out)."""
    files = [p for p in root.rglob("*.png") if not _skipped(p, root)]
    return sorted(files, key=lambda p: (len(p.relative_to(root).parts) > 1,
                                        str(p.relative_to(root))))


def _figure(path: Path, root: Path) -> str:
    rel = html.escape(str(path.relative_to(root)))
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        return (f"<p>{rel}: {size / 2**20:.1f} MiB, not embedded (over "
                f"{MAX_IMAGE_BYTES // 2**20} MiB).</p>")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{rel}" src="data:image/png;base64,{data}">'
            f"<figcaption>{rel}</figcaption></figure>")


def _json_block(path: Path, title: str) -> str:
    try:
        text = json.dumps(json.loads(path.read_text()), indent=2)
    except (OSError, ValueError) as e:
        text = f"(unreadable: {e})"
    if len(text) > MAX_JSON_CHARS:
        text = text[:MAX_JSON_CHARS] + f"\n... (cut; the full file is {path.name})"
    return (f"<details><summary>{html.escape(title)}</summary>"
            f"<pre>{html.escape(text)}</pre></details>")


def _facts(results: dict[str, Any]) -> str:
    rows = []
    for key, label in (("experiment", "experiment"), ("paper", "paper"), ("data", "data"),
                       ("evaluated_on", "evaluated on")):
        if results.get(key):
            rows.append(f"<dt>{label}</dt><dd>{html.escape(str(results[key]))}</dd>")
    if "wall_seconds" in results:
        cpu = results.get("cpu_seconds")
        rows.append(f"<dt>time</dt><dd>{results['wall_seconds']} s wall"
                    + (f", {cpu} s CPU" if cpu is not None else "") + "</dd>")
    if results.get("unread_flags"):
        rows.append("<dt>unread flags</dt><dd>"
                    f"{html.escape(', '.join(map(str, results['unread_flags'])))}</dd>")
    return f'<dl class="facts">{"".join(rows)}</dl>' if rows else ""


def render_report(results_dir: str | Path) -> str:
    """The HTML page of ``results_dir`` (see the module docstring).

    Raises:
        FileNotFoundError: ``results_dir`` is not a folder, or holds neither ``results.json``
            nor ``results.md`` nor any PNG.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder.")
    results_file, md_file, config_file = (root / "results.json", root / "results.md",
                                          root / "config.json")
    images = find_images(root)
    if not (results_file.is_file() or md_file.is_file() or images):
        raise FileNotFoundError(f"{root} holds no results.json, results.md or PNG plots: not a "
                                "results folder (an experiment's --out).")
    results: dict[str, Any] = {}
    if results_file.is_file():
        try:
            results = json.loads(results_file.read_text())
        except ValueError:
            results = {}
    title = f"{results.get('experiment') or root.resolve().name}: results"
    body = [f"<h1>{html.escape(title)}</h1>", _facts(results)]
    if md_file.is_file():
        body.append(markdown_to_html(md_file.read_text()))
    others = sorted(p for p in root.rglob("*.md") if p != md_file and not _skipped(p, root))
    for p in others:
        body.append(f"<h2>{html.escape(str(p.relative_to(root)))}</h2>")
        body.append(markdown_to_html(p.read_text()))
    if images:
        body.append("<h2>Plots</h2>")
        body += [_figure(p, root) for p in images]
    if config_file.is_file():
        body.append(_json_block(config_file, "config.json (flags and environment)"))
    if results_file.is_file():
        body.append(_json_block(results_file, "results.json (every figure of the run)"))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta name="generator" content="{GENERATOR}">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(b for b in body if b) + "\n</body></html>\n")


def is_ours(path: Path) -> bool:
    """Whether ``path`` is an HTML page written by :func:`write_report`."""
    try:
        head = path.read_text(errors="replace")[:2000]
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">' in head


def write_report(results_dir: str | Path, out: str | Path | None = None, *,
                 overwrite: bool = False) -> tuple[Path, bool]:
    """Write the page of ``results_dir`` to ``out`` (default ``results_dir/report.html``).

    An existing page written by this function is rewritten; any other existing file is
    refused (``FileExistsError``) unless ``overwrite``.

    Returns:
        ``(path, replaced)``: where the page is, and whether it replaced an earlier file.
    """
    page = render_report(results_dir)
    path = Path(out) if out is not None else Path(results_dir) / REPORT_NAME
    replaced = path.exists()
    if replaced and not overwrite and not is_ours(path):
        raise FileExistsError(f"{path} exists and was not written by `kerasdoc report`; pass "
                              "--overwrite to replace it, or choose another --out.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path, replaced

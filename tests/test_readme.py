"""The README tour stays runnable as written: its Python snippets and its CLI tour are run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KERASDOC_SHARED_DATA", REPO.parent / "shared" / "data"))
README = (REPO / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


PYTHON = _blocks("python")


def _localise(code: str, tmp_path: Path) -> str:
    if "../shared/data" in code and not SHARED_DATA.is_dir():
        pytest.skip(f"the snippet reads ../shared/data, absent here ({SHARED_DATA})")
    return code.replace("../shared/data", str(SHARED_DATA))


def test_readme_has_exactly_two_setup_commands():
    setup = README.split("## Set up")[1].split("## ")[0]
    commands = [b.strip() for b in re.findall(r"```bash\n(.*?)```", setup, flags=re.S)]
    assert commands == ['pip install -e ".[tensorflow]" && kerasdoc reproduce numeric-loss',
                        'pip install -e ".[tensorflow,dev]" && python -m pytest -n 2']


#: Runs each snippet as a reader pasting the README into one fresh Python session would: in
#: order, each in its own namespace and folder, Keras' session cleared between them (one
#: TensorFlow start for all, not one each: the suite's time, issue 24).
_SESSION = """
import json, os, sys, traceback
import keras
results = []
for code, folder in json.loads(sys.argv[1]):
    os.chdir(folder)
    try:
        exec(compile(code, "README.md snippet", "exec"), {"__name__": "__main__"})
        results.append(None)
    except BaseException:
        results.append(traceback.format_exc()[-3000:])
    keras.backend.clear_session()
print("RESULTS " + json.dumps(results))
"""


@pytest.fixture(scope="module")
def snippet_results(tmp_path_factory):
    """Every Python snippet of the README, run in one fresh process: index -> None (ran) or
    the traceback, or a skip reason."""
    import json

    runs, out = [], {}
    for i, code in enumerate(PYTHON):
        folder = tmp_path_factory.mktemp(f"snippet{i}")
        if "../shared/data" in code and not SHARED_DATA.is_dir():
            out[i] = f"skip: the snippet reads ../shared/data, absent here ({SHARED_DATA})"
            continue
        runs.append((i, code.replace("../shared/data", str(SHARED_DATA)), str(folder)))
    proc = subprocess.run(
        [sys.executable, "-c", _SESSION, json.dumps([(c, f) for _, c, f in runs])],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert proc.returncode == 0 and line, proc.stderr[-3000:]
    out.update(zip([i for i, _, _ in runs], json.loads(line[-1][len("RESULTS "):])))
    return out


@pytest.mark.parametrize("index", range(len(PYTHON)))
def test_python_snippet_runs(index, snippet_results):
    result = snippet_results[index]
    if result is not None and result.startswith("skip: "):
        pytest.skip(result[len("skip: "):])
    assert result is None, f"README Python snippet {index} failed:\n{result}"


@pytest.mark.slow
def test_cli_tour_runs_as_written(tmp_path):
    """The train / evaluate / export / predict tour (all but the TF Serving line)."""
    tour = [b for b in _blocks("bash") if "kerasdoc train" in b][0]
    tour = _localise(tour, tmp_path).replace("\\\n", " ")
    lines = [ln.split("#")[0].strip() for ln in tour.splitlines()]
    lines = [ln for ln in lines if ln and "--server" not in ln]
    assert len(lines) == 4
    for line in lines:
        proc = subprocess.run(line, shell=True, cwd=tmp_path, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, (line, proc.stderr[-3000:])
    assert proc.stdout.split("\t")[1] in ("gardenia", "sanyu", "unihakka")

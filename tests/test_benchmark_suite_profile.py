"""benchmarks/suite_profile.py reads py-spy's raw output as py-spy writes it."""

from __future__ import annotations

from benchmarks import suite_profile


def test_records_kinds_files_and_started_processes(tmp_path):
    top = 'process 7:"python -m pytest -n 2";process 8:"python -u -c import sys";'
    raw = "\n".join([
        top + "test_x (tests/test_cli.py:4);trace_function (t.py:1);"
              "Adam.update_step (keras/src/optimizers/adam.py:9) 5",
        top + "test_y (tests/test_cli.py:9);_find_and_load (<frozen importlib._bootstrap>:1) 2",
        # a process started with `python -c` code: its command line spans lines
        top + 'process 9:"python -c \nimport keras\nprint(1)";_find_and_load (<frozen>:1) 4',
        top + 'process 9:"python -c \nimport keras\nprint(1)";main (x.py:2) 1',
        "",
    ])
    path = tmp_path / "suite.raw"
    path.write_text(raw)
    s = suite_profile.main([str(path), "--rate", "10"])
    assert s["total"] == 12
    assert s["kinds"] == {"trace": 5, "import": 6, "other": 1}
    assert s["files"] == {"test_cli.py": 7}
    assert list(s["started"].values()) == [5] and list(s["started_imports"].values()) == [4]
    assert s["inside_tracing"]["Keras Adam update_step"] == 5
    text = suite_profile.report(s, 10)
    assert "12 samples (1 s of Python threads at 10/s)" in text
    assert "41.7%  trace" in text  # 5 of 12

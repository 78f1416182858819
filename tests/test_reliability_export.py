"""Issue 21: `kill -9` during an export leaves a staging folder that the next export removes,
never a live exporter's; a full disk during an export is one line and leaves nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest

from kerasdoc.card import write_card
from kerasdoc.export import (
    STALE_STAGING_SECONDS,
    claim_version,
    export_for_serving,
    remove_stale_staging,
)
from kerasdoc.generators.spec import ImageSpec

REPO = Path(__file__).resolve().parents[1]

EXPORTER = r"""
import sys, time
from kerasdoc.export import make_staging
staging = make_staging(sys.argv[1], 7)
(staging / "model").mkdir()
print(staging, flush=True)
time.sleep(600)
"""


def _tiny(name="m"):
    inp = keras.Input((8, 8, 1))
    x = keras.layers.Flatten()(inp)
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(x), name=name)


def test_a_killed_exporters_staging_is_removed_a_live_ones_is_kept(tmp_path):
    model_dir = tmp_path / "docs"
    model_dir.mkdir()
    child = subprocess.Popen([sys.executable, "-c", EXPORTER, str(model_dir)], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    try:
        staging = Path(child.stdout.readline().strip())
        assert staging.parent == model_dir and staging.name.startswith(".tmp-7-")
        # an older kerasdoc's staging (no lock, no pid), recent and a day old
        recent, old = model_dir / ".tmp-3-abcd1234", model_dir / ".tmp-4-efgh5678"
        recent.mkdir(), old.mkdir()
        day_ago = time.time() - STALE_STAGING_SECONDS - 60
        os.utime(old, (day_ago, day_ago))
        # the live exporter: its staging survives an export of the same name
        path = export_for_serving(_tiny(), "docs", tmp_path, class_names=["a", "b"])
        assert path.name == "1" and staging.is_dir() and recent.is_dir() and not old.exists()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert staging.is_dir()  # left behind by kill -9
        assert claim_version(model_dir, None) == (2, True)
        assert not staging.exists() and recent.is_dir()
        assert sorted(p.name for p in model_dir.iterdir()) == [".tmp-3-abcd1234", "1"]
    finally:
        child.kill()
        child.wait()


def test_a_dead_pid_without_a_lock_file_is_stale_on_this_host(tmp_path):
    """Between mkdtemp and the lock file an exporter is judged by its pid (same host)."""
    from kerasdoc.export import _hostname

    dead = subprocess.Popen(["true"])
    dead.wait()
    live_name = f".tmp-2-{_hostname()}-{os.getpid()}-abc_123"
    dead_name = f".tmp-2-{_hostname()}-{dead.pid}-abc_456"
    other_host = f".tmp-2-otherhost-{dead.pid}-abc_789"
    for n in (live_name, dead_name, other_host):
        (tmp_path / n).mkdir()
    removed = remove_stale_staging(tmp_path)
    assert [p.name for p in removed] == [dead_name]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live_name, other_host])


@pytest.mark.slow
def test_kill_9_during_kerasdoc_export_then_export_again(tmp_path):
    """A real `kerasdoc export` SIGKILLed once its staging folder appears; the next export of
    the name removes it and writes version 1."""
    model_file = tmp_path / "m.keras"
    _tiny().save(model_file)
    write_card(model_file, ["a", "b"], ImageSpec((8, 8)))
    base = tmp_path / "saved_models"
    argv = [sys.executable, "-m", "kerasdoc", "export", str(model_file), "--name", "docs",
            "--base-dir", str(base)]
    child = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and not list((base / "docs").glob(".tmp-*")):
            assert child.poll() is None, "the export finished before it could be killed"
            time.sleep(0.005)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert [p.name[:7] for p in (base / "docs").iterdir()] == [".tmp-1-"]
    again = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(p.name for p in (base / "docs").iterdir()) == ["1"]


def test_export_onto_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys):
    from kerasdoc.cli import main

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    model_file = tmp_path / "m.keras"
    _tiny().save(model_file)
    write_card(model_file, ["a", "b"], ImageSpec((8, 8)))
    mnt = tmp_path / "fs"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        rc = main(["export", str(model_file), "--name", "docs", "--base-dir", str(mnt)])
        err = capsys.readouterr().err
        assert rc == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"kerasdoc export: cannot write {mnt / 'docs'}: no space left")
        assert "nothing was published" in err
        assert [p.name for p in (mnt / "docs").iterdir()] == []
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)

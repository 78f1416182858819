"""Issue 13, item 7: argument and environment errors end in one line and exit 2 (SIGINT: 130),
checked before work starts where possible; archives and folders that would loop or hold
device files are refused with a message naming them."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kerasdoc import cli
from kerasdoc.cli import main
from kerasdoc.generators import ImageDataGenerator, extract_archive


def readonly_dir(tmp_path: Path) -> Path:
    """A folder nobody may create files in (chmod 555; as root, where permissions do not
    apply, a path under the kernel's /sys, where even root cannot create one)."""
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    if not os.access(d, os.W_OK):
        return d / "out"
    probe = Path("/sys/kerasdoc-readonly-test")
    try:
        probe.mkdir()
    except PermissionError:
        return probe / "out"
    except OSError:
        pass
    pytest.skip("no read-only folder available (running as root without a read-only /sys)")


def make_folder(root: Path, n: int = 2) -> Path:
    for c in ("a", "b"):
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((6, 6), (40 * i) % 256, np.uint8)).save(root / c / f"{i}.png")
    return root


@pytest.mark.parametrize("value", ["-1", "0", "two"])
def test_predict_batch_size_must_be_positive(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as e:
        main(["predict", str(tmp_path), "x.png", "--batch-size", value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --batch-size: expected a positive integer" in err and "Traceback" not in err


def test_train_read_only_out_fails_before_any_work(tmp_path, capsys):
    out = readonly_dir(tmp_path)
    data = make_folder(tmp_path / "data")
    rc = main(["train", "digits_dnn", "--data", str(data), "--epochs", "1", "--image-size",
               "8", "8", "--out", str(out), "--quiet"])
    cap = capsys.readouterr()
    assert rc == 2 and cap.out == ""  # nothing trained, nothing printed on stdout
    assert cap.err.startswith(f"kerasdoc train: --out {out} is not writable")
    assert len(cap.err.strip().splitlines()) == 1


def test_export_read_only_base_dir_fails_first(tmp_path, capsys):
    base = readonly_dir(tmp_path)
    rc = main(["export", str(tmp_path / "missing.keras"), "--name", "m", "--base-dir",
               str(base)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"kerasdoc export: --base-dir {base} is not writable")


def test_sigint_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_train", interrupted)
    rc = main(["train", "digits_dnn", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 130 and err == ("kerasdoc train: interrupted (re-run the same command to "
                                 "resume from the last completed epoch)\n")
    monkeypatch.setattr(cli, "_export", interrupted)
    model = tmp_path / "m.keras"  # export checks that its .keras files exist before starting
    zipfile.ZipFile(model, "w").close()
    assert main(["export", str(model), "--name", "m", "--base-dir", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "kerasdoc export: interrupted\n"


def _tgz(tmp_path: Path) -> Path:
    data = make_folder(tmp_path / "src" / "set", n=20)
    rng = np.random.default_rng(0)
    for p in data.rglob("*.png"):  # incompressible, so that half the archive is half the data
        Image.fromarray(rng.integers(0, 255, (40, 40), np.uint8)).save(p)
    arc = tmp_path / "set.tgz"
    with tarfile.open(arc, "w:gz") as t:
        t.add(data, arcname="set")
    return arc


def test_truncated_tgz_is_named(tmp_path, capsys):
    arc = _tgz(tmp_path)
    arc.write_bytes(arc.read_bytes()[: arc.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"set\.tgz: damaged or truncated archive"):
        extract_archive(arc, cache=tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("set-*"))  # nothing half-extracted left behind
    os.environ["KERASDOC_CACHE"] = str(tmp_path / "cache2")
    try:
        rc = main(["train", "digits_dnn", "--data", f"{arc}/set", "--epochs", "1",
                   "--image-size", "8", "8", "--out", str(tmp_path / "run"), "--quiet"])
    finally:
        del os.environ["KERASDOC_CACHE"]
    err = capsys.readouterr().err
    assert rc == 2 and "set.tgz: damaged or truncated archive" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_device_file_member_is_refused(tmp_path, kind):
    arc = tmp_path / "dev.tar"
    with tarfile.open(arc, "w") as t:
        png = io.BytesIO()
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(png, "PNG")
        info = tarfile.TarInfo("set/a/0.png")
        info.size = len(png.getvalue())
        t.addfile(info, io.BytesIO(png.getvalue()))
        dev = tarfile.TarInfo("set/a/1.png")
        dev.type, dev.devmajor, dev.devminor = kind, 1, 3
        t.addfile(dev)
    with pytest.raises(ValueError, match=r"dev\.tar: member 'set/a/1\.png' is a device file "
                                         "or FIFO"):
        extract_archive(arc, cache=tmp_path / "cache")


def test_symlink_loop_with_follow_links(tmp_path, capsys):
    root = make_folder(tmp_path / "data")
    (root / "a" / "again").symlink_to(root / "a", target_is_directory=True)
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match=r"a/again: symbolic link loop .*follow_links=False"):
        gen.flow_from_directory(root, (4, 4), follow_links=True)
    assert gen.flow_from_directory(root, (4, 4)).samples == 4  # not followed: no loop
    (root / "a" / "again").unlink()
    (root / "c").symlink_to(root, target_is_directory=True)  # a class folder that is the root
    with pytest.raises(ValueError, match="symbolic link loop"):
        gen.flow_from_directory(root, (4, 4), follow_links=True)


@pytest.mark.slow
def test_sigint_during_training_then_resume(tmp_path):
    """A real SIGINT to `kerasdoc train` mid-run: one line, exit 130, and the same command
    resumes from the last completed epoch."""
    import json
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "d" / c).mkdir(parents=True)
        for i in range(60):
            Image.fromarray(rng.integers(0, 255, (12, 12), np.uint8)).save(
                tmp_path / "d" / c / f"{i}.png")
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo), CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "kerasdoc", "train", "digits_dnn", "--data",
           str(tmp_path / "d"), "--epochs", "30", "--batch-size", "4", "--image-size", "12",
           "12", "--out", str(tmp_path / "run"), "--quiet"]
    # a shell's background job ignores SIGINT, and so would the child: restore the default
    # so that Python installs its KeyboardInterrupt handler
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    meta = tmp_path / "run" / "backup" / "training_metadata.json"
    deadline = time.time() + 240
    while not (meta.exists() and json.loads(meta.read_text())["epoch"] >= 1):
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("kerasdoc train: interrupted (re-run the same "
                                            "command to resume from the last completed epoch)")
    done = json.loads(meta.read_text())["epoch"]
    res = subprocess.run(cmd[:7] + ["--epochs", str(done + 1)] + cmd[9:], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and f"resumed after epoch {done}" in res.stdout, res.stderr


def test_symlinked_class_folder_is_kept_as_keras_does(tmp_path):
    root = make_folder(tmp_path / "data")
    elsewhere = make_folder(tmp_path / "elsewhere")
    (root / "linked").symlink_to(elsewhere / "a", target_is_directory=True)
    flow = ImageDataGenerator().flow_from_directory(root, (4, 4))
    assert "linked" in flow.class_indices
    assert sum(1 for f in flow.filenames if f.startswith("linked")) == \
        len(list((elsewhere / "a").iterdir()))

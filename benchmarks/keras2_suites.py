"""Run Keras 2's own ImageDataGenerator test suites against ``generators``, import changed only.

The suites are keras-preprocessing's ``tests/image/*.py`` and tf-keras's
``tf_keras/preprocessing/image_test.py`` (public, keras-team on GitHub). They are not part of
this repository: check them out anywhere and point this script at them. It copies them to a
scratch folder, rewrites only the import lines (the module under test becomes ``generators``;
tf-keras's test infrastructure is imported from ``tf_keras.src``, where the pip package keeps
it), runs pytest there and prints passed / total per file and the reason of every failure.

Needs ``pandas``, ``tf_keras`` (its test infrastructure) and Pillow < 12 (the suites' own
fixtures save 32-bit PNGs that Pillow 12 refuses), e.g. ``pip install --target /tmp/k2site
pandas tf_keras==2.21 pillow==11.3`` and ``PYTHONPATH=$PWD:/tmp/k2site``.

Run from the repository root::

    python -m benchmarks.keras2_suites --kp path/to/keras-preprocessing/tests/image \\
        --tfk path/to/tf-keras/tf_keras/preprocessing/image_test.py --out results/keras2_suites

The issue's count is the files it names: keras-preprocessing's dataframe, directory,
image_data_generator and numpy_array iterator tests, and tf-keras's image_test; the other
keras-preprocessing files are run and reported beside them.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

#: the files of the issue's count (keras-preprocessing 32 tests, tf-keras 62)
COUNTED = ("kp_dataframe_iterator_test.py", "kp_directory_iterator_test.py",
           "kp_image_data_generator_test.py", "kp_numpy_array_iterator_test.py",
           "tfk_image_test.py")

_KP_FROM = re.compile(r"^from keras_preprocessing\.image import (.+)$", re.M)
_KP_IDG = re.compile(r"^from keras_preprocessing\.image\.image_data_generator import "
                     r"ImageDataGenerator$", re.M)
_CONFTEST = ("# absl's create_tempdir() needs parsed flags under pytest\n"
             "from absl import flags\n\nflags.FLAGS.mark_as_parsed()\n")


def rewrite_kp(text: str) -> str:
    """keras-preprocessing: every ``keras_preprocessing.image`` module becomes ``generators``."""
    text = _KP_IDG.sub("from kerasdoc.generators import ImageDataGenerator", text)
    text = _KP_FROM.sub(lambda m: "import " + ", ".join(
        f"kerasdoc.generators as {name.strip()}" for name in m.group(1).split(",")), text)
    return text.replace("from keras_preprocessing import image",
                        "import kerasdoc.generators as image")


def rewrite_tfk(text: str) -> str:
    """tf-keras: ``image`` and ``image_utils`` become ``generators``; the test infrastructure
    (layers, sequential, testing_infra) comes from ``tf_keras.src`` as the wheel lays it out."""
    text = text.replace("from tf_keras.preprocessing import image",
                        "import kerasdoc.generators as image")
    text = text.replace("from tf_keras.utils import image_utils",
                        "import kerasdoc.generators as image_utils")
    return re.sub(r"^from tf_keras(\.| import)", lambda m: "from tf_keras.src" + (
        "." if m.group(1) == "." else " import"), text, flags=re.M)


def prepare(kp: Path | None, tfk: Path | None, work: Path) -> list[str]:
    """Copy and rewrite the suites into ``work``; the test file names."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "conftest.py").write_text(_CONFTEST)
    names = []
    if kp is not None:
        for f in sorted(kp.glob("*.py")):
            if f.name in ("conftest.py", "__init__.py"):
                continue
            (work / f"kp_{f.name}").write_text(rewrite_kp(f.read_text()))
            names.append(f"kp_{f.name}")
    if tfk is not None:
        (work / "tfk_image_test.py").write_text(rewrite_tfk(tfk.read_text()))
        names.append("tfk_image_test.py")
    return names


def summarise(junit: Path) -> dict:
    """Per file: passed, failed, skipped, and ``test: reason`` for each failure."""
    per: dict = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        file = case.get("file") or case.get("classname", "").split(".")[0] + ".py"
        file = Path(file).name
        cls = case.get("classname", "").split(".")[-1]
        name = f"{cls}::{case.get('name')}" if cls and cls[0].isupper() else case.get("name")
        row = per.setdefault(file, {"passed": 0, "failed": 0, "skipped": 0, "failures": {}})
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if case.find("skipped") is not None:
            row["skipped"] += 1
            row.setdefault("skips", {})[name] = (
                case.find("skipped").get("message") or "")[:200]
        elif bad is not None:
            row["failed"] += 1
            msg = (bad.get("message") or bad.text or "").strip().splitlines()
            row["failures"][name] = msg[0][:300] if msg else ""
        else:
            row["passed"] += 1
    return per


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.keras2_suites", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kp", type=Path, help="keras-preprocessing's tests/image folder")
    p.add_argument("--tfk", type=Path, help="tf-keras's tf_keras/preprocessing/image_test.py")
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp)")
    p.add_argument("--out", type=Path, default=None, help="folder for results.json")
    args = p.parse_args(argv)
    if args.kp is None and args.tfk is None:
        p.error("give --kp and/or --tfk")
    work = args.work or Path(tempfile.mkdtemp(prefix="keras2_suites_"))
    names = prepare(args.kp, args.tfk, work)
    junit = work / "junit.xml"
    repo = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
           "-o", "addopts=", "--rootdir", str(work), f"--junitxml={junit}", *names]
    print("running:", " ".join(cmd), f"(in {work})", flush=True)
    subprocess.run(cmd, cwd=work, check=False,
                   env={**__import__("os").environ,
                        "PYTHONPATH": f"{repo}:{__import__('os').environ.get('PYTHONPATH', '')}"})
    per = summarise(junit)
    counted = [f for f in COUNTED if f in per]
    passed = sum(per[f]["passed"] for f in counted)
    total = sum(per[f]["passed"] + per[f]["failed"] + per[f]["skipped"] for f in counted)
    print("\nfile (* = the issue's count)           passed / collected  (failed, skipped)")
    for f, r in per.items():
        mark = "*" if f in COUNTED else " "
        n = r["passed"] + r["failed"] + r["skipped"]
        print(f"{mark} {f:36s} {r['passed']:3d} / {n:3d}  ({r['failed']}, {r['skipped']})")
    if total:
        print(f"* the issue's files: {passed} / {total} = {passed / total:.1%}")
    for f, r in per.items():
        for name, why in r["failures"].items():
            print(f"  FAILED {f}::{name}: {why}")
        for name, why in r.get("skips", {}).items():
            print(f"  SKIPPED {f}::{name}: {why}")
    res = {"per_file": per, "issue_files": counted, "issue_passed": passed,
           "issue_total": total}
    if args.out:
        from kerasdoc.reporting import write_json

        write_json(args.out / "results.json", res)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return res


if __name__ == "__main__":
    main()

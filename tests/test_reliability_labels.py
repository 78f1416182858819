"""Issue 13, item 1: label files are validated (strict integer labels, range, duplicates,
encoding) and every message names ``file:line``; a huge label is an error, never an allocation."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from kerasdoc.generators import ImageDataGenerator, parse_label_file

GEN = ImageDataGenerator()


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    r.mkdir()
    for i in range(6):
        cv2.imwrite(str(r / f"{i}.png"), np.full((4, 4), i, np.uint8))
    return r


def flow(lf, root, **kw):
    return GEN.flow_from_labelfile(lf, root, (4, 4), "grayscale", class_mode="sparse", **kw)


@pytest.mark.parametrize("lab", ["1_0", "+3", "1.0", "1e3", "0x1", "٣", "１", "3.", "--1"])
def test_label_must_be_plain_digits(tmp_path, root, lab):
    lf = tmp_path / "l.txt"
    lf.write_text(f"0.png 0\n1.png {lab}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"l\.txt:2: label .* is not an integer .*digits 0-9"):
        flow(lf, root)


def test_huge_label_is_an_error_not_an_allocation(tmp_path, root):
    lf = tmp_path / "l.txt"
    lf.write_text("0.png 0\n1.png 99999999999999999999\n")
    with pytest.raises(ValueError, match=r"l\.txt:2: label 99999999999999999999 is too large"):
        flow(lf, root)
    lf.write_text("0.png 0\n1.png 999999999\n")  # 9 digits: read, then refused by the range
    with pytest.raises(ValueError, match=r"l\.txt:2: label 999999999 leaves class\(es\) 1, 2"):
        flow(lf, root)
    with pytest.raises(ValueError, match=r"l\.txt:2: label 999999999 outside the class range"):
        flow(lf, root, num_classes=3)


@pytest.mark.slow
@pytest.mark.parametrize("label,match", [("99999999999999999999", "too large"),
                                         ("999999999", "leaves class")])
def test_huge_label_peak_memory_stays_small(tmp_path, root, label, match):
    """The 23 GB case of the issue: a subprocess reading the file stays far below 1 GB."""
    lf = tmp_path / "l.txt"
    lf.write_text(f"0.png 0\n1.png {label}\n")
    code = textwrap.dedent(f"""
        import resource
        from kerasdoc.generators.image_generator import ImageDataGenerator
        try:
            ImageDataGenerator().flow_from_labelfile({str(lf)!r}, {str(root)!r}, (4, 4))
        except ValueError as e:
            print("ERR", e)
        print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120).stdout
    assert "ERR" in out and match in out, out
    kb = int(out.split("MAXRSS_KB")[1].split()[0])
    print(f"label {label}: peak RSS {kb / 1024:.0f} MiB")
    assert kb < 1_500_000, f"peak RSS {kb} kB"  # TensorFlow's import is most of it


def test_stray_label_in_a_three_class_file(tmp_path, root):
    lf = tmp_path / "l.txt"
    lf.write_text("0.png 0\n1.png 1\n2.png 2\n3.png 7\n4.png 1\n")
    with pytest.raises(ValueError, match=r"l\.txt:4: label 7 leaves class\(es\) 3, 4, 5, 6 "
                                         r"without any image"):
        flow(lf, root)
    with pytest.raises(ValueError, match=r"l\.txt:4: label 7 outside the class range \[0, 2\]"):
        flow(lf, root, num_classes=3)
    with pytest.raises(ValueError, match=r"l\.txt:4: label 7 outside the class range \[0, 2\]"):
        flow(lf, root, classes=["a", "b", "c"])
    f = flow(lf, root, num_classes=8)  # the user says 8 classes: accepted
    assert f.num_classes == 8
    lf.write_text("0.png 0\n1.png 2\n")  # a test file lacking class 1: num_classes= says so
    assert flow(lf, root, num_classes=3).classes.tolist() == [0, 2]


def test_duplicates_warn_and_conflicting_labels_fail(tmp_path, root):
    lf = tmp_path / "l.txt"
    lf.write_text("0.png 0\n1.png 1\n./0.png 0\n")
    with pytest.warns(UserWarning, match=r"1 duplicate line\(s\) in .*l\.txt.*l\.txt:3 repeats "
                                         r".*l\.txt:1"):
        f = flow(lf, root, shuffle=False)
    assert f.samples == 3
    lf.write_text("0.png 0\n1.png 1\n\n0.png 1\n")
    with pytest.raises(ValueError, match=r"l\.txt:4: image '0\.png' has label 1, but "
                                         r".*l\.txt:1 gave it label 0"):
        flow(lf, root)


def test_utf8_bom_is_dropped(tmp_path, root):
    lf = tmp_path / "l.txt"
    lf.write_bytes(b"\xef\xbb\xbf0.png 0\n1.png 1\n")
    paths, labels = parse_label_file(lf, root=root)
    assert paths == ["0.png", "1.png"] and labels == [0, 1]
    assert flow(lf, root).samples == 2


@pytest.mark.parametrize("encoding,match", [
    ("utf-16", r"l\.txt:1: the file is UTF-16-LE .*must be UTF-8"),
    ("utf-16-be", r"l\.txt:1: NUL byte in a text line .*must be UTF-8"),
    ("latin-1", r"l\.txt:2: not valid UTF-8 \(byte 0xe9 at column 4\); .*Latin-1"),
])
def test_other_encodings_name_file_line_and_encoding(tmp_path, root, encoding, match):
    lf = tmp_path / "l.txt"
    lf.write_bytes("0.png 0\ncaf\u00e9.png 1\n".encode(encoding))
    with pytest.raises(ValueError, match=match):
        parse_label_file(lf)
    with pytest.raises(ValueError, match=match):
        flow(lf, root)


def test_num_classes_must_be_positive(tmp_path, root):
    lf = tmp_path / "l.txt"
    lf.write_text("0.png 0\n")
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        flow(lf, root, num_classes=0)

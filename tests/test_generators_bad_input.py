"""Every bad-input case of issue 3: a clear error naming the file and the problem, or (with
``on_bad="skip"``) a warning that counts what was skipped, never a silently wrong label."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdoc.generators import (
    ImageDataGenerator,
    crops,
    extract_archive,
    parse_label_file,
    sniff_image,
)

GEN = ImageDataGenerator()


def write(path, value=0, shape=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full(shape, value, np.uint8))
    return path


@pytest.fixture
def root(tmp_path):
    """root/<cls>/<i>.png with pixel value 10 * class + i; and a label file for it."""
    r = tmp_path / "root"
    lines = []
    for c in range(3):
        for i in range(3):
            write(r / f"c{c}" / f"{i}.png", 10 * c + i)
            lines.append(f"c{c}/{i}.png {c}")
    (tmp_path / "labels.txt").write_text("\n".join(lines) + "\n")
    return r


def first_pixels(flow):
    x = np.concatenate([b[0].numpy() for b in flow.dataset])
    y = np.concatenate([b[1].numpy() for b in flow.dataset])
    return x[:, 0, 0, 0], y


def test_missing_file_in_label_file(tmp_path, root):
    lf = tmp_path / "labels.txt"
    lf.write_text(lf.read_text() + "c1/missing.png 1\n")
    with pytest.raises(FileNotFoundError, match=r"image file not found: .*c1/missing\.png"):
        GEN.flow_from_labelfile(lf, root, (4, 4), "grayscale")
    with pytest.warns(UserWarning, match=r"skipped 1 of 10 bad image files \(1 file not found"):
        f = GEN.flow_from_labelfile(lf, root, (4, 4), "grayscale", class_mode="sparse",
                                    on_bad="skip", shuffle=False)
    assert f.samples == 9 and f.skipped[0][0].endswith("missing.png")
    px, y = first_pixels(f)
    np.testing.assert_array_equal(px // 10, y)  # labels stay aligned with their images


@pytest.mark.parametrize("kind", ["truncated_jpeg", "truncated_png", "text", "empty"])
def test_truncated_or_non_image_file(root, kind):
    bad = root / "c1" / "bad.jpg"
    noise = np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)
    if kind == "truncated_jpeg":
        _, enc = cv2.imencode(".jpg", noise)
        bad.write_bytes(enc.tobytes()[: len(enc) // 2])
        msg = "truncated JPEG: no end-of-image marker"
    elif kind == "truncated_png":
        bad = bad.with_suffix(".png")
        _, enc = cv2.imencode(".png", noise)
        bad.write_bytes(enc.tobytes()[:-30])
        msg = "truncated PNG: no IEND chunk"
    elif kind == "text":
        bad.write_text("this is not an image\n")
        msg = "not a JPEG, PNG, GIF, BMP or TIFF image"
    else:
        bad.write_bytes(b"")
        msg = r"empty file \(0 bytes\)"
    with pytest.raises(ValueError, match=f"{bad.name}: {msg}"):
        GEN.flow_from_directory(root, (4, 4))
    with pytest.warns(UserWarning, match="skipped 1 of 10 bad image files"):
        f = GEN.flow_from_directory(root, (4, 4), "grayscale", class_mode="sparse",
                                    on_bad="skip", shuffle=False)
    px, y = first_pixels(f)
    assert f.samples == 9 and np.array_equal(px // 10, y)


def test_empty_class_folder(root):
    (root / "c9_empty").mkdir()
    with pytest.raises(ValueError, match=r"c9_empty: empty class folder .* for class 'c9_empty'"):
        GEN.flow_from_directory(root, (4, 4))
    with pytest.warns(UserWarning, match="empty class folder"):
        f = GEN.flow_from_directory(root, (4, 4), on_bad="skip")
    assert f.samples == 9 and f.skipped == [(str(root / "c9_empty"), "empty class folder")]
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        GEN.flow_from_directory(root / "nope", (4, 4))


def test_label_outside_class_range(tmp_path, root):
    lf = tmp_path / "bad.txt"
    lf.write_text("c0/0.png 0\nc1/0.png 16\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: label 16 outside the class range \[0, 15\]"):
        GEN.flow_from_labelfile(lf, root, num_classes=16)
    lf.write_text("c0/0.png -1\n")
    with pytest.raises(ValueError, match="label -1 outside the class range"):
        parse_label_file(lf)
    lf.write_text("c0/0.png 3\n")
    with pytest.raises(ValueError, match="label 3 outside the class range"):
        GEN.flow_from_labelfile(lf, root, classes=["a", "b", "c"])


@pytest.mark.parametrize("line", ["c0/0.png", "c0/0.png letter", "c0/0.png 1.5"])
def test_malformed_label_line(tmp_path, root, line):
    lf = tmp_path / "bad.txt"
    lf.write_text(f"c0/1.png 0\n{line}\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: .*(malformed line|not an integer)"):
        GEN.flow_from_labelfile(lf, root)


@pytest.mark.parametrize("rel", ["../outside.png", "c0/../../outside.png", "/etc/passwd"])
def test_path_escaping_the_root(tmp_path, root, rel):
    write(tmp_path / "outside.png")
    lf = tmp_path / "bad.txt"
    lf.write_text(f"{rel} 0\n")
    with pytest.raises(ValueError, match=f"bad.txt:1: path '{rel}' escapes the data root"):
        GEN.flow_from_labelfile(lf, root)
    with pytest.raises(ValueError, match="escapes the data root"):
        GEN.flow_from_dataframe({"filename": [rel], "class": ["a"]}, root)


def test_archive_member_escaping(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("../evil.txt", "x")
    with pytest.raises(ValueError, match=r"evil\.zip: member '../evil.txt' escapes"):
        extract_archive(z, cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "evil.txt").exists()


def test_class_in_test_folder_unknown_in_training(tmp_path, root):
    train = GEN.flow_from_directory(root, (4, 4))
    test = tmp_path / "test"
    write(test / "c0" / "0.png")
    write(test / "c7" / "0.png")
    with pytest.raises(ValueError, match=r"class folder\(s\) \['c7'\] not among the known classes"):
        GEN.flow_from_directory(test, (4, 4), classes=train.class_indices)
    (test / "c7" / "0.png").unlink()
    (test / "c7").rmdir()
    write(test / "c2" / "5.png")
    with pytest.warns(UserWarning, match="c1: empty class folder"):  # no c1 in this test set
        ok = GEN.flow_from_directory(test, (4, 4), classes=train.class_indices, on_bad="skip")
    assert ok.class_indices == train.class_indices and ok.classes.tolist() == [0, 2]


def test_16bit_rgba_and_grayscale_pngs(tmp_path):
    d = tmp_path / "d" / "x"
    d.mkdir(parents=True)
    cv2.imwrite(str(d / "a16.png"), np.full((4, 4), 65535 // 2, np.uint16))
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 1] = 200  # green (BGRA)
    rgba[..., 3] = 0  # fully transparent: alpha is dropped, not applied
    cv2.imwrite(str(d / "b_rgba.png"), rgba)
    cv2.imwrite(str(d / "c_gray.png"), np.full((4, 4), 90, np.uint8))
    x = next(iter(GEN.flow_from_directory(d.parent, (4, 4), "rgb", class_mode=None,
                                          shuffle=False)))  # NumPy, as Keras 2
    assert x.shape == (3, 4, 4, 3)
    np.testing.assert_allclose(x[0, 0, 0], [127, 127, 127], atol=1)  # 16 bit scaled to 8
    np.testing.assert_allclose(x[1, 0, 0], [0, 200, 0])
    np.testing.assert_allclose(x[2, 0, 0], [90, 90, 90])
    g = next(iter(GEN.flow_from_directory(d.parent, (4, 4), "grayscale", class_mode=None,
                                          shuffle=False)))  # NumPy, as Keras 2
    assert g.shape == (3, 4, 4, 1) and abs(g[1, 0, 0, 0] - 0.587 * 200) < 1.5


def test_tiff_single_page_reads_multi_page_is_named(tmp_path):
    d = tmp_path / "t" / "x"
    d.mkdir(parents=True)
    Image.fromarray(np.full((5, 6), 77, np.uint8)).save(d / "one.tif")
    Image.fromarray(np.full((5, 6), 1000, np.uint16)).save(d / "two16.tif")
    x = next(iter(GEN.flow_from_directory(d.parent, (5, 6), "grayscale", class_mode=None,
                                          shuffle=False)))  # NumPy, as Keras 2
    assert x[0, 0, 0, 0] == 77 and x[1, 0, 0, 0] == round(1000 / 65535 * 255)
    pages = [Image.fromarray(np.full((5, 6), v, np.uint8)) for v in (1, 2, 3)]
    pages[0].save(d / "multi.tif", save_all=True, append_images=pages[1:])
    assert sniff_image(d / "one.tif") == "tiff"
    with pytest.raises(ValueError, match=r"multi\.tif: multi-page TIFF \(3 pages\)"):
        GEN.flow_from_directory(d.parent, (5, 6))
    with pytest.warns(UserWarning, match="skipped 1 of 3 bad image files"):
        f = GEN.flow_from_directory(d.parent, (5, 6), on_bad="skip")
    assert f.samples == 2


def test_image_smaller_than_the_crop(root):
    write(root / "c0" / "small.png", shape=(4, 30))
    crop = crops.box(0, 0, 6, 6, name="corner")
    with pytest.raises(ValueError, match=r"small\.png: image is 4x30, smaller than the crop 6x6"):
        GEN.flow_from_directory(root, (6, 6), crop=crop)
    with pytest.warns(UserWarning, match="skipped 1 of 10"):
        f = GEN.flow_from_directory(root, (6, 6), crop=crop, on_bad="skip")
    assert f.samples == 9
    # unchecked, the graph still stops with a message instead of a silently wrong crop
    f = GEN.flow_from_directory(root, (6, 6), crop=crop, check=False, shuffle=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="image smaller than the crop"):
        list(f.dataset)


def test_bad_arguments_name_the_value(root):
    with pytest.raises(ValueError, match="target_size must be"):
        GEN.flow_from_directory(root, (4,))
    with pytest.raises(ValueError, match="Invalid interpolation method"):
        GEN.flow_from_directory(root, (4, 4), interpolation="cubic-ish")
    with pytest.raises(ValueError, match="on_bad must be 'raise' or 'skip'"):
        GEN.flow_from_directory(root, (4, 4), on_bad="ignore")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        GEN.flow_from_directory(root, (4, 4), batch_size=0)
    with pytest.raises(ValueError, match="validation_split` must be strictly between 0 and 1"):
        ImageDataGenerator(validation_split=1.0)
    with pytest.raises(FileNotFoundError, match="label file not found"):
        GEN.flow_from_labelfile(root / "none.txt", root)
    with pytest.raises(FileNotFoundError, match="data root not found"):
        GEN.flow_from_labelfile(root / "none.txt", root / "nope")

"""Issue 21: paths judged by what they say, labels given as arrays checked like label files,
and the unclear errors of the issue named (a folder given as an image or a label file, an
empty image in a served batch)."""

from __future__ import annotations

import io
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from kerasdoc.cli import main
from kerasdoc.generators import ImageDataGenerator
from kerasdoc.generators.label_files import resolve_under

GEN = ImageDataGenerator(rescale=1 / 255)


def _png(path, value=100):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((6, 6), value, np.uint8)).save(path)
    return path


# -- paths ---------------------------------------------------------------------------------------
def test_symlinked_image_files_inside_the_root_are_read(tmp_path):
    """A label-file root whose image files are links to another disk (was: "escapes the data
    root"); the links are followed, as Keras' loaders do, and the flow names them as listed."""
    other_disk = tmp_path / "other"
    root = tmp_path / "root"
    for i, c in enumerate(("letter", "memo")):
        target = _png(other_disk / f"{c}.png", 50 + 100 * i)
        (root / "images" / c).mkdir(parents=True)
        os.symlink(target, root / "images" / c / "x.png")
    lf = root / "labels.txt"
    lf.write_text("images/letter/x.png 0\nimages/memo/x.png 1\n")
    flow = GEN.flow_from_labelfile(lf, root, target_size=(6, 6), shuffle=False, batch_size=2)
    x, y = next(iter(flow))
    assert flow.filepaths == [str(root / "images/letter/x.png"), str(root / "images/memo/x.png")]
    np.testing.assert_allclose(np.asarray(x)[:, 0, 0, 0], [50 / 255, 150 / 255], atol=1e-6)
    # a linked folder too
    os.symlink(other_disk, root / "linked")
    assert resolve_under(root, "linked/letter.png") == root / "linked" / "letter.png"
    # follow_links=False refuses them, naming the link
    with pytest.raises(ValueError, match="goes through the symbolic link .*x.png"):
        resolve_under(root, "images/letter/x.png", follow_links=False)
    with pytest.raises(ValueError, match="goes through the symbolic link .*linked"):
        resolve_under(root, "linked/letter.png", follow_links=False)


@pytest.mark.parametrize("rel", ["../other/letter.png", "images/../../other/letter.png",
                                 "ABS_OUTSIDE"])
def test_dot_dot_and_absolute_paths_outside_the_root_are_refused(tmp_path, rel):
    root = tmp_path / "root"
    _png(root / "images" / "a.png")
    _png(tmp_path / "other" / "letter.png")
    rel = str(tmp_path / "other" / "letter.png") if rel == "ABS_OUTSIDE" else rel
    lf = root / "labels.txt"
    lf.write_text(f"{rel} 0\n")
    with pytest.raises(ValueError, match="labels.txt:1: path .* escapes the data root"):
        GEN.flow_from_labelfile(lf, root, target_size=(6, 6))
    # inside: relative with '..' that stays in, and absolute into the root
    assert resolve_under(root, "x/../images/a.png") == root / "images" / "a.png"
    assert resolve_under(root, str(root / "images" / "a.png")) == root / "images" / "a.png"


def test_a_label_file_that_is_a_directory_says_so(tmp_path):
    _png(tmp_path / "images" / "a.png")
    with pytest.raises(IsADirectoryError, match="label file .*images is a directory"):
        GEN.flow_from_labelfile(tmp_path / "images", tmp_path, target_size=(6, 6))


# -- flow(x, y) labels ---------------------------------------------------------------------------
@pytest.mark.parametrize("y,message", [
    (np.array([0, 1, np.nan, 1.0]), r"y\[2\] = nan is not a finite number"),
    (np.array([0.0, np.inf, 1.0, 0.0]), r"y\[1\] = inf is not a finite number"),
    (np.array([0, 1, -1, 1]), r"y\[2\] = -1 is negative: class ids \(sparse labels\)"),
    (np.array([0.0, 1.0, 1.0, -3.0]), r"y\[3\] = -3 is negative: class ids"),
    (np.array([[1, 0], [0, 1], [1, 0], [0.0, -1.0]]),
     r"y\[3, 1\] = -1 is negative: one-hot or probability rows \(categorical labels\)"),
    (np.array([[1, 0], [0, np.nan], [1, 0], [0, 1]]), r"y\[1, 1\] = nan is not a finite"),
])
def test_flow_checks_array_labels_naming_the_first_bad_one(y, message):
    x = np.zeros((4, 6, 6, 1), np.float32)
    with pytest.raises(ValueError, match=message):
        ImageDataGenerator().flow(x, y, batch_size=2)


def test_flow_keeps_good_labels_and_regression_targets():
    x = np.zeros((4, 6, 6, 1), np.float32)
    for y in (np.array([0, 1, 2, 1]), np.eye(3)[[0, 1, 2, 0]], np.array([0.5, -1.25, 3.0, 0.1]),
              np.array(["a", "b", "a", "b"])):
        flow = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
        assert len(flow) == 1


# -- predict and serving -------------------------------------------------------------------------
def test_a_directory_given_to_predict_is_named_as_a_directory(tmp_path, capsys):
    from kerasdoc.export import read_image_file

    (tmp_path / "pages").mkdir()
    with pytest.raises(ValueError, match="pages is a directory; expected an image file"):
        read_image_file(tmp_path / "pages")
    rc = main(["predict", str(tmp_path / "model.keras"), str(tmp_path / "pages")])
    err = capsys.readouterr().err
    assert rc == 2 and "pages is a directory" in err and "does not exist" not in err


def test_an_empty_image_in_a_served_batch_is_named_by_its_index(tmp_path):
    from kerasdoc.export import export_for_serving

    inp = keras.Input((6, 6, 1))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(
        keras.layers.Flatten()(inp)))
    path = export_for_serving(model, "m", tmp_path, class_names=["a", "b"])
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 6), 9, np.uint8)).save(buf, format="PNG")
    good = buf.getvalue()
    assert serve(images=tf.constant([good, good]))["probabilities"].shape == (2, 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"images\[1\] is empty \(0 bytes\)"):
        serve(images=tf.constant([good, b"", good]))

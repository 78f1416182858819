"""A cached flow (``cache=True``, the rvl-cdip recipe's default) tells Keras its steps per epoch."""

import warnings

import numpy as np
import pytest
from test_generators import make_folder, tiny_model
from test_keras2_script import CountBatches

from kerasdoc.generators import ImageDataGenerator


@pytest.mark.parametrize("seed", [0, None])
def test_cached_flow_fits_without_running_out_of_data(tmp_path, seed):
    """Its decoded images pass through the decode guard once; unless the guard may skip files,
    the number of batches is known, so ``fit`` neither counts steps nor warns "Your input ran
    out of data" every epoch (it did: the guard's pass had unknown cardinality)."""
    folder = make_folder(tmp_path / "data", {"a": 6, "b": 4, "c": 5})
    flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        folder, (8, 8), "grayscale", batch_size=4, seed=seed, cache=True)
    assert flow.num_batches == len(flow) == 4
    steps = CountBatches()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny_model((8, 8, 1), 3).fit(flow, epochs=3, verbose=0, callbacks=[steps])
    assert steps.per_epoch == [4, 4, 4]
    assert not [w for w in caught if "ran out of data" in str(w.message)]
    seen = np.concatenate([y.numpy().argmax(1) for _, y in flow.dataset])
    assert sorted(seen.tolist()) == [0] * 6 + [1] * 4 + [2] * 5  # every image, once a pass


def test_a_cached_flow_that_may_skip_files_leaves_the_count_to_keras(tmp_path):
    """With ``on_bad="skip"`` a file that passes the header check but fails to decode is dropped
    while the cache fills: the count is not asserted (it would fail the pass)."""
    import cv2

    folder = make_folder(tmp_path / "data", {"a": 3, "b": 3})
    noise = np.random.default_rng(0).integers(0, 255, (16, 16), np.uint8)
    data = bytearray(cv2.imencode(".png", noise)[1].tobytes())
    data[60:120] = bytes(60)  # the compressed pixels, header and trailer intact
    (folder / "a" / "broken.png").write_bytes(bytes(data))
    flow = ImageDataGenerator().flow_from_directory(
        folder, (8, 8), "grayscale", batch_size=2, cache=True, on_bad="skip")
    assert flow.samples == 7 and flow.num_batches is None
    assert sum(len(x) for x, _ in flow.dataset) == 6
    assert [p for p, _ in flow.skipped] == [str(folder / "a" / "broken.png")]

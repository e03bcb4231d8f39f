"""Tests of science/cutouts.py: centring by rounding, edge candidates, channels, memmaps."""

from __future__ import annotations

import numpy as np
import pytest

from rapid_croissant.science.cutouts import cutout_bounds, extract_cutout, extract_cutouts

H, W = 40, 50


def index_image(channels: int | None = None) -> np.ndarray:
    """Pixel value = 1000 * row + col (+ 0.1 * channel), so a value names its position."""
    rows, cols = np.mgrid[0:H, 0:W]
    img = (1000.0 * rows + cols).astype(np.float32)
    if channels is None:
        return img
    return np.stack([img + 0.25 * c for c in range(channels)], axis=-1)


def test_bounds_round_to_nearest_pixel():
    # x = 10.6 lies in pixel 11 (pixel i covers [i - 0.5, i + 0.5)); int() would give 10.
    row0, row1, col0, col1 = cutout_bounds(10.6, 20.4, size=8)
    assert (col0 + 4, row0 + 4) == (11, 20)
    assert (row1 - row0, col1 - col0) == (8, 8)
    assert cutout_bounds(10.5, 0.0, size=8)[2] + 4 == 11
    assert cutout_bounds(-0.4, 0.0, size=8)[2] + 4 == 0


@pytest.mark.parametrize("size", [64, 8, 7, 1])
def test_candidate_pixel_at_centre_index(size):
    cutout, valid = extract_cutout(index_image(), 20.6, 15.2, size=size)
    c = size // 2
    assert cutout.shape == (size, size) and cutout.dtype == np.float32
    assert cutout[c, c] == 1000 * 15 + 21
    if size == 8:  # the full window fits inside the image
        assert valid.all()
        assert cutout[0, 0] == 1000 * (15 - 4) + (21 - 4)


def test_edge_candidate_stays_centred():
    size = 8
    img = index_image()
    cutout, valid = extract_cutout(img, 0.2, H - 1, size=size, fill=-1.0)
    c = size // 2
    assert cutout[c, c] == img[H - 1, 0]
    # Columns left of x=0 and rows below the last row are outside the image: filled and invalid.
    expected_valid = np.zeros((size, size), dtype=bool)
    expected_valid[: c + 1, c:] = True  # rows H-1-4 .. H-1, columns 0 .. 3
    np.testing.assert_array_equal(valid, expected_valid)
    assert np.all(cutout[~valid] == -1.0)
    np.testing.assert_array_equal(cutout[valid], img[H - 1 - c : H, 0 : size - c].ravel())


def test_window_wholly_outside_image():
    cutout, valid = extract_cutout(index_image(), -100.0, 5.0, size=6, fill=3.0)
    assert not valid.any() and np.all(cutout == 3.0)


def test_multi_channel_input():
    img = index_image(channels=3)
    cutout, valid = extract_cutout(img, W - 1.0, 2.0, size=6)
    assert cutout.shape == (6, 6, 3) and valid.shape == (6, 6)
    np.testing.assert_array_equal(cutout[3, 3], img[2, W - 1])
    # Row -1 and columns W, W + 1 are outside the image.
    assert valid[1:, :4].all() and not valid[0].any() and not valid[:, 4:].any()
    assert np.all(cutout[~valid] == 0.0)


def test_memmap_input(tmp_path):
    img = index_image(channels=2)
    np.save(tmp_path / "img.npy", img)
    mm = np.load(tmp_path / "img.npy", mmap_mode="r")
    cutout, valid = extract_cutout(mm, 30.0, 30.0, size=10)
    assert type(cutout) is np.ndarray and cutout.dtype == np.float32
    np.testing.assert_array_equal(cutout, img[25:35, 25:35])
    cutouts, masks = extract_cutouts(mm, [30.0, 0.0], [30.0, 0.0], size=10)
    np.testing.assert_array_equal(cutouts[0], cutout)
    assert masks[0].all() and masks[1].sum() == 5 * 5


def test_batched_equals_single():
    img = index_image(channels=2)
    xs, ys = np.array([0.2, 25.7, W - 1.4]), np.array([H - 1.0, 10.1, 0.49])
    cutouts, masks = extract_cutouts(img, xs, ys, size=16, fill=np.nan)
    assert cutouts.shape == (3, 16, 16, 2) and masks.shape == (3, 16, 16)
    for k in range(3):
        single, valid = extract_cutout(img, xs[k], ys[k], size=16, fill=np.nan)
        np.testing.assert_array_equal(cutouts[k], single)
        np.testing.assert_array_equal(masks[k], valid)
    empty, empty_masks = extract_cutouts(img, [], [], size=16)
    assert empty.shape == (0, 16, 16, 2) and empty_masks.shape == (0, 16, 16)


def test_bad_arguments():
    img = index_image()
    with pytest.raises(ValueError, match="size"):
        extract_cutout(img, 1.0, 1.0, size=0)
    with pytest.raises(ValueError, match="x and y"):
        cutout_bounds(np.nan, 1.0)
    with pytest.raises(ValueError, match="image"):
        extract_cutout(np.zeros(5), 1.0, 1.0)
    with pytest.raises(ValueError, match="xs and ys"):
        extract_cutouts(img, [1.0, 2.0], [1.0])

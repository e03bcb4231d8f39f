"""Tests of science/normalize.py: ZScale limits and normalisation, resizing, the NaN bit mask."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from astropy.visualization import ZScaleInterval
from scipy import ndimage

from rapid_croissant.formats import CHANNELS, STAMP_CHANNELS
from rapid_croissant.science.normalize import (
    channel_bit,
    nan_mask_bits,
    resize_to_shape,
    zscale_limits,
    zscale_normalize_into,
)


def smooth_image(shape=(300, 280), seed=0) -> np.ndarray:
    """A smooth random float32 image: Gaussian-filtered noise on a gradient, with a few bright stars."""
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.normal(size=shape), 3.0) * 40.0
    img += np.linspace(0.0, 5.0, shape[1])[None, :]
    img[rng.integers(0, shape[0], 20), rng.integers(0, shape[1], 20)] += 500.0
    return img.astype(np.float32)


# ------------------------------------------------------------------------------------------------ limits


def test_limits_equal_astropy_on_full_data():
    img = smooth_image()
    expected = ZScaleInterval().get_limits(img)
    assert zscale_limits(img) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    # Limits are inside the data range and exclude the bright stars.
    vmin, vmax = zscale_limits(img)
    assert img.min() <= vmin < vmax < 500.0


def test_limits_equal_astropy_with_nans_and_on_strided_view():
    img = smooth_image()
    img[:50] = np.nan  # a masked region changes which pixels are sampled
    img[100:120, 30:60] = np.inf
    expected = ZScaleInterval().get_limits(img)
    assert zscale_limits(img) == pytest.approx(expected, rel=1e-6, abs=1e-6)
    tensor = np.zeros((*img.shape, 3), dtype=np.float32)
    tensor[:, :, 1] = img
    assert zscale_limits(tensor[:, :, 1]) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_limits_options_are_passed_to_zscale():
    img = smooth_image()
    narrow = zscale_limits(img, contrast=1.0)
    wide = zscale_limits(img, contrast=0.1)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]
    assert zscale_limits(img, n_samples=300) == pytest.approx(
        ZScaleInterval(n_samples=300).get_limits(img), rel=1e-6
    )


def test_limits_of_degenerate_planes():
    assert zscale_limits(np.full((20, 20), np.nan, dtype=np.float32)) == (0.0, 1.0)
    assert zscale_limits(np.full((20, 20), 7.0)) == (7.0, 8.0)
    assert zscale_limits(np.empty((0, 5))) == (0.0, 1.0)
    one = np.full((20, 20), np.nan)
    one[3, 4] = 2.5
    assert zscale_limits(one) == (2.5, 3.5)


@pytest.mark.parametrize("bad", [{"n_samples": 0}, {"contrast": -1.0}, {"max_reject": 1.5}])
def test_limits_reject_bad_options(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        zscale_limits(smooth_image((10, 10)), **bad)


# ------------------------------------------------------------------------------------------- normalise


def test_normalize_matches_seed_formula_in_float32():
    img = smooth_image().astype(np.float64)  # SFFT products are float64
    img[10:20, 10:20] = np.nan
    out = np.full(img.shape, -5.0, dtype=np.float32)
    vmin, vmax = zscale_normalize_into(img, out)

    filled = np.nan_to_num(img)  # the seed: NaN -> 0 first, limits on that data
    seed_vmin, seed_vmax = ZScaleInterval().get_limits(filled)
    assert (vmin, vmax) == pytest.approx((seed_vmin, seed_vmax), rel=1e-6)
    expected = np.clip((filled - seed_vmin) / (seed_vmax - seed_vmin), 0, 1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.min() == 0.0 and out.max() == 1.0  # the stars saturate, the faint side clips
    # A NaN pixel holds exactly the normalised value of 0.
    zero_value = np.float32(np.clip((0.0 - vmin) / (vmax - vmin), 0, 1))
    assert 0.0 < zero_value < 1.0
    assert np.all(out[10:20, 10:20] == pytest.approx(zero_value, abs=1e-6))


def test_normalize_writes_into_strided_channel_in_place():
    img = smooth_image()
    tensor = np.full((*img.shape, 3), 9.0, dtype=np.float32)
    view = tensor[:, :, 1]
    reference = np.empty(img.shape, dtype=np.float32)
    limits = zscale_normalize_into(img, view)
    assert zscale_normalize_into(img, reference) == limits
    np.testing.assert_array_equal(tensor[:, :, 1], reference)
    assert np.all(tensor[:, :, 0] == 9.0) and np.all(tensor[:, :, 2] == 9.0)


def test_normalize_into_memmap(tmp_path):
    img = smooth_image((64, 50))
    mm = np.lib.format.open_memmap(tmp_path / "t.npy", mode="w+", dtype=np.float32, shape=(64, 50, 2))
    zscale_normalize_into(img, mm[:, :, 1])
    mm.flush()
    expected = np.empty(img.shape, dtype=np.float32)
    zscale_normalize_into(img, expected)
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy")[:, :, 1], expected)


def test_normalize_peak_memory_is_far_below_a_float64_copy():
    img = smooth_image((1024, 1024))
    out = np.empty_like(img)
    float64_copy = img.size * 8
    tracemalloc.start()
    try:
        zscale_normalize_into(img, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # numpy reports its buffers to tracemalloc; a float32 copy of the plane would already be 4 MiB.
    assert peak < float64_copy / 4
    assert out.dtype == np.float32 and out.max() <= 1.0


def test_normalize_degenerate_planes_without_warnings():
    out = np.empty((8, 8), dtype=np.float32)
    assert zscale_normalize_into(np.full((8, 8), np.nan), out) == (0.0, 1.0)
    assert np.all(out == 0.0)
    assert zscale_normalize_into(np.full((8, 8), 3.0, dtype=np.float32), out) == (3.0, 4.0)
    assert np.all(out == 0.0)


def test_normalize_rejects_bad_out():
    img = smooth_image((8, 8))
    with pytest.raises(ValueError, match="out"):
        zscale_normalize_into(img, np.empty((8, 8), dtype=np.float64))
    with pytest.raises(ValueError, match="plane"):
        zscale_normalize_into(img, np.empty((8, 9), dtype=np.float32))


# ----------------------------------------------------------------------------------------------- resize


def test_resize_stamp_to_exact_shape_bilinear():
    def plane(rows, cols):  # a linear function of position: bilinear interpolation reproduces it
        return 2.0 * rows[:, None] + 0.1 * cols[None, :]

    stamp = plane(np.arange(61.0), np.arange(61.0))
    out = resize_to_shape(stamp, (511, 300))
    assert out.shape == (511, 300) and out.dtype == np.float32
    # Corners map onto corners: output pixel k samples the stamp at k * 60 / (n - 1).
    expected = plane(np.arange(511) * 60 / 510, np.arange(300) * 60 / 299)
    np.testing.assert_allclose(out, expected, atol=1e-4)
    assert out[-1, -1] == pytest.approx(stamp[-1, -1])


@pytest.mark.parametrize("shape", [(4089, 4089), (4088, 17), (7, 4089)])
def test_resize_hits_awkward_shapes(shape):
    stamp = np.ones((61, 61), dtype=np.float32)
    out = resize_to_shape(stamp, shape)
    assert out.shape == shape and np.all(out == 1.0)


def test_resize_same_shape_is_a_float32_copy():
    stamp = np.eye(5)
    out = resize_to_shape(stamp, (5, 5))
    assert out.dtype == np.float32 and not np.shares_memory(out, stamp)
    np.testing.assert_array_equal(out, stamp)


@pytest.mark.parametrize("shape", [(0, 5), (5,), (5, -1), (2.5, 3)])
def test_resize_rejects_bad_shape(shape):
    with pytest.raises(ValueError, match="shape"):
        resize_to_shape(np.ones((3, 3)), shape)


# --------------------------------------------------------------------------------------------- NaN mask


def test_channel_bits_follow_schema_order():
    assert [channel_bit(name) for name in CHANNELS] == [1 << k for k in range(len(CHANNELS))]
    with pytest.raises(ValueError, match="name"):
        channel_bit("diff")


def test_nan_mask_bits_per_channel():
    shape = (6, 5)
    planes = {name: np.zeros(shape, dtype=np.float32) for name in CHANNELS if name not in STAMP_CHANNELS}
    planes["psf"] = np.full((3, 3), np.nan)  # a stamp says nothing about pixels
    planes["zogy_diff"][1, 2] = np.nan
    planes["zogy_scorr"][1, 2] = np.nan
    planes["sfft_diff"][4, 0] = np.inf
    mask = nan_mask_bits(planes, shape=shape)
    assert mask.dtype == np.uint16 and mask.shape == shape
    assert mask[1, 2] == channel_bit("zogy_diff") | channel_bit("zogy_scorr")
    assert mask[4, 0] == channel_bit("sfft_diff")
    assert np.count_nonzero(mask) == 2


def test_nan_mask_bits_absent_channels_set_everywhere():
    shape = (4, 4)
    planes = {name: np.zeros(shape) for name in ("sci", "ref", "zogy_diff", "zogy_scorr", "zogy_uncert")}
    mask = nan_mask_bits(planes, shape=shape)
    sfft = channel_bit("sfft_diff") | channel_bit("sfft_scorr") | channel_bit("sfft_uncert")
    assert np.all(mask == sfft)  # psf is absent too, but its bit stays 0
    assert not np.any(mask & channel_bit("psf"))


def test_nan_mask_bits_rejects_unknown_or_misshapen_planes():
    with pytest.raises(ValueError, match="planes"):
        nan_mask_bits({"diff": np.zeros((2, 2))}, shape=(2, 2))
    with pytest.raises(ValueError, match="sci"):
        nan_mask_bits({"sci": np.zeros((2, 3))}, shape=(2, 2))

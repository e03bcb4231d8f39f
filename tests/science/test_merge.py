"""Tests of science/merge.py: position-based merge of ZOGY and SFFT detections."""

from __future__ import annotations

import numpy as np
import pytest

from rapid_croissant.science.merge import merge_by_position


def merged_pairs(result) -> set[tuple[int, int]]:
    both = (result.zogy_index >= 0) & (result.sfft_index >= 0)
    return set(zip(result.zogy_index[both].tolist(), result.sfft_index[both].tolist(), strict=True))


def assert_every_row_once(result, n_zogy, n_sfft):
    z = result.zogy_index[result.zogy_index >= 0]
    s = result.sfft_index[result.sfft_index >= 0]
    assert sorted(z.tolist()) == list(range(n_zogy))
    assert sorted(s.tolist()) == list(range(n_sfft))
    assert np.all((result.zogy_index >= 0) | (result.sfft_index >= 0))


def test_rows_are_never_paired_by_row_order():
    # Like RAPID's catalogs both are y-ordered, so row k of each sits at a similar y but a different x.
    # The true counterparts are shifted by one row (SFFT found an extra source first).
    rng = np.random.default_rng(7)
    ys = np.sort(rng.uniform(0, 500, 30))
    xs = rng.uniform(0, 500, 30)
    zogy = np.column_stack([xs, ys])[1:]
    sfft = np.column_stack([xs, ys]) + rng.normal(0, 0.2, size=(30, 2))
    sfft[0] += 40.0  # SFFT's extra source, far from everything
    result = merge_by_position(zogy, sfft, radius=1.0)
    assert merged_pairs(result) == {(k, k + 1) for k in range(29)}
    assert not any(z == s for z, s in merged_pairs(result))
    assert_every_row_once(result, 29, 30)


def test_far_apart_rows_are_not_merged():
    zogy = np.array([[10.0, 10.0], [100.0, 20.0]])
    sfft = np.array([[300.0, 10.0], [400.0, 20.0]])
    result = merge_by_position(zogy, sfft, radius=1.0)
    assert merged_pairs(result) == set()
    np.testing.assert_array_equal(result.zogy_index, [0, 1, -1, -1])
    np.testing.assert_array_equal(result.sfft_index, [-1, -1, 0, 1])
    assert np.all(np.isnan(result.distance))


def test_mutual_nearest_three_points():
    # Z0 -- 0.6 -- S0 -- 0.4 -- Z1: S0's nearest is Z1, so only (Z1, S0) merge and Z0 stays ZOGY-only,
    # although Z0 is within the radius of S0.
    zogy = np.array([[0.0, 0.0], [1.0, 0.0]])
    sfft = np.array([[0.6, 0.0]])
    result = merge_by_position(zogy, sfft, radius=1.0)
    assert merged_pairs(result) == {(1, 0)}
    np.testing.assert_array_equal(result.zogy_index, [0, 1])
    np.testing.assert_array_equal(result.sfft_index, [-1, 0])
    np.testing.assert_allclose(result.distance, [np.nan, 0.4])


def test_output_order_and_dtypes():
    zogy = np.array([[5.0, 5.0], [50.0, 50.0], [90.0, 9.0]])
    sfft = np.array([[70.0, 1.0], [90.2, 9.0], [5.0, 5.3], [20.0, 20.0]])
    result = merge_by_position(zogy, sfft, radius=1.0)
    np.testing.assert_array_equal(result.zogy_index, [0, 1, 2, -1, -1])
    np.testing.assert_array_equal(result.sfft_index, [2, -1, 1, 0, 3])
    np.testing.assert_allclose(result.distance, [0.3, np.nan, 0.2, np.nan, np.nan])
    assert result.zogy_index.dtype == np.int64 and result.sfft_index.dtype == np.int64
    assert result.distance.dtype == np.float64
    assert len(result) == 5


def test_radius_limits_mutual_pairs():
    zogy = np.array([[0.0, 0.0]])
    sfft = np.array([[1.5, 0.0]])
    assert merged_pairs(merge_by_position(zogy, sfft, radius=1.0)) == set()
    assert merged_pairs(merge_by_position(zogy, sfft, radius=1.5)) == {(0, 0)}


def test_dense_random_catalogs_every_row_once():
    rng = np.random.default_rng(11)
    zogy = rng.uniform(0, 100, size=(400, 2))
    sfft = np.concatenate([zogy[:300] + rng.normal(0, 0.3, (300, 2)), rng.uniform(0, 100, (150, 2))])
    sfft = sfft[rng.permutation(sfft.shape[0])]
    result = merge_by_position(zogy, sfft, radius=1.0)
    assert_every_row_once(result, 400, 450)
    both = np.isfinite(result.distance)
    assert np.all(result.distance[both] <= 1.0)
    # Each merged pair is mutual nearest among all detections.
    for z, s in merged_pairs(result):
        assert np.argmin(np.hypot(*(sfft - zogy[z]).T)) == s
        assert np.argmin(np.hypot(*(zogy - sfft[s]).T)) == z


@pytest.mark.parametrize(("n_zogy", "n_sfft"), [(0, 0), (0, 3), (3, 0)])
def test_empty_catalogs(n_zogy, n_sfft):
    zogy = np.arange(2 * n_zogy, dtype=float).reshape(n_zogy, 2)
    sfft = np.arange(2 * n_sfft, dtype=float).reshape(n_sfft, 2)
    result = merge_by_position(zogy, sfft, radius=1.0)
    assert len(result) == n_zogy + n_sfft
    assert_every_row_once(result, n_zogy, n_sfft)


def test_non_finite_position_stays_its_own_candidate():
    zogy = np.array([[np.nan, np.nan], [3.0, 3.0]])
    sfft = np.array([[3.1, 3.0]])
    result = merge_by_position(zogy, sfft, radius=1.0)
    assert merged_pairs(result) == {(1, 0)}
    assert_every_row_once(result, 2, 1)


def test_bad_radius():
    with pytest.raises(ValueError, match="radius"):
        merge_by_position([[0.0, 0.0]], [[0.0, 0.0]], radius=-1.0)

"""Tests of science/matching.py: one-to-one detection-truth matching and the nearest-truth lookup."""

from __future__ import annotations

import numpy as np
import pytest

from rapid_croissant.science.matching import match_one_to_one, nearest_within


def pairs(result) -> set[tuple[int, int]]:
    return set(zip(result.det_index.tolist(), result.truth_index.tolist(), strict=True))


def test_closest_pair_wins_over_truth_order():
    # Truth 0 is nearest to detection 0 (0.8 px), but detection 0 is much closer to truth 1 (0.1 px).
    # A seed-style loop over truth rows would give detection 0 to truth 0; closest-first gives it to truth 1
    # and leaves truth 0 to detection 1.
    truth = np.array([[10.0, 10.0], [10.9, 10.0]])
    det = np.array([[10.8, 10.0], [9.0, 10.0]])
    result = match_one_to_one(det, truth, radius=1.5)
    assert pairs(result) == {(0, 1), (1, 0)}
    np.testing.assert_allclose(result.distance, [0.1, 1.0])
    assert result.det_index.dtype == np.int64 and result.truth_index.dtype == np.int64
    assert result.distance.dtype == np.float64


def test_each_detection_and_truth_used_at_most_once():
    # Two detections of one source (a split detection): only the closer is matched.
    truth = np.array([[50.0, 50.0]])
    det = np.array([[50.6, 50.0], [50.2, 50.1], [80.0, 80.0]])
    result = match_one_to_one(det, truth, radius=1.0)
    assert pairs(result) == {(1, 0)}


def test_detection_between_two_truths():
    truth = np.array([[0.0, 0.0], [2.0, 0.0]])
    det = np.array([[1.2, 0.0]])  # 1.2 px from truth 0, 0.8 px from truth 1
    result = match_one_to_one(det, truth, radius=1.5)
    assert pairs(result) == {(0, 1)}
    # An exact tie goes to the lower truth index.
    assert pairs(match_one_to_one([[1.0, 0.0]], truth, radius=1.5)) == {(0, 0)}


def test_radius_boundary_is_inclusive():
    truth = np.array([[0.0, 0.0]])
    det = np.array([[3.0, 4.0]])  # exactly 5 px away
    assert pairs(match_one_to_one(det, truth, radius=5.0)) == {(0, 0)}
    assert len(match_one_to_one(det, truth, radius=4.999)) == 0


def test_result_sorted_by_detection_index():
    rng = np.random.default_rng(3)
    truth = rng.uniform(0, 200, size=(40, 2))
    det = np.concatenate([truth + rng.normal(0, 0.3, size=truth.shape), rng.uniform(0, 200, size=(30, 2))])
    det = det[rng.permutation(det.shape[0])]
    result = match_one_to_one(det, truth, radius=1.0)
    assert np.all(np.diff(result.det_index) > 0)
    assert np.unique(result.truth_index).size == len(result)
    assert len(result) >= 35
    assert np.all(result.distance <= 1.0)


@pytest.mark.parametrize(
    ("det", "truth"),
    [(np.empty((0, 2)), np.array([[1.0, 1.0]])), (np.array([[1.0, 1.0]]), np.empty((0, 2))), ([], [])],
)
def test_empty_inputs(det, truth):
    result = match_one_to_one(det, truth, radius=2.0)
    assert len(result) == 0 and result.det_index.dtype == np.int64 and result.distance.dtype == np.float64


def test_non_finite_positions_never_match():
    det = np.array([[np.nan, 1.0], [5.0, 5.0]])
    truth = np.array([[5.0, 5.0], [1.0, 1.0]])
    assert pairs(match_one_to_one(det, truth, radius=1.0)) == {(1, 0)}


@pytest.mark.parametrize("radius", [0.0, -1.0, np.nan, np.inf])
def test_bad_radius(radius):
    with pytest.raises(ValueError, match="radius"):
        match_one_to_one([[0.0, 0.0]], [[0.0, 0.0]], radius=radius)


def test_bad_shape_names_the_argument():
    with pytest.raises(ValueError, match="truth_xy"):
        match_one_to_one([[0.0, 0.0]], [[0.0, 0.0, 0.0]], radius=1.0)


def test_nearest_within():
    truth = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 1.0]])
    det = np.array([[0.5, 0.0], [10.0, 0.4], [30.0, 0.0], [10.0, 0.5]])
    index, distance = nearest_within(det, truth, radius=2.0)
    np.testing.assert_array_equal(index, [0, 1, -1, 1])  # last: a tie, lowest truth index
    np.testing.assert_allclose(distance, [0.5, 0.4, np.nan, 0.5])
    assert index.dtype == np.int64
    # Not one-to-one: two detections may share a truth source.
    assert np.sum(index == 1) == 2


def test_nearest_within_empty():
    index, distance = nearest_within(np.array([[1.0, 2.0]]), np.empty((0, 2)), radius=1.0)
    np.testing.assert_array_equal(index, [-1])
    assert np.isnan(distance[0])
    index, distance = nearest_within(np.empty((0, 2)), np.array([[1.0, 2.0]]), radius=1.0)
    assert index.size == 0 and distance.size == 0

"""Calibration fitted on val (ml/calibration.py): ranking kept, Brier score and ECE improved, reliability
bins with Wilson intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rapid_croissant.ml.calibration import (
    apply_calibration,
    calibration_summary,
    fit_calibration,
    reliability,
)


def _overconfident(n: int, seed: int):
    """Labels and scores pushed towards 0 and 1 far more than the labels justify."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    z = (2 * y - 1) * 0.8 + rng.normal(0, 1.0, n)
    return y, 1 / (1 + np.exp(-6 * z))


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_on_val_improves_test_brier_and_ece(method):
    yv, sv = _overconfident(2000, 0)
    yt, st = _overconfident(2000, 1)
    out = calibration_summary(yv, sv, yt, st, method=method)
    assert out["map"]["method"] == method and out["fitted_on"] == "val"
    assert out["test_calibrated"]["brier"] < out["test_raw"]["brier"]
    assert out["test_calibrated"]["ece"] < out["test_raw"]["ece"] / 2
    p = apply_calibration(out["map"], st)
    assert ((p >= 0) & (p <= 1)).all()
    assert np.all(np.diff(p[np.argsort(st)]) >= -1e-12)  # monotone in the score


def test_platt_keeps_the_ranking_exactly():
    y, s = _overconfident(500, 2)
    p = apply_calibration(fit_calibration(y, s, "platt"), s)
    from scipy.stats import rankdata

    np.testing.assert_array_equal(rankdata(p), rankdata(s))
    assert roc_auc_score(y, p) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_none_and_one_class_leave_the_scores():
    s = np.array([0.2, 0.9])
    assert fit_calibration([1, 1], s, "platt") == {"method": "none"}
    np.testing.assert_array_equal(apply_calibration(fit_calibration([0, 1], s, "none"), s), s)
    with pytest.raises(ValueError, match="method"):
        fit_calibration([0, 1], s, "beta")


def test_reliability_bins_count_every_row_with_wilson_intervals():
    y, s = _overconfident(300, 3)
    bins = reliability(y, s, n_bins=10)
    assert sum(b["n"] for b in bins) == 300
    for b in bins:
        assert b["low_edge"] <= b["mean_probability"] <= b["high_edge"]
        assert 0 <= b["fraction_low"] <= b["fraction_real"] <= b["fraction_high"] <= 1

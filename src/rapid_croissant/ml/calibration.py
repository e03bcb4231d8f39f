"""Calibrated probabilities: a monotone map from a run's scores to P(real), fitted on the validation split.

Platt scaling (a logistic fit on the score's logit; strictly increasing, so every ranking metric is
unchanged) or isotonic regression (sklearn, stepwise: it can tie scores, so ranking metrics are always
computed on the raw scores). The fitted map is a small JSON dict kept in evaluation.json, so ``score``
applies the same map to new candidates. The reliability diagram bins the test probabilities in equal-width
bins with the fraction of real candidates in each and its Wilson interval.
"""

from __future__ import annotations

import numpy as np

from rapid_croissant.ml.completeness import wilson_interval
from rapid_croissant.ml.metrics import expected_calibration_error

__all__ = ["METHODS", "apply_calibration", "calibration_summary", "fit_calibration", "reliability"]

METHODS = ("platt", "isotonic", "none")
#: Scores are clipped only at the ends of float64 so that distinct scores keep distinct logits (ranking).
_LOW, _HIGH = np.finfo(float).tiny, np.nextafter(1.0, 0.0)


def _logit(score) -> np.ndarray:
    p = np.clip(np.asarray(score, dtype=float), _LOW, _HIGH)
    return np.log(p) - np.log1p(-p)


def fit_calibration(y, score, method: str = "platt") -> dict:
    """Fit ``method`` on labelled (y, score) pairs (the validation split); return the map as a JSON dict."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    y, score = np.asarray(y, dtype=np.int64), np.asarray(score, dtype=float)
    if method == "none" or np.unique(y).size < 2:
        return {"method": "none"}
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        fit = LogisticRegression(C=1e6).fit(_logit(score)[:, None], y)
        return {"method": "platt", "a": float(fit.coef_[0, 0]), "b": float(fit.intercept_[0])}
    from sklearn.isotonic import IsotonicRegression

    fit = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(score, y)
    return {"method": "isotonic", "x": fit.X_thresholds_.tolist(), "y": fit.y_thresholds_.tolist()}


def apply_calibration(params: dict, score) -> np.ndarray:
    """P(real) of each score under a map from :func:`fit_calibration` (the raw score for ``none``)."""
    score = np.asarray(score, dtype=float)
    if params["method"] == "platt":
        from scipy.special import expit

        return expit(params["a"] * _logit(score) + params["b"])
    if params["method"] == "isotonic":
        return np.interp(score, params["x"], params["y"])
    return np.clip(score, 0.0, 1.0)


def reliability(y, prob, *, n_bins: int = 10) -> list[dict]:
    """Equal-width probability bins: count, mean probability, fraction real and its Wilson interval."""
    y, prob = np.asarray(y, dtype=np.int64), np.asarray(prob, dtype=float)
    bins = np.minimum((prob * n_bins).astype(np.intp), n_bins - 1)
    n = np.bincount(bins, minlength=n_bins)
    k = np.bincount(bins, weights=y, minlength=n_bins)
    mean_p = np.bincount(bins, weights=prob, minlength=n_bins)
    low, high = wilson_interval(k, n)
    rows = []
    for b in range(n_bins):
        if n[b] == 0:
            continue
        rows.append(
            {
                "low_edge": b / n_bins,
                "high_edge": (b + 1) / n_bins,
                "n": int(n[b]),
                "mean_probability": float(mean_p[b] / n[b]),
                "fraction_real": float(k[b] / n[b]),
                "fraction_low": float(low[b]),
                "fraction_high": float(high[b]),
            }
        )
    return rows


def _quality(y, prob) -> dict:
    from sklearn.metrics import brier_score_loss

    if len(y) == 0:
        return {"brier": float("nan"), "ece": float("nan")}
    return {"brier": float(brier_score_loss(y, prob)), "ece": expected_calibration_error(y, prob)}


def calibration_summary(val_y, val_score, test_y, test_score, *, method: str = "platt") -> dict:
    """Fit on val, then the test Brier score and ECE before and after, and both reliability diagrams."""
    params = fit_calibration(val_y, val_score, method)
    raw = np.clip(np.asarray(test_score, dtype=float), 0.0, 1.0)
    calibrated = apply_calibration(params, test_score)
    return {
        "fitted_on": "val",
        "n_val": int(len(val_y)),
        "map": params,
        "test_raw": _quality(test_y, raw),
        "test_calibrated": _quality(test_y, calibrated),
        "reliability_raw": reliability(test_y, raw),
        "reliability_calibrated": reliability(test_y, calibrated),
    }

"""Classifier metrics for real/bogus scores, with cluster-bootstrap confidence intervals.

Scores follow scikit-learn's convention: a candidate is called real when ``score >= threshold``. The operating
points (FPR at fixed FNR, missed-detection rate at fixed FPR) follow the ZTF/ATLAS convention described in
docs ml_evaluation.md §4-5. Intervals resample groups (fields or jobs), not rows, because rows of one job
share
a reference image, hosts, PSF and background.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    matthews_corrcoef,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

__all__ = [
    "LOWER_IS_BETTER",
    "METRIC_NAMES",
    "choose_threshold",
    "classification_metrics",
    "expected_calibration_error",
    "fpr_at_fnr",
    "group_bootstrap",
    "mdr_at_fpr",
    "paired_group_bootstrap",
    "threshold_for_fnr",
]

#: Performance metrics returned by :func:`classification_metrics` (the bookkeeping keys are left out).
METRIC_NAMES = (
    "roc_auc",
    "average_precision",
    "fpr_at_fnr_1pct",
    "fpr_at_fnr_5pct",
    "mdr_at_fpr_1pct",
    "mcc",
    "f1",
    "brier",
    "ece",
    "balanced_accuracy",
)
#: Metrics where a smaller value means a better classifier (used by the paired bootstrap).
LOWER_IS_BETTER = frozenset({"brier", "ece", "fpr_at_fnr_1pct", "fpr_at_fnr_5pct", "mdr_at_fpr_1pct"})

# Rates are compared with this slack so that e.g. 1 - 99/100 counts as an FNR of 1 %.
_RATE_TOL = 1e-12
_ECE_BINS = 15


def _check_binary(y_true, score, *, score_name="score") -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(score, dtype=float)
    if y.ndim != 1 or s.ndim != 1 or y.shape != s.shape:
        raise ValueError(
            f"y_true and {score_name} must be 1-d arrays of equal length, got {y.shape} and {s.shape}"
        )
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must contain only 0/1 (bogus/real) labels")
    if not np.isfinite(s).all():
        raise ValueError(f"{score_name} contains NaN or infinite values")
    return y.astype(np.int8), s


def _check_rate(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return float(value)


def _index_at_fnr(tpr: np.ndarray, fnr: float) -> int:
    # ROC points run from the highest threshold down; the first point with FNR <= fnr is the largest
    # threshold.
    return int(np.flatnonzero(1.0 - tpr <= fnr + _RATE_TOL)[0])


def _index_at_fpr(fpr: np.ndarray, target: float) -> int:
    # The last point whose FPR is still within the target: the most permissive threshold allowed.
    return int(np.flatnonzero(fpr <= target + _RATE_TOL)[-1])


def _roc(y: np.ndarray, s: np.ndarray):
    if y.all() or not y.any():
        return None
    return roc_curve(y, s, drop_intermediate=False)


def _roc_at_fnr(y_true, score, fnr: float):
    """(fpr, tpr, thresholds, index of the largest threshold with FNR <= fnr), or None for one class only."""
    fnr = _check_rate(fnr, "fnr")
    curve = _roc(*_check_binary(y_true, score))
    return None if curve is None else (*curve, _index_at_fnr(curve[1], fnr))


def fpr_at_fnr(y_true, score, *, fnr: float) -> float:
    """False-positive rate at the largest threshold whose missed-detection rate is at most ``fnr``."""
    at = _roc_at_fnr(y_true, score, fnr)
    return float("nan") if at is None else float(at[0][at[3]])


def threshold_for_fnr(y_true, score, *, fnr: float) -> float:
    """Largest score threshold whose missed-detection rate is at most ``fnr`` (``inf`` when ``fnr`` is 1)."""
    at = _roc_at_fnr(y_true, score, fnr)
    return float("nan") if at is None else float(at[2][at[3]])


def mdr_at_fpr(y_true, score, *, fpr: float) -> float:
    """Missed-detection rate (FNR) at the most permissive threshold whose false-positive rate is at most
    ``fpr``."""
    fpr = _check_rate(fpr, "fpr")
    curve = _roc(*_check_binary(y_true, score))
    if curve is None:
        return float("nan")
    fprs, tpr, _ = curve
    return float(1.0 - tpr[_index_at_fpr(fprs, fpr)])


def _ece(y: np.ndarray, p: np.ndarray, w: np.ndarray | None, n_bins: int) -> float:
    # sklearn has calibration_curve but no ECE. With equal-width bins, sum_b (W_b/W)|acc_b - conf_b| equals
    # sum_b |sum_{i in b} w_i (y_i - p_i)| / W, which needs a single bincount.
    if p.size == 0:
        return float("nan")
    w = np.ones_like(p) if w is None else w
    bins = np.minimum((p * n_bins).astype(np.intp), n_bins - 1)
    gap = np.bincount(bins, weights=w * (y - p), minlength=n_bins)
    return float(np.abs(gap).sum() / w.sum())


def expected_calibration_error(y_true, prob, *, n_bins: int = _ECE_BINS) -> float:
    """Expected calibration error: bin-weighted mean of |fraction real - mean probability| over equal-width
    bins."""
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    y, p = _check_binary(y_true, prob, score_name="prob")
    if p.size and (p.min() < 0.0 or p.max() > 1.0):
        raise ValueError("prob must be probabilities in [0, 1]")
    return _ece(y, p, None, int(n_bins))


def classification_metrics(y_true, score, *, threshold: float = 0.5) -> dict[str, float]:
    """All classifier-level metrics of ml_evaluation.md §5 G4; NaN where the input makes a metric
    undefined."""
    y, s = _check_binary(y_true, score)
    if s.size and (s.min() < 0.0 or s.max() > 1.0):
        raise ValueError("score must be probabilities in [0, 1] (Brier score and ECE need them)")
    n, n_pos = int(y.size), int(y.sum())
    out = dict.fromkeys(METRIC_NAMES, float("nan"))
    out.update(n=n, n_pos=n_pos, n_neg=n - n_pos, threshold=float(threshold))
    if n == 0:
        return out
    pred = s >= threshold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        out["brier"] = float(brier_score_loss(y, s))
        out["ece"] = _ece(y, s, None, _ECE_BINS)
        out["f1"] = float(f1_score(y, pred, zero_division=np.nan))
        if 0 < n_pos < n:  # the rest needs both classes
            out["roc_auc"] = float(roc_auc_score(y, s))
            out["average_precision"] = float(average_precision_score(y, s))
            out["mcc"] = float(matthews_corrcoef(y, pred))
            out["balanced_accuracy"] = float(0.5 * (pred[y == 1].mean() + (~pred[y == 0]).mean()))
            fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
            out["fpr_at_fnr_1pct"] = float(fpr[_index_at_fnr(tpr, 0.01)])
            out["fpr_at_fnr_5pct"] = float(fpr[_index_at_fnr(tpr, 0.05)])
            out["mdr_at_fpr_1pct"] = float(1.0 - tpr[_index_at_fpr(fpr, 0.01)])
    return out


def _weighted_sorted_metrics(y, s, w, *, threshold: float = 0.5) -> dict[str, float]:
    """:func:`classification_metrics` on rows repeated ``w`` times, for rows already sorted by decreasing
    score.

    Hand-written because sklearn re-sorts and re-validates on every call (~15 ms for 20k rows); a bootstrap
    resample only changes the row multiplicities, so one sort serves all resamples. The formulas are
    sklearn's (trapezoidal ROC AUC, step-wise AP, MCC from the confusion matrix, which sklearn sets to 0
    when a margin is empty); tests check agreement with :func:`classification_metrics`.
    """
    keep = w > 0
    y, s, w = y[keep], s[keep], w[keep]
    wy = w * y
    n, n_pos = float(w.sum()), float(wy.sum())
    n_neg = n - n_pos
    out = dict.fromkeys(METRIC_NAMES, float("nan"))
    out.update(n=n, n_pos=n_pos, n_neg=n_neg, threshold=float(threshold))
    if n == 0:
        return out
    out["brier"] = float(np.dot(w, (s - y) ** 2) / n)
    out["ece"] = _ece(y, s, w, _ECE_BINS)
    pred = s >= threshold
    tp, fp = float(wy[pred].sum()), float(w[pred].sum() - wy[pred].sum())
    fn, tn = n_pos - tp, n_neg - fp
    out["f1"] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) > 0 else float("nan")
    if n_pos == 0 or n_neg == 0:
        return out
    denom = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    out["mcc"] = float((tp * tn - fp * fn) / np.sqrt(denom)) if denom > 0 else 0.0
    out["balanced_accuracy"] = 0.5 * (tp / n_pos + tn / n_neg)
    # Cumulative counts at each distinct threshold (the last row of every run of tied scores).
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(wy)[last]
    fps = np.cumsum(w)[last] - tps
    tpr = np.r_[0.0, tps / n_pos]
    fpr = np.r_[0.0, fps / n_neg]
    out["roc_auc"] = float(np.trapezoid(tpr, fpr))
    out["average_precision"] = float(np.sum(np.diff(tpr) * tps / (tps + fps)))
    out["fpr_at_fnr_1pct"] = float(fpr[_index_at_fnr(tpr, 0.01)])
    out["fpr_at_fnr_5pct"] = float(fpr[_index_at_fnr(tpr, 0.05)])
    out["mdr_at_fpr_1pct"] = float(1.0 - tpr[_index_at_fpr(fpr, 0.01)])
    return out


def _check_bootstrap(n_boot: int, ci: float) -> None:
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")
    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci must lie strictly between 0 and 1, got {ci}")


def _group_codes(groups, n: int, name: str) -> tuple[np.ndarray, int]:
    g = np.asarray(groups)
    if g.shape != (n,):
        raise ValueError(f"{name} must be 1-d with one entry per row ({n}), got shape {g.shape}")
    try:
        uniq, codes = np.unique(g, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"{name} must hold comparable labels of a single type") from exc
    return codes, uniq.size


def _percentile_interval(values: np.ndarray, ci: float) -> tuple[float, float, int]:
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return float("nan"), float("nan"), 0
    low, high = np.percentile(ok, [50 * (1 - ci), 50 * (1 + ci)])
    return float(low), float(high), int(ok.size)


class _Presorted:
    """Rows of one data set sorted once by decreasing score, evaluated under per-group multiplicities."""

    def __init__(self, y, s, codes):
        order = np.argsort(-s, kind="stable")
        self.y, self.s, self.codes = y[order].astype(float), s[order], codes[order]

    def metrics(self, group_counts: np.ndarray, **kw) -> dict[str, float]:
        return _weighted_sorted_metrics(self.y, self.s, group_counts[self.codes].astype(float), **kw)


def _resampled_rows(codes: np.ndarray, n_groups: int) -> Callable[[np.ndarray], np.ndarray]:
    """Return a function mapping drawn group ids to the concatenated row indices of those groups."""
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=n_groups)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]

    def rows(drawn: np.ndarray) -> np.ndarray:
        lens = sizes[drawn]
        ends = np.cumsum(lens)
        shift = np.repeat(starts[drawn] - (ends - lens), lens)
        return order[np.arange(ends[-1] if ends.size else 0) + shift]

    return rows


def group_bootstrap(
    y_true,
    score,
    groups,
    *,
    metric_fn: Callable[..., dict[str, float]] = classification_metrics,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    **metric_kwargs,
) -> dict[str, dict[str, float]]:
    """Cluster bootstrap: resample groups (fields or jobs) with replacement and recompute every metric.

    Returns ``{metric: {'value', 'low', 'high', 'n_boot_valid'}}``; resamples where a metric is undefined
    (e.g. only one class drawn) are left out of its percentile interval.
    """
    _check_bootstrap(n_boot, ci)
    y, s = _check_binary(y_true, score)
    codes, n_groups = _group_codes(groups, y.size, "groups")
    if n_groups == 0:
        raise ValueError("groups is empty: nothing to resample")
    point = metric_fn(y, s, **metric_kwargs)
    names = list(point)
    rng = np.random.default_rng(seed)
    boot = np.full((int(n_boot), len(names)), np.nan)
    if metric_fn is classification_metrics:
        data = _Presorted(y, s, codes)
        for b in range(int(n_boot)):
            counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
            res = data.metrics(counts, **metric_kwargs)
            boot[b] = [res[k] for k in names]
    else:
        rows = _resampled_rows(codes, n_groups)
        for b in range(int(n_boot)):
            idx = rows(rng.integers(0, n_groups, n_groups))
            res = metric_fn(y[idx], s[idx], **metric_kwargs)
            boot[b] = [res[k] for k in names]
    out = {}
    for j, name in enumerate(names):
        low, high, k = _percentile_interval(boot[:, j], ci)
        out[name] = {"value": float(point[name]), "low": low, "high": high, "n_boot_valid": k}
    return out


def paired_group_bootstrap(
    y_a,
    score_a,
    groups_a,
    y_b,
    score_b,
    groups_b,
    *,
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    **kw,
) -> dict[str, float]:
    """Paired cluster bootstrap of ``metric(A) - metric(B)``, drawing the same groups for both.

    Groups are taken from the union of both sets (a group may be missing from one of them). ``p_a_better``
    is the fraction of valid resamples where A beats B (ties count one half), honouring LOWER_IS_BETTER.
    """
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {METRIC_NAMES}, got {metric!r}")
    _check_bootstrap(n_boot, ci)
    ya, sa = _check_binary(y_a, score_a, score_name="score_a")
    yb, sb = _check_binary(y_b, score_b, score_name="score_b")
    ga, gb = np.asarray(groups_a), np.asarray(groups_b)
    if ga.shape != ya.shape or gb.shape != yb.shape:
        raise ValueError("groups_a and groups_b must give one group per row of y_a and y_b")
    codes, n_groups = _group_codes(np.concatenate([ga, gb]), ya.size + yb.size, "groups_a/groups_b")
    if n_groups == 0:
        raise ValueError("groups_a and groups_b are both empty: nothing to resample")
    a = classification_metrics(ya, sa, **kw)[metric]
    b = classification_metrics(yb, sb, **kw)[metric]
    data_a, data_b = _Presorted(ya, sa, codes[: ya.size]), _Presorted(yb, sb, codes[ya.size :])
    rng = np.random.default_rng(seed)
    diffs = np.empty(int(n_boot))
    for i in range(int(n_boot)):
        counts = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)
        diffs[i] = data_a.metrics(counts, **kw)[metric] - data_b.metrics(counts, **kw)[metric]
    low, high, k = _percentile_interval(diffs, ci)
    ok = diffs[np.isfinite(diffs)]
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    p_better = float(np.mean((sign * ok > 0) + 0.5 * (ok == 0))) if k else float("nan")
    return {
        "a": a,
        "b": b,
        "diff": a - b,
        "low": low,
        "high": high,
        "p_a_better": p_better,
        "n_boot_valid": k,
    }


def choose_threshold(y_true, score, *, rule: str = "f1") -> float:
    """Operating threshold picked on the validation split: maximum F1 (``'f1'``) or FNR = 5 % (``'fnr5'``)."""
    if rule not in ("f1", "fnr5"):
        raise ValueError(f"rule must be 'f1' or 'fnr5', got {rule!r}")
    y, s = _check_binary(y_true, score)
    if y.all() or not y.any():
        raise ValueError("y_true must contain both real and bogus rows to choose a threshold")
    if rule == "fnr5":
        return threshold_for_fnr(y, s, fnr=0.05)
    precision, recall, thresholds = precision_recall_curve(y, s)
    p, r = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    # Thresholds increase along the curve; among equal maxima keep the highest (fewest false positives).
    best = np.flatnonzero(f1 == f1.max())[-1]
    return float(thresholds[best])

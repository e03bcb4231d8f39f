"""End-to-end curves of RAPID's figure of merit: completeness against injected magnitude and false positives per image.

Completeness is measured against *all* injections (detected or not), so ``detected`` is one flag per truth
source: found by the subtraction + detection step, optionally also kept by the cuts and the classifier. The
magnitudes m80/m50/m20 and m_th (10 false positives per image) follow RAPID's OpenUniverse evaluation
(ml_evaluation.md §1.3 and §5 G5).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from rapid_croissant import formats

__all__ = [
    "completeness_curve",
    "false_positives_per_image",
    "magnitude_at_completeness",
    "magnitude_at_fp_rate",
]


def _grid(bin_width: float, mag_range: tuple[float, float]) -> np.ndarray:
    lo, hi = (float(v) for v in mag_range)
    if not hi > lo:
        raise ValueError(f"mag_range must be (bright, faint) with bright < faint, got {mag_range}")
    if not bin_width > 0:
        raise ValueError(f"bin_width must be positive, got {bin_width}")
    n_bins = round((hi - lo) / bin_width)
    if n_bins < 1 or abs(n_bins * bin_width - (hi - lo)) > 1e-6 * bin_width:
        raise ValueError(f"bin_width {bin_width} does not divide mag_range {mag_range} into whole bins")
    return np.linspace(lo, hi, n_bins + 1)


def _wilson(k: int, n: int, confidence: float) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    interval = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def completeness_curve(
    truth_mag,
    detected,
    *,
    bins=None,
    bin_width: float = 0.5,
    mag_range: tuple[float, float] = formats.INJECTION_MAG_RANGE,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Fraction of truth sources recovered per magnitude bin, with a Wilson score interval.

    Bins are ``[lo, hi)`` except the faintest, which also holds ``hi`` (RAPID injects uniformly in 21-28 mag).
    ``bins`` (explicit edges) overrides ``bin_width``/``mag_range``; sources outside the bins or with a NaN
    magnitude are not counted. Empty bins have NaN completeness and interval.
    """
    mag = np.asarray(truth_mag, dtype=float)
    det = np.asarray(detected)
    if mag.ndim != 1 or det.shape != mag.shape:
        raise ValueError(
            f"truth_mag and detected must be 1-d of equal length, got {mag.shape} and {det.shape}"
        )
    if det.dtype != bool and not np.isin(det, (0, 1)).all():
        raise ValueError("detected must be boolean (one flag per truth source)")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    if bins is None:
        edges = _grid(bin_width, mag_range)
    else:
        edges = np.asarray(bins, dtype=float)
        if edges.ndim != 1 or edges.size < 2 or not np.all(np.diff(edges) > 0):
            raise ValueError("bins must be at least two strictly increasing magnitude edges")
    finite = np.isfinite(mag)
    n_truth, _ = np.histogram(mag[finite], bins=edges)
    n_det, _ = np.histogram(mag[finite & det.astype(bool)], bins=edges)
    intervals = [_wilson(k, n, confidence) for k, n in zip(n_det, n_truth, strict=True)]
    with np.errstate(invalid="ignore", divide="ignore"):
        completeness = np.where(n_truth > 0, n_det / n_truth, np.nan)
    return pd.DataFrame(
        {
            "mag_lo": edges[:-1],
            "mag_hi": edges[1:],
            "mag_center": 0.5 * (edges[:-1] + edges[1:]),
            "n_truth": n_truth.astype(np.int64),
            "n_detected": n_det.astype(np.int64),
            "completeness": completeness,
            "low": [lo for lo, _ in intervals],
            "high": [hi for _, hi in intervals],
        }
    )


def _crossing(x: np.ndarray, y: np.ndarray, level: float, index: int) -> float:
    """Linear interpolation for where ``y`` passes ``level`` between points ``index - 1`` and ``index``."""
    x0, x1, y0, y1 = x[index - 1], x[index], y[index - 1], y[index]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))


def magnitude_at_completeness(curve: pd.DataFrame, *, level: float) -> float:
    """Magnitude where completeness first falls below ``level`` going faint (m80 for ``level=0.8``).

    Interpolates linearly between bin centres; empty bins are skipped. NaN when the curve starts below
    ``level`` (it is never reached) or never drops below it within the bins.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    ok = curve["completeness"].notna().to_numpy()
    mag = curve["mag_center"].to_numpy(dtype=float)[ok]
    comp = curve["completeness"].to_numpy(dtype=float)[ok]
    below = np.flatnonzero(comp < level)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    return _crossing(mag, comp, level, int(below[0]))


def false_positives_per_image(
    bogus_mag, n_images: int, *, bin_width: float = 0.2, mag_range: tuple[float, float] = (18.0, 28.0)
) -> pd.DataFrame:
    """Cumulative number of bogus candidates at or brighter than ``mag``, divided by the number of images.

    Evaluated on a grid of limiting magnitudes; candidates brighter than the grid start count from the first
    point on, candidates with a NaN magnitude are never counted. Columns: mag, n_bogus, fp_per_image.
    """
    if int(n_images) != n_images or n_images < 1:
        raise ValueError(f"n_images must be a positive integer, got {n_images}")
    mag = np.asarray(bogus_mag, dtype=float)
    if mag.ndim != 1:
        raise ValueError(f"bogus_mag must be 1-d, got shape {mag.shape}")
    grid = _grid(bin_width, mag_range)
    counts = np.searchsorted(np.sort(mag[np.isfinite(mag)]), grid, side="right")
    return pd.DataFrame(
        {"mag": grid, "n_bogus": counts.astype(np.int64), "fp_per_image": counts / int(n_images)}
    )


def magnitude_at_fp_rate(fp_curve: pd.DataFrame, *, rate: float = 10.0) -> float:
    """Magnitude m_th where the cumulative false positives per image reach ``rate`` (RAPID uses 10).

    Interpolates linearly between grid points; NaN when the rate is exceeded before the first grid point or
    never reached within the grid.
    """
    if not rate > 0:
        raise ValueError(f"rate must be positive, got {rate}")
    mag = fp_curve["mag"].to_numpy(dtype=float)
    fp = fp_curve["fp_per_image"].to_numpy(dtype=float)
    reached = np.flatnonzero(fp >= rate)
    if reached.size == 0:
        return float("nan")
    first = int(reached[0])
    if first == 0:
        return float(mag[0]) if fp[0] == rate else float("nan")
    return _crossing(mag, fp, rate, first)

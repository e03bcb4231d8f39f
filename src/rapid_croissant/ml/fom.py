"""RAPID's figure-of-merit quantities with bootstrap intervals over jobs, and RAPID's published values.

For one set of test jobs: completeness against truth magnitude (0.5 mag bins, Wilson intervals per bin),
m50/m80/m20 (where completeness falls to 50/80/20 %), false positives per image and m_th (the magnitude at
which the cumulative false positives per image reach 10; RAPID bins that curve by 0.2 mag). Intervals
resample whole jobs with replacement (a job shares its sky, reference and PSF), from one per-job table of
counts, so a resample costs a matrix product. A value that cannot be measured is NaN with a ``reason``.
"""

from __future__ import annotations

import numpy as np

from rapid_croissant.ml.completeness import completeness_curve, level_crossing, rate_crossing

__all__ = ["FP_RATE", "LEVELS", "PUBLISHED", "completeness_summary", "false_positive_summary"]

#: Completeness levels reported, by name.
LEVELS = {"m50": 0.5, "m80": 0.8, "m20": 0.2}
#: RAPID's false-positive tolerance (``fpratetol``): m_th is where false positives per image reach it.
FP_RATE = 10.0
FP_BIN, FP_RANGE = 0.2, (15.0, 30.0)
#: RAPID's own figure of merit (OpenUniverse evaluation, H158, 1142 images, run of 2025-09-27;
# ml_evaluation.md
#: §1.3). FOM is a weighted mean of m_th, m80, m20, m5sigma and m_ph10 at a 0.5 px match radius.
PUBLISHED = {
    "source": "RAPID OpenUniverse evaluation, H158, 1142 images, 2025-09-27 (overall group)",
    "zogy": {"m_th_10": 24.60, "m80": 23.95, "m20": 25.06, "fom": 24.68},
    "sfft": {"m_th_10": 25.59, "m80": 24.66, "m20": 25.59, "fom": 25.38},
}


def _per_job_hist(values: np.ndarray, codes: np.ndarray, n_jobs: int, edges: np.ndarray) -> np.ndarray:
    """(n_jobs, n_bins) histogram of ``values`` per job code; NaN values are not counted."""
    ok = np.isfinite(values)
    out = np.zeros((n_jobs, len(edges) - 1))
    for j in range(n_jobs):
        out[j], _ = np.histogram(values[ok & (codes == j)], bins=edges)
    return out


def _draws(n_jobs: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n_jobs) multiplicities of each job in each resample."""
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n_jobs, n_jobs), minlength=n_jobs) for _ in range(n_boot)])


def _entry(value: float, boot: np.ndarray, reason: str | None) -> dict:
    ok = boot[np.isfinite(boot)]
    low, high = np.percentile(ok, [2.5, 97.5]) if ok.size else (np.nan, np.nan)
    out = {"value": float(value), "low": float(low), "high": float(high), "n_boot_valid": int(ok.size)}
    if not np.isfinite(value):
        out["reason"] = reason
    elif ok.size < boot.size:
        out["reason"] = (
            f"undefined in {boot.size - ok.size} of {boot.size} resamples (left out of the interval)"
        )
    return out


def _level_reason(centers: np.ndarray, comp: np.ndarray, level: float) -> str:
    ok = np.isfinite(comp)
    if not ok.any():
        return "no truth source in the bins"
    if comp[ok][0] < level:
        first, value = centers[ok][0], comp[ok][0]
        return (
            f"completeness is below {level:.0%} already in the brightest bin ({first:.2f} mag: {value:.2f})"
        )
    return f"completeness stays at or above {level:.0%} down to the faintest bin ({centers[ok][-1]:.2f} mag)"


def completeness_summary(mag, detected, jids, edges, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """Curve (Wilson bands), counts and m50/m80/m20 with job-bootstrap intervals for one set of truth."""
    mag, detected = np.asarray(mag, dtype=float), np.asarray(detected, dtype=bool)
    uniq, codes = np.unique(np.asarray(jids, dtype=str), return_inverse=True)
    curve = completeness_curve(mag, detected, bins=edges)
    centers = curve["mag_center"].to_numpy(float)
    out = {"n_truth": int(np.isfinite(mag).sum()), "n_detected": int(detected[np.isfinite(mag)].sum())}
    out["n_jobs"] = int(uniq.size)
    truth = _per_job_hist(mag, codes, uniq.size, edges)
    found = _per_job_hist(np.where(detected, mag, np.nan), codes, uniq.size, edges)
    draws = _draws(uniq.size, n_boot, seed) if uniq.size else np.zeros((0, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        comp_b = (draws @ found) / (draws @ truth) if uniq.size else np.zeros((0, len(centers)))
    comp = curve["completeness"].to_numpy(float)
    for name, level in LEVELS.items():
        value = level_crossing(centers, comp, level)
        boot = np.array([level_crossing(centers, c, level) for c in comp_b])
        out[name] = _entry(value, boot, _level_reason(centers, comp, level))
    out["curve"] = curve.to_dict(orient="list")
    return out


def false_positive_summary(mag, jids, image_jids, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """False positives per image (all magnitudes) and m_th (10 per image) with job-bootstrap intervals.

    ``mag`` and ``jids`` are the bogus candidates' AB magnitudes and jobs; ``image_jids`` lists every image
    (test job with truth), including those without a false positive.
    """
    images = np.asarray(sorted(set(map(str, image_jids))))
    if images.size == 0:
        return {}
    jids = np.asarray(jids, dtype=str)
    on_image = np.isin(jids, images)
    mag, codes = np.asarray(mag, dtype=float)[on_image], np.searchsorted(images, jids[on_image])
    grid = np.linspace(FP_RANGE[0], FP_RANGE[1], round((FP_RANGE[1] - FP_RANGE[0]) / FP_BIN) + 1)
    edges = np.r_[-np.inf, grid]  # cumulative counts at or brighter than each grid magnitude
    cum = np.cumsum(_per_job_hist(mag, codes, images.size, edges), axis=1)
    per_job = np.bincount(codes, minlength=images.size).astype(float)
    draws = _draws(images.size, n_boot, seed)
    n_b = draws.sum(axis=1)
    fp_curve = cum.sum(axis=0) / images.size
    boot_curves = (draws @ cum) / n_b[:, None]
    total = per_job.sum() / images.size
    m_th = rate_crossing(grid, fp_curve, FP_RATE)
    if fp_curve[-1] < FP_RATE:
        reason = (
            f"fewer than {FP_RATE:g} false positives per image down to {grid[-1]:.1f} mag "
            f"({fp_curve[-1]:.2f} per image with a measured magnitude)"
        )
    else:
        reason = f"already more than {FP_RATE:g} false positives per image at {grid[0]:.1f} mag"
    return {
        "n_images": int(images.size),
        "fp_per_image": _entry(total, (draws @ per_job) / n_b, "no image"),
        "m_th_10": _entry(m_th, np.array([rate_crossing(grid, c, FP_RATE) for c in boot_curves]), reason),
        "per_job": dict(zip(images.tolist(), per_job.astype(int).tolist(), strict=True)),
        "curve": {"mag": grid.tolist(), "fp_per_image": fp_curve.tolist()},
    }

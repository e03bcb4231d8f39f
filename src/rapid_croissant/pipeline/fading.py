"""Dipole evidence and fading sources from RAPID's negative catalogs (photutils run on ``-diff``).

* Every candidate gets, per algorithm, the distance from its detection to the nearest detection of the
  opposite sign by the same algorithm (``zogy_opposite_dist``, ``sfft_opposite_dist``): a positive
  detection with a negative one a pixel or two away is the signature of a registration dipole or a PSF
  mismatch residual.
* ``build --include-fading`` also adds the negative detections as candidates with ``sign = -1`` (ZOGY and
  SFFT negatives merged by position like the positive ones). Truth files list only sources that
  brightened, so the label of a fading candidate is unknown (-1, ``label_flag`` ``fading_no_truth``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapid_croissant import formats, io
from rapid_croissant.io.negative import has_negative, read_negative_catalog
from rapid_croissant.science import labels

FADING_FLAG = "fading_no_truth"


def _in_bounds(cat: pd.DataFrame, shape) -> pd.DataFrame:
    h, w = shape
    x, y = cat["x_fit"].to_numpy(float), cat["y_fit"].to_numpy(float)
    keep = (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
    return cat[keep].reset_index(drop=True)


def read_negatives(job: io.RapidJob) -> dict[str, pd.DataFrame | None]:
    """Each algorithm's negative detections inside the image (None: no negative catalog)."""
    out: dict[str, pd.DataFrame | None] = {}
    for alg in formats.SUBTRACTIONS:
        present = job.has_zogy if alg == "zogy" else job.has_sfft
        if not present or not has_negative(job, alg):
            out[alg] = None
            continue
        cat = read_negative_catalog(job, alg)
        with np.errstate(divide="ignore", invalid="ignore"):
            cat["snr"] = cat["flux_fit"] / cat["flux_err"]
        out[alg] = _in_bounds(cat, job.shape)
    return out


def _nearest_distance(xy: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance from each point to the nearest of ``others`` (NaN for NaN points or when there are none)."""
    from scipy.spatial import cKDTree

    out = np.full(len(xy), np.nan)
    ok = np.all(np.isfinite(xy), axis=1)
    others = others[np.all(np.isfinite(others), axis=1)]
    if len(others) == 0 or not ok.any():
        return out
    out[ok] = cKDTree(others).query(xy[ok], k=1)[0]
    return out


def add_opposite_distance(cand: pd.DataFrame, other: dict[str, pd.DataFrame | None], *, sign: int = 1):
    """``<alg>_opposite_dist`` and ``sign`` columns: distance to the nearest detection in ``other``."""
    cand = cand.copy()
    cand["sign"] = sign
    for alg in formats.SUBTRACTIONS:
        cat = other.get(alg)
        xy = cand[[f"{alg}_x", f"{alg}_y"]].to_numpy(float)
        if cat is None or len(cand) == 0:
            cand[f"{alg}_opposite_dist"] = np.nan
            continue
        cand[f"{alg}_opposite_dist"] = _nearest_distance(xy, cat[["x_fit", "y_fit"]].to_numpy(float))
    return cand


def _unknown_labels(cat: pd.DataFrame) -> pd.DataFrame:
    lab = labels.label_detections(
        cat[["x_fit", "y_fit"]].to_numpy(float),
        pd.DataFrame({"truth_id": [], "x": [], "y": [], "mag": []}),
        eligible=np.zeros(0, bool),
        snr=np.zeros(0),
        radius=1.0,
        has_truth=False,
    )
    lab["label_flag"] = FADING_FLAG
    return pd.concat([cat.reset_index(drop=True), lab], axis=1)


def fading_candidates(
    negatives: dict[str, pd.DataFrame | None], positives: dict[str, pd.DataFrame], *, merge_radius: float
) -> pd.DataFrame:
    """Negative detections of both algorithms merged by position, as candidates with ``sign = -1``."""
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in ("id", "x_fit", "y_fit")})
    cats = {
        alg: negatives.get(alg) if negatives.get(alg) is not None else empty for alg in formats.SUBTRACTIONS
    }
    cand = labels.merge_candidates(
        _unknown_labels(cats["zogy"]), _unknown_labels(cats["sfft"]), radius=merge_radius
    )
    cand["label_flag"] = FADING_FLAG
    return add_opposite_distance(cand, positives, sign=-1)

"""Labels: each algorithm's detections matched to truth on their own, then ZOGY and SFFT merged by position.

Rules (README, "How labels are made"): truth is 0-based; only truth brighter than the magnitude limit
(and, when asked, with an expected S/N above a minimum in that algorithm's difference image) can make a
detection real; matching is one-to-one, closest pairs first, within the match radius. Uncertain labels
are flagged rather than hidden: ``low_snr_match`` (matched truth with expected S/N below 5) and
``near_faint_truth`` (an unmatched detection within the radius of ineligible truth) and
``duplicate_of_real`` (an unmatched detection within 1 px of a matched detection of the same algorithm).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapid_croissant import formats, vocabulary
from rapid_croissant.science.matching import match_one_to_one, nearest_within
from rapid_croissant.science.merge import merge_by_position

#: An unmatched detection this close (px) to a matched one of the same algorithm is flagged duplicate_of_real.
DUPLICATE_RADIUS = 1.0

LABEL_COLUMNS = ("label", "truth_id", "match_dist", "truth_mag", "truth_snr", "label_flag")


def noise_equivalent_area(psf: np.ndarray) -> float:
    """NEA = 1 / sum(P^2) of a unit-sum PSF stamp (pixels)."""
    p = np.asarray(psf, dtype=np.float64)
    p = p / p.sum()
    return float(1.0 / np.sum(p * p))


def expected_snr(rate, sigma_local, *, nea: float) -> np.ndarray:
    """Expected PSF-fit S/N of a point source of ``rate`` (DN/s) over background noise ``sigma_local`` per
    pixel."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(rate, dtype=float) / (np.asarray(sigma_local, dtype=float) * np.sqrt(nea))


def eligible_truth(bright: np.ndarray, snr: np.ndarray, *, min_snr: float = 0.0) -> np.ndarray:
    """Truth rows that may make a detection real: bright, and (when ``min_snr`` > 0) with an expected S/N
    of at least ``min_snr`` in the algorithm's difference image (an unknown S/N does not exclude)."""
    eligible = np.asarray(bright, dtype=bool)
    if min_snr > 0 and len(eligible):
        eligible = eligible & (np.nan_to_num(np.asarray(snr, dtype=float), nan=np.inf) >= min_snr)
    return eligible


def label_detections(
    det_xy: np.ndarray,
    truth: pd.DataFrame,
    *,
    eligible: np.ndarray,
    snr: np.ndarray,
    radius: float,
    low_snr: float = 5.0,
    has_truth: bool = True,
) -> pd.DataFrame:
    """Label one algorithm's detections: one row per detection with LABEL_COLUMNS.

    ``truth`` has truth_id, x, y (0-based), mag; ``eligible`` says which truth rows may make a detection
    real; ``snr`` is each truth row's expected S/N in this algorithm's difference image.
    """
    n = len(det_xy)
    out = pd.DataFrame(
        {
            "label": np.full(
                n, vocabulary.LABEL_BOGUS if has_truth else vocabulary.LABEL_UNKNOWN, dtype=np.int64
            ),
            "truth_id": pd.array([None] * n, dtype="string"),
            "match_dist": np.full(n, np.nan),
            "truth_mag": np.full(n, np.nan),
            "truth_snr": np.full(n, np.nan),
            "label_flag": pd.array([""] * n, dtype="string"),
        }
    )
    if not has_truth or n == 0 or len(truth) == 0:
        return out
    txy = truth[["x", "y"]].to_numpy(dtype=float)
    ok = np.flatnonzero(eligible)
    m = match_one_to_one(det_xy, txy[ok], radius=radius)
    t_idx = ok[m.truth_index]
    out.loc[m.det_index, "label"] = vocabulary.LABEL_REAL
    out.loc[m.det_index, "truth_id"] = truth["truth_id"].to_numpy()[t_idx]
    out.loc[m.det_index, "match_dist"] = m.distance
    out.loc[m.det_index, "truth_mag"] = truth["mag"].to_numpy()[t_idx]
    out.loc[m.det_index, "truth_snr"] = snr[t_idx]
    low = m.det_index[snr[t_idx] < low_snr]
    out.loc[low, "label_flag"] = vocabulary.LOW_SNR_MATCH
    _flag_unmatched(out, det_xy, m.det_index, txy[~np.asarray(eligible, dtype=bool)], radius=radius)
    return out


def _flag_unmatched(out: pd.DataFrame, det_xy, matched: np.ndarray, faint_xy, *, radius: float) -> None:
    """Flag bogus detections: ``duplicate_of_real`` within DUPLICATE_RADIUS of a matched detection, else
    ``near_faint_truth`` within ``radius`` of truth that could not make them real."""
    unmatched = np.flatnonzero(out["label"].to_numpy() == vocabulary.LABEL_BOGUS)
    if len(unmatched) and len(matched):
        # a second detection of a matched source (photutils split/duplicate peaks): bogus by the
        # one-to-one rule, but flagged so users can drop or relabel it
        dup, _ = nearest_within(det_xy[unmatched], det_xy[matched], radius=DUPLICATE_RADIUS)
        out.loc[unmatched[dup >= 0], "label_flag"] = vocabulary.DUPLICATE_OF_REAL
    if len(faint_xy):
        near, _ = nearest_within(det_xy, faint_xy, radius=radius)
        unflagged = (out["label"].to_numpy() == vocabulary.LABEL_BOGUS) & (out["label_flag"].to_numpy() == "")
        out.loc[unflagged & (near >= 0), "label_flag"] = vocabulary.NEAR_FAINT_TRUTH


def _take(df: pd.DataFrame, idx: np.ndarray, col: str, *, fill=np.nan):
    """Column ``col`` of ``df`` at ``idx`` (-1 gives ``fill``)."""
    vals = df[col].to_numpy() if col in df.columns else np.full(len(df), fill)
    res = np.full(len(idx), fill, dtype=object if vals.dtype == object else float)
    ok = idx >= 0
    res[ok] = vals[idx[ok]]
    return res


def merge_candidates(zogy: pd.DataFrame, sfft: pd.DataFrame, *, radius: float) -> pd.DataFrame:
    """Merge two labelled catalogs (internal photutils names + LABEL_COLUMNS) into candidate rows.

    Output columns: zogy_*/sfft_* features, ids, positions, labels and the candidate's combined label
    fields (ZOGY's match when ZOGY matched, else SFFT's).
    """
    zxy = zogy[["x_fit", "y_fit"]].to_numpy(dtype=float) if len(zogy) else np.zeros((0, 2))
    sxy = sfft[["x_fit", "y_fit"]].to_numpy(dtype=float) if len(sfft) else np.zeros((0, 2))
    mr = merge_by_position(zxy, sxy, radius=radius)
    zi, si = mr.zogy_index, mr.sfft_index
    cand = pd.DataFrame(index=np.arange(len(zi)))
    for alg, df, idx in (("zogy", zogy, zi), ("sfft", sfft, si)):
        cand[f"{alg}_id"] = pd.array(_take(df, idx, "id"), dtype="Float64").astype("Int64")
        cand[f"{alg}_x"] = _take(df, idx, "x_fit").astype(float)
        cand[f"{alg}_y"] = _take(df, idx, "y_fit").astype(float)
        for f in formats.SEED_FEATURES + formats.FIT_FEATURES:
            cand[f"{alg}_{f}"] = _take(df, idx, f).astype(float)
        for f in ("label", "truth_id", "match_dist", "truth_mag", "truth_snr", "label_flag", "ra", "dec"):
            cand[f"_{alg}_{f}"] = _take(df, idx, f, fill=None if f in ("truth_id", "label_flag") else np.nan)
    has_z, has_s = zi >= 0, si >= 0
    cand["detected_by"] = np.where(has_z & has_s, "both", np.where(has_z, "zogy", "sfft"))
    return _combine_labels(cand, has_z)


def _combine_labels(cand: pd.DataFrame, has_z: np.ndarray) -> pd.DataFrame:
    zl = pd.array(cand.pop("_zogy_label"), dtype="Float64")
    sl = pd.array(cand.pop("_sfft_label"), dtype="Float64")
    cand["zogy_label"] = zl.astype("Int64")
    cand["sfft_label"] = sl.astype("Int64")
    z_real = (zl == vocabulary.LABEL_REAL).fillna(False).to_numpy(dtype=bool)
    s_real = (sl == vocabulary.LABEL_REAL).fillna(False).to_numpy(dtype=bool)
    # the candidate carries ZOGY's match when ZOGY matched, else SFFT's, else the detecting algorithm's fields
    use_z = has_z & (z_real | ~s_real)
    src = np.where(use_z, "zogy", "sfft")
    for f in ("truth_id", "match_dist", "truth_mag", "truth_snr", "label_flag", "ra", "dec"):
        z, s = cand.pop(f"_zogy_{f}"), cand.pop(f"_sfft_{f}")
        cand[f] = np.where(src == "zogy", z, s)
        if f == "truth_id":
            cand["zogy_truth_id"] = pd.array(z, dtype="string")
            cand["sfft_truth_id"] = pd.array(s, dtype="string")
    cand["label"] = np.where(src == "zogy", zl.fillna(-1).to_numpy(), sl.fillna(-1).to_numpy()).astype(
        np.int64
    )
    cand["truth_id"] = pd.array(cand["truth_id"], dtype="string")
    cand["label_flag"] = pd.array(cand["label_flag"], dtype="string").fillna("")
    for p in ("x", "y"):
        cand[p] = np.where(has_z, cand[f"zogy_{p}"], cand[f"sfft_{p}"])
    cand["id"] = np.where(has_z, cand["zogy_id"].fillna(-1), cand["sfft_id"].fillna(-1)).astype(np.int64)
    return cand

"""The simulator's answer key: what was really put in the sky, and what caused each detection.

Written outside the job folders (``answer_key/``). The pipeline never reads it; tests score against it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from rapid_croissant.simulate.scene import JobSpec

#: A detection within this distance (px) of a transient whose expected S/N is at least MIN_CAUSAL_SNR
#: was caused by it.
CAUSE_RADIUS = 1.5
MIN_CAUSAL_SNR = 2.0


def truth_table(spec: JobSpec, sc, *, diff_sigma: float, psf: np.ndarray) -> pd.DataFrame:
    """Every science-epoch transient: 0-based position, AB mag and expected S/N in the difference."""
    nea = 1.0 / float(np.sum(psf.astype(np.float64) ** 2))  # noise-equivalent area of the PSF (px)
    inj = sc.inj.reset_index(drop=True)
    parts = [
        pd.DataFrame(
            {
                "truth_id": [f"{i}_inj" for i in range(len(inj))],
                "kind": "injection",
                "x": inj.x,
                "y": inj.y,
                "ab": inj.ab,
                "counts": inj.counts,
                "host": inj.host,
            }
        ),
        pd.DataFrame(
            {
                "truth_id": [f"{o}_ou" for o in sc.ou.object_id],
                "kind": "ou_transient",
                "x": sc.ou.x,
                "y": sc.ou.y,
                "ab": sc.ou.ab,
                "counts": sc.ou.counts,
                "host": sc.ou.host,
            }
        ),
    ]
    t = pd.concat(parts, ignore_index=True)
    t.insert(0, "jid", f"jid{spec.jid}")
    t["rate"] = t.counts / spec.exptime
    t["snr_expected"] = t.rate / (diff_sigma * np.sqrt(nea))
    t["on_host"] = t.host >= 0
    h, w = spec.shape
    t["inside"] = t.x.between(-0.5, w - 0.5) & t.y.between(-0.5, h - 0.5)
    return t


def _nearest(tree_xy: np.ndarray, xy: np.ndarray, radius: float):
    if len(tree_xy) == 0 or len(xy) == 0:
        return np.full(len(xy), np.inf), np.full(len(xy), -1)
    d, i = cKDTree(tree_xy).query(xy, distance_upper_bound=radius)
    return d, np.where(np.isfinite(d), i, -1)


def detection_causes(spec: JobSpec, sc, truth: pd.DataFrame, cats: dict) -> pd.DataFrame:
    """For each detection of each algorithm: the transient that caused it, or the kind of bogus."""
    rows = []
    causal = truth[truth.snr_expected >= MIN_CAUSAL_SNR].reset_index(drop=True)
    stars = sc.stars[sc.stars.ab < 19.5]
    gals = sc.galaxies[sc.galaxies.ab < 23.0]
    for alg, (_, phot) in cats.items():
        if len(phot) == 0:
            continue
        xy = np.column_stack([np.asarray(phot["x_fit"]), np.asarray(phot["y_fit"])])
        d_t, i_t = _nearest(causal[["x", "y"]].to_numpy(), xy, CAUSE_RADIUS)
        d_cr, _ = _nearest(sc.rays[["x", "y"]].to_numpy(float), xy, 3.0)
        d_hot, _ = _nearest(sc.hot[["x", "y"]].to_numpy(float), xy, 1.5)
        d_star, _ = _nearest(stars[["x", "y"]].to_numpy(), xy, 5.0)
        d_gal, i_gal = _nearest(gals[["x", "y"]].to_numpy(), xy, 12.0)
        for k in range(len(xy)):
            if i_t[k] >= 0:
                cause, tid = "transient", causal.truth_id[i_t[k]]
            else:
                tid = None
                if np.isfinite(d_cr[k]):
                    cause = "cosmic_ray"
                elif np.isfinite(d_hot[k]):
                    cause = "hot_pixel"
                elif np.isfinite(d_star[k]):
                    cause = "star_residual"
                elif i_gal[k] >= 0 and d_gal[k] <= 1.5 * gals.r_eff.iloc[i_gal[k]]:
                    cause = "galaxy_residual"
                else:
                    cause = "noise_or_edge"
            rows.append(
                (
                    f"jid{spec.jid}",
                    alg,
                    int(phot["id"][k]),
                    float(xy[k, 0]),
                    float(xy[k, 1]),
                    cause,
                    tid,
                    float(d_t[k]) if i_t[k] >= 0 else np.nan,
                )
            )
    cols = ["jid", "algorithm", "id", "x_fit", "y_fit", "cause", "truth_id", "distance"]
    return pd.DataFrame(rows, columns=cols)


def make(spec: JobSpec, sc, cats: dict, *, diff_sigma: float, psf: np.ndarray) -> SimpleNamespace:
    truth = truth_table(spec, sc, diff_sigma=diff_sigma, psf=psf)
    return SimpleNamespace(truth=truth, detections=detection_causes(spec, sc, truth, cats))

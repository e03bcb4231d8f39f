"""SExtractor-style catalogs of a difference image, made with ``sep`` (SExtractor's library form).

RAPID runs SExtractor in dual-image mode: detect on ZOGY's S_corr (or SFFT's cconv), measure on the
difference, ``DETECT_THRESH 2.5``, ``DETECT_MINAREA 5``, ``FILTER N``, ``DEBLEND_NTHRESH 32``,
``DEBLEND_MINCONT 0.005``, ``PHOT_APERTURES 2,3,4,6,10,14`` (diameters), ``MAG_ZEROPOINT 0``
(rapid_formats.md §4). We write the subset of RAPID's columns that sep measures; positions 1-based.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

APERTURE_DIAMETERS = (2, 3, 4, 6, 10, 14)
DETECT_THRESH = 2.5


def sextractor_table(
    detect: np.ndarray, measure: np.ndarray, uncert: np.ndarray, *, detect_rms: float, wcs=None
) -> pd.DataFrame:
    """Detect on ``detect`` (threshold 2.5 x ``detect_rms``), measure on ``measure``; SExtractor names."""
    import sep

    bad = np.ascontiguousarray(~np.isfinite(detect) | ~np.isfinite(measure))
    det = np.ascontiguousarray(np.where(bad, 0.0, detect), dtype=np.float64)
    mea = np.ascontiguousarray(np.where(bad, 0.0, measure), dtype=np.float64)
    err = np.ascontiguousarray(uncert, dtype=np.float64)
    objs = sep.extract(
        det,
        DETECT_THRESH,
        err=detect_rms,
        mask=bad,
        minarea=5,
        filter_kernel=None,
        deblend_nthresh=32,
        deblend_cont=0.005,
    )
    n = len(objs)
    out = {"NUMBER": np.arange(1, n + 1), "FLAGS": objs["flag"].astype(int)}
    if n:
        xw, yw, _ = sep.winpos(mea, objs["x"], objs["y"], np.full(n, 0.85), mask=bad)
    else:
        xw = yw = np.zeros(0)
    out["XWIN_IMAGE"], out["YWIN_IMAGE"] = xw + 1.0, yw + 1.0  # SExtractor is 1-based
    if wcs is not None and n:
        sky = wcs.pixel_to_world(xw, yw)
        out["X_WORLD"], out["Y_WORLD"] = sky.ra.deg, sky.dec.deg
    out["XPEAK_IMAGE"], out["YPEAK_IMAGE"] = objs["xpeak"] + 1, objs["ypeak"] + 1
    for k, diam in enumerate(APERTURE_DIAMETERS, start=1):
        flux, ferr, _ = (
            sep.sum_circle(mea, objs["x"], objs["y"], diam / 2.0, err=err, mask=bad)
            if n
            else (np.zeros(0), np.zeros(0), None)
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"MAG_APER_{k}"] = np.where(flux > 0, -2.5 * np.log10(flux), 99.0)
            out[f"MAGERR_APER_{k}"] = np.where(flux > 0, 1.0857 * ferr / flux, 99.0)
        out[f"FLUX_APER_{k}"], out[f"FLUXERR_APER_{k}"] = flux, ferr
    out["X_IMAGE"], out["Y_IMAGE"] = objs["x"] + 1.0, objs["y"] + 1.0
    out["A_IMAGE"], out["B_IMAGE"] = objs["a"], objs["b"]
    out["THETA_IMAGE"] = np.degrees(objs["theta"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ELONGATION"] = objs["a"] / objs["b"]
    return pd.DataFrame(out)

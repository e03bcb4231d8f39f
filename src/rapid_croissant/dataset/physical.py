"""Back to physical values and the sky: the per-job ``physical.parquet`` (written by pipeline/physical.py).

The image tensors and cutouts hold ZScale-normalised values: for each job and channel, with the limits
``(vmin, vmax)`` stored in ``physical.parquet``, a pixel value ``v`` in (0, 1) came from the input value

    x = vmin + v * (vmax - vmin)          (in the channel's unit: DN/s for images, sigma for S_corr)

Values at 0 or 1 were clipped (the input was <= vmin or >= vmax), and pixels marked invalid (NaN in the
input, or outside the image) hold 0: neither can be inverted. Each job's WCS header (FITS cards, 0-based pixel
``(x, y)`` of the tensor = FITS pixel ``(x + 1, y + 1)``) maps a pixel to RA/Dec; a cutout pixel ``(i, j)``
(row, column) of a candidate at ``(x, y)`` is tensor pixel ``(floor(x + 0.5) - size // 2 + j,
floor(y + 0.5) - size // 2 + i)``.

Example (run by tests/dataset/test_physical.py against the input FITS)::

    from rapid_croissant.dataset.physical import read_physical, to_physical, cutout_sky
    phys = read_physical("my_dataset")                   # one row per job
    row = phys.loc["jid1001"]
    dn_s = to_physical(cutout[2], row, "zogy_diff")      # channel 2 of a (9, 64, 64) cutout -> DN/s
    ra, dec = cutout_sky(row, x, y, size=64)             # (64, 64) arrays of degrees
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rapid_croissant.dataset import schema
from rapid_croissant.dataset.layout import Layout

__all__ = [
    "CHANNEL_UNITS",
    "PHYSICAL_COLUMNS",
    "cutout_pixels",
    "cutout_sky",
    "job_wcs",
    "limit_columns",
    "read_physical",
    "to_physical",
]

#: Unit of each channel before normalisation (the PSF stamp is normalised to unit sum: no unit).
CHANNEL_UNITS = {
    "sci": "DN/s",
    "ref": "DN/s",
    "zogy_diff": "DN/s",
    "zogy_scorr": "",
    "sfft_diff": "DN/s",
    "sfft_scorr": "DN/s",
    "psf": "",
    "zogy_uncert": "DN/s",
    "sfft_uncert": "DN/s",
}


def limit_columns(channel: str) -> tuple[str, str]:
    """The two columns holding ``channel``'s ZScale limits: ``<channel>_vmin``, ``<channel>_vmax``."""
    return f"{channel}_vmin", f"{channel}_vmax"


def _columns() -> dict[str, schema.Column]:
    cols = {
        "jid": schema.Column("string", "sc:Text", None, "RAPID job id"),
        "height": schema.Column("Int64", "sc:Integer", "pix", "Tensor height (rows) = FITS NAXIS2"),
        "width": schema.Column("Int64", "sc:Integer", "pix", "Tensor width (columns) = FITS NAXIS1"),
        "mjd": schema.Column("float64", "sc:Float", "d", "MJD-OBS of the science exposure (float64)"),
        "date_obs": schema.Column(
            "string", "sc:Text", None, "Start of the science exposure, ISO 8601 UTC (from MJD-OBS, to the ms)"
        ),
        "wcs_header": schema.Column(
            "string",
            "sc:Text",
            None,
            "The job's WCS as FITS header cards, one per line (empty: no WCS); pixel (x, y) of the tensor "
            "is FITS pixel (x + 1, y + 1)",
        ),
    }
    for ch in schema.CHANNELS:
        lo, hi = limit_columns(ch)
        unit = CHANNEL_UNITS[ch] or None
        what = f"{ch} ({schema.CHANNEL_DESCRIPTIONS[ch]})"
        cols[lo] = schema.Column("float64", "sc:Float", unit, f"ZScale lower limit of {what}: maps to 0")
        cols[hi] = schema.Column("float64", "sc:Float", unit, f"ZScale upper limit of {what}: maps to 1")
    return cols


#: Columns of physical.parquet (one row per built job).
PHYSICAL_COLUMNS = _columns()


def read_physical(dataset_dir: str | Path | Layout) -> pd.DataFrame:
    """``physical.parquet`` indexed by jid."""
    layout = dataset_dir if isinstance(dataset_dir, Layout) else Layout(dataset_dir)
    if not layout.physical.is_file():
        raise FileNotFoundError(f"{layout.physical}: missing (rebuild the dataset with this version)")
    return pd.read_parquet(layout.physical).set_index("jid", drop=False)


def to_physical(values: np.ndarray, row: pd.Series, channel: str) -> np.ndarray:
    """Normalised ``values`` of ``channel`` back to the input unit (float64); exact inside (0, 1) only."""
    lo, hi = (row[c] for c in limit_columns(channel))
    if pd.isna(lo) or pd.isna(hi):
        raise ValueError(f"{row['jid']}: channel {channel} was absent: no limits to invert")
    return float(lo) + np.asarray(values, dtype=np.float64) * (float(hi) - float(lo))


def job_wcs(row: pd.Series):
    """The job's ``astropy.wcs.WCS`` (0-based pixel coordinates are the tensor's)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    text = row["wcs_header"]
    if pd.isna(text) or not text:
        raise ValueError(f"{row['jid']}: no WCS in the input headers")
    return WCS(fits.Header.fromstring(text, sep="\n"))


def cutout_pixels(x: float, y: float, *, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Tensor pixel coordinates ``(xx, yy)`` (each (size, size), 0-based) of the cutout centred on (x, y)."""
    col0 = int(np.floor(x + 0.5)) - size // 2
    row0 = int(np.floor(y + 0.5)) - size // 2
    yy, xx = np.mgrid[row0 : row0 + size, col0 : col0 + size]
    return xx, yy


def cutout_sky(row: pd.Series, x: float, y: float, *, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """RA and Dec (degrees, each (size, size)) of every pixel of the cutout centred on (x, y)."""
    xx, yy = cutout_pixels(x, y, size=size)
    ra, dec = job_wcs(row).all_pix2world(xx, yy, 0)
    return ra, dec

"""Write a simulated job folder exactly in RAPID's formats (file names and columns of the chosen era).

FITS: data in the primary HDU, float32 except SFFT dconv/cconv (float64); headers carry FILTER, EXPTIME,
MJD-OBS, DATE-OBS, SCA_NUM, ZPTMAG, BUNIT and a TAN WCS. photutils catalogs: astropy's basic writer
(names line without '#', single spaces). Truth: the injection list (``xpix ypix flux``) and the
OpenUniverse index (galsim ``writeAscii`` fixed width), both with 1-based positions (§5).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import ascii as asc
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.wcs import WCS
from erfa import ErfaWarning

from rapid_croissant import formats
from rapid_croissant.simulate.scene import JobSpec

PIXEL_SCALE_DEG = 0.11 / 3600.0
TRUTH_ORIGIN = 1  # galsim image positions are 1-based


def make_wcs(spec: JobSpec) -> WCS:
    h, w = spec.shape
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [spec.ra0, spec.dec0]
    wcs.wcs.crpix = [(w + 1) / 2.0, (h + 1) / 2.0]
    wcs.wcs.cd = np.array([[-PIXEL_SCALE_DEG, 0.0], [0.0, PIXEL_SCALE_DEG]])
    wcs.wcs.cunit = ["deg", "deg"]
    return wcs


def base_header(spec: JobSpec) -> fits.Header:
    """The science header facts RAPID propagates into its products (rapid_formats.md §2.3)."""
    hdr = make_wcs(spec).to_header()
    hdr["FILTER"] = (spec.filter, "Roman WFI filter")
    hdr["EXPTIME"] = (spec.exptime, "[s] exposure time")
    hdr["MJD-OBS"] = (spec.mjd, "MJD of observation start")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)  # future dates lie beyond the leap-second table
        hdr["DATE-OBS"] = (Time(spec.mjd, format="mjd").isot, "UTC of observation start")
    hdr["SCA_NUM"] = (spec.sca, "Sensor chip assembly")
    hdr["ZPTMAG"] = (round(spec.zptmag, 6), "2.5 log10(EXPTIME * collecting area)")
    hdr["BUNIT"] = ("DN/s", "")
    return hdr


def write_fits(path: Path, data: np.ndarray, header: fits.Header, *, dtype=np.float32) -> None:
    fits.PrimaryHDU(data=np.asarray(data, dtype=dtype), header=header).writeto(path, overwrite=True)


def write_photutils_catalogs(
    finder: Table, phot: Table, finder_path: Path, psfcat_path: Path, *, era: str
) -> None:
    """Write finder and PSF-photometry tables with the column names of ``era`` (basic format)."""
    if len(phot) == 0:
        return  # RAPID writes nothing when photutils finds nothing (§3.1)
    if era == formats.ERA_2025:
        back = {v: k for k, v in formats.PHOTUTILS_RENAME.items()}
        finder = finder[[back.get(c, c) for c in formats.FINDER_COLUMNS_2025]]
        finder = Table(finder, names=formats.FINDER_COLUMNS_2025)
        phot = phot[[back.get(c, c) for c in formats.PSFCAT_COLUMNS_2025]]
        phot = Table(phot, names=formats.PSFCAT_COLUMNS_2025)
    else:
        finder = finder[list(formats.FINDER_COLUMNS_2026)]
        phot = phot[list(formats.PSFCAT_COLUMNS_2026)]
    for c in ("x_init", "y_init", "x_fit", "y_fit", "x_err", "y_err", "qfit", "cfit"):
        phot[c].info.format = ".4f"
    for c in ("flux_init", "flux_fit"):
        phot[c].info.format = ".6f"
    phot["flux_err"].info.format = ".5f"
    asc.write(phot, psfcat_path, format="basic", overwrite=True)
    asc.write(finder, finder_path, format="basic", overwrite=True)


def write_injections(path: Path, inj: pd.DataFrame) -> None:
    """RAPID's ``save_injection_catalog`` layout: header ``xpix    ypix     flux``, repr floats, 1-based."""
    lines = ["xpix    ypix     flux"]
    for r in inj.itertuples(index=False):
        lines.append(f"{float(r.x) + TRUTH_ORIGIN} {float(r.y) + TRUTH_ORIGIN} {float(r.counts)}")
    path.write_text("\n".join(lines) + "\n")


def write_ou_index(path: Path, objects: pd.DataFrame) -> None:
    """galsim ``OutputCatalog.writeAscii`` layout: '#' + names centred in 16 chars; %16d/%16.8e/%16s rows."""
    names = formats.OU_COLUMNS
    head = "#" + " ".join(n.center(16) for n in names)
    rows = [head]
    for r in objects.itertuples(index=False):
        vals = [f"{int(r.object_id):16d}"]
        vals += [
            f"{float(getattr(r, c)):16.8e}" for c in ("ra", "dec", "x", "y", "realized_flux", "flux", "mag")
        ]
        vals.append(f"{r.obj_type:>16s}")
        rows.append(" ".join(vals))
    path.write_text("\n".join(rows) + "\n")


def ou_table(spec: JobSpec, scene, wcs: WCS, rng) -> pd.DataFrame:
    """The OpenUniverse index rows of this SCA: galaxies, stars and transients (1-based x, y)."""
    zp_band = formats.ZP_BAND[spec.filter]
    parts = []
    for kind, df, base in (("galaxy", scene.galaxies, 1_000_000), ("star", scene.stars, 5_000_000)):
        parts.append(
            pd.DataFrame(
                {
                    "object_id": base + spec.jid * 10_000 + np.arange(len(df)),
                    "x": df.x,
                    "y": df.y,
                    "flux": df.counts,
                    "obj_type": kind,
                }
            )
        )
    ou = scene.ou
    parts.append(
        pd.DataFrame(
            {
                "object_id": ou.object_id,
                "x": ou.x,
                "y": ou.y,
                "flux": ou.counts,
                "obj_type": formats.OU_TRANSIENT_TYPE,
            }
        )
    )
    table = pd.concat(parts, ignore_index=True)
    sky = wcs.pixel_to_world(table.x.to_numpy(), table.y.to_numpy())
    table["ra"], table["dec"] = sky.ra.deg, sky.dec.deg
    table["realized_flux"] = rng.poisson(table.flux.clip(lower=0)).astype(float)
    # OU mag = -2.5 log10(flux) + bandpass zero point, i.e. AB - ZPTMAG (§5.2)
    table["mag"] = -2.5 * np.log10(table.flux) + zp_band
    table["x"] = table.x + TRUTH_ORIGIN
    table["y"] = table.y + TRUTH_ORIGIN
    return table[list(formats.OU_COLUMNS)]


def truncate_file(path: Path, *, fraction: float = 0.5) -> None:
    """Cut a file to ``fraction`` of its size, block-misaligned (a partial transfer)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(math.floor(len(data) * fraction)) + 17])

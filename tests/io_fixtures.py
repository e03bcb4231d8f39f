"""Tiny RAPID job folders written in the exact on-disk formats (docs/rapid_formats.md §1-§5).

Images are small (33x33 by default), catalogs a handful of rows; everything is written with the same
writers RAPID and its inputs use (astropy FITS and "basic" tables, galsim's writeAscii layout).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import ascii, fits
from astropy.table import Table
from astropy.wcs import WCS

from rapid_croissant import formats
from rapid_croissant.io.catalogs import write_sextractor_catalog
from rapid_croissant.simulate import constants

SHAPE = (33, 33)
FILTER = "H158"
POINTING, SCA = 124, 5
EXPTIME = 302.0
ZPTMAG = constants.zptmag_from_exptime(EXPTIME)  # 2.5 log10(302 * 37570)
MJD = 62336.204
SFFT_FLOAT64 = ("sfft_diff", "sfft_scorr")  # SFFT dconv/cconv are float64 (§2.1)


def science_stem(filter_name: str = FILTER) -> str:
    return f"Roman_TDS_simple_model_{filter_name}_{POINTING}_{SCA}_lite"


def science_header(*, filter_name: str | None = FILTER, zptmag: float | None = ZPTMAG) -> fits.Header:
    """A reformatted-science-like header: TAN WCS, FILTER, ZPTMAG, EXPTIME, MJD-OBS, DATE-OBS, SCA_NUM."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [9.5, -44.0]
    wcs.wcs.crpix = [17.0, 17.0]
    wcs.wcs.cdelt = [-0.11 / 3600, 0.11 / 3600]
    header = wcs.to_header()
    if filter_name is not None:
        header["FILTER"] = filter_name
    if zptmag is not None:
        header["ZPTMAG"] = zptmag
    header["EXPTIME"] = EXPTIME
    header["MJD-OBS"] = MJD
    header["DATE-OBS"] = "2029-03-01T04:53:46"
    header["SCA_NUM"] = SCA
    header["BUNIT"] = "DN/s"
    return header


def write_plane(path: Path, *, shape=SHAPE, dtype=np.float32, header=None, seed: int = 0) -> np.ndarray:
    """A noise image with one NaN at (0, 0), written to HDU 0."""
    data = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    data[0, 0] = np.nan
    fits.PrimaryHDU(data, header=header).writeto(path, overwrite=True)
    return data


def photutils_tables(*, n: int = 5, photutils3: bool = False, seed: int = 0) -> tuple[Table, Table]:
    """Finder and psfcat tables with the column names of photutils 2 (2025) or 3 (2026)."""
    rng = np.random.default_rng(seed)
    finder_names = formats.FINDER_COLUMNS_2026 if photutils3 else formats.FINDER_COLUMNS_2025
    psf_names = formats.PSFCAT_COLUMNS_2026 if photutils3 else formats.PSFCAT_COLUMNS_2025
    ids = np.arange(1, n + 1)
    finder = Table({name: rng.uniform(0.1, 30, n) for name in finder_names})
    finder[finder_names[0]] = ids
    finder[finder_names[6]] = np.full(n, 25)  # npix / n_pixels: the constant kernel size (§3.2)
    psf = Table({name: rng.uniform(0.1, 30, n) for name in psf_names})
    psf["id"] = ids
    psf["flags"] = rng.integers(0, 8, n)
    psf["x_fit"] = finder[finder_names[1]] + 0.25
    return finder, psf


def write_photutils_pair(job_dir: Path, finder_name: str, psfcat_name: str, *, shuffle: bool = False, **kw):
    """Write both tables with astropy's "basic" writer, as RAPID does (§3.1); psfcat rows optionally
    shuffled."""
    finder, psf = photutils_tables(**kw)
    if shuffle:
        psf = psf[np.random.default_rng(1).permutation(len(psf))]
    ascii.write(finder, job_dir / finder_name, format="basic", overwrite=True)
    ascii.write(psf, job_dir / psfcat_name, format="basic", overwrite=True)
    return finder, psf


def sextractor_frame(n: int = 4) -> pd.DataFrame:
    cols = {"NUMBER": np.arange(1, n + 1), "FLAGS": np.zeros(n, dtype=int)}
    cols |= {"XWIN_IMAGE": np.linspace(2.0, 30.0, n), "YWIN_IMAGE": np.linspace(3.5, 31.5, n)}
    cols |= {f"FLUX_APER_{k}": np.full(n, float(k)) for k in range(1, 7)}
    cols["MAG_AUTO"] = np.full(n, -9.5)
    return pd.DataFrame(cols)


def write_injections(path: Path, rows) -> None:
    """RAPID's save_injection_catalog layout: 'xpix    ypix     flux' then f'{x} {y} {flux}' rows (§5.1)."""
    lines = ["xpix    ypix     flux"] + [f"{x} {y} {flux}" for x, y, flux in rows]
    path.write_text("\n".join(lines) + "\n")


def write_ou_index(path: Path, rows) -> None:
    """galsim OutputCatalog.writeAscii layout (§5.2): '# ' + names centred in 16 chars; %16d/%16.8e/%16s
    rows."""
    names = formats.OU_COLUMNS
    dtypes = [(names[0], "i8")] + [(n, "f8") for n in names[1:-1]] + [(names[-1], "U16")]
    data = np.array([tuple(r) for r in rows], dtype=dtypes)
    header = "".join(f"{{{i}:^16}} " for i in range(len(names))).format(*names)
    fmt = ["%16d"] + ["%16.8e"] * (len(names) - 2) + ["%16s"]
    np.savetxt(path, data, fmt=fmt, header=header)


OU_ROWS = [
    (20149058, 9.5, -44.0, 11.0, 21.0, 1510.0, 1500.0, 9.0, "transient"),
    (3001, 9.501, -44.001, 5.5, 7.25, 9.9e5, 1.0e6, 2.5, "galaxy"),
    (20150001, 9.502, -44.002, 30.0, 2.0, 98.0, 100.0, 12.0, "transient"),
]
INJECTION_ROWS = [(10.0, 20.0, 5000.0), (1.5, 33.0, 123.456), (17.25, 4.75, 0.0)]


def make_job(
    root: Path,
    jid: str = "jid1",
    *,
    era: str = formats.ERA_2025,
    shape=SHAPE,
    sfft: bool = True,
    truth: bool = True,
    science_file: bool = True,
) -> Path:
    """A complete job folder of the given era; every product carries the science header (§2.3)."""
    job = root / jid
    job.mkdir(parents=True)
    files = formats.FILES_BY_ERA[era]
    header = science_header()
    if science_file:
        write_plane(job / f"{science_stem()}_inject_reformatted.fits", shape=shape, header=header)
    for i, (channel, name) in enumerate(files.channels.items()):
        if channel in formats.SUBTRACTION_CHANNELS["sfft"] and not sfft:
            continue
        size = (7, 7) if channel in formats.STAMP_CHANNELS else shape
        dtype = np.float64 if channel in SFFT_FLOAT64 else np.float32
        write_plane(job / name, shape=size, dtype=dtype, header=header, seed=i)
    photutils3 = era == formats.ERA_2026
    write_photutils_pair(job, files.zogy_finder, files.zogy_psfcat, photutils3=photutils3, seed=1)
    write_sextractor_catalog(sextractor_frame(), job / files.zogy_sextractor)
    if sfft:
        write_photutils_pair(job, files.sfft_finder, files.sfft_psfcat, photutils3=photutils3, seed=2, n=4)
        write_sextractor_catalog(sextractor_frame(3), job / files.sfft_sextractor)
    if truth:
        write_injections(job / f"{science_stem()}_inject.txt", INJECTION_ROWS)
        write_ou_index(job / f"Roman_TDS_index_{FILTER}_{POINTING}_{SCA}.txt", OU_ROWS)
    return job

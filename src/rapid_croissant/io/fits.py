"""Read FITS image planes and the header facts (filter, zero point, epoch, WCS) of one RAPID job.

Every RAPID product keeps its data in the primary HDU (rapid_formats.md §2.1). Shapes are read from the
header, never assumed (real products are 4089x4089, the PSF stamp is small), and dtypes are kept
(SFFT dconv/cconv are float64, the rest float32).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from rapid_croissant import formats
from rapid_croissant.errors import JobError
from rapid_croissant.io.discovery import detect_era

logger = logging.getLogger(__name__)

#: HeaderFacts field and converter of each keyword, in the order of formats.HEADER_KEYWORDS.
_FIELDS = ("filter", "zptmag", "exptime", "mjd", "date_obs", "sca")
_CONVERTERS = (str, float, float, float, str, int)


@dataclass(frozen=True)
class HeaderFacts:
    """Observation facts of a job, read from its science header (or a fallback product's header)."""

    filter: str | None = None
    zptmag: float | None = None  # 2.5 log10(EXPTIME * 37570 cm^2): NOT an AB zero point (§2.3)
    exptime: float | None = None
    mjd: float | None = None
    date_obs: str | None = None
    sca: int | None = None
    wcs: WCS | None = None
    source: str = ""  # name of the file the facts came from


def _owner(path: Path, job: str | Path | None) -> str | Path:
    return job if job is not None else path.parent


def _read_primary_header(path: Path, *, job: str | Path) -> tuple[fits.Header, int]:
    """Primary header and the byte offset where its data start."""
    if not path.is_file():
        raise JobError(job, path, "file is missing")
    try:
        with warnings.catch_warnings(record=True), path.open("rb") as fh:
            header = fits.Header.fromfile(fh)  # reads whole 2880-byte blocks, up to END
            return header, fh.tell()
    except (OSError, ValueError, EOFError) as exc:
        raise JobError(job, path, f"unreadable FITS header ({exc or 'file is empty'})") from exc


def _shape_from_header(header: fits.Header, path: Path, *, job: str | Path) -> tuple[int, int]:
    naxis = header.get("NAXIS", 0)
    if naxis == 0:
        raise JobError(job, path, "HDU 0 holds no data (NAXIS = 0)")
    if naxis != 2:
        raise JobError(job, path, f"expected a 2-D image in HDU 0, found NAXIS = {naxis}")
    # numpy order: (rows, columns) = (NAXIS2, NAXIS1)
    return int(header["NAXIS2"]), int(header["NAXIS1"])


def read_plane_shape(path: str | Path, *, job: str | Path | None = None) -> tuple[int, int]:
    """(NAXIS2, NAXIS1) of the primary HDU, from the header alone."""
    path = Path(path)
    header, _ = _read_primary_header(path, job=_owner(path, job))
    return _shape_from_header(header, path, job=_owner(path, job))


def check_plane_file(path: str | Path, *, job: str | Path | None = None) -> tuple[int, int]:
    """Shape of a plane after checking, without loading it, that the file holds all the data its header
    announces."""
    path = Path(path)
    owner = _owner(path, job)
    header, offset = _read_primary_header(path, job=owner)
    shape = _shape_from_header(header, path, job=owner)
    needed = offset + abs(int(header["BITPIX"])) // 8 * shape[0] * shape[1]
    on_disk = path.stat().st_size
    if on_disk < needed:
        raise JobError(owner, path, f"truncated: {on_disk} bytes on disk, its header needs {needed}")
    return shape


def open_plane(path: str | Path, *, job: str | Path | None = None) -> np.ndarray:
    """HDU 0 data as a read-only memory map (big-endian, as stored): rows are read only when touched.

    Falls back to :func:`read_plane` when the header scales the data (BSCALE/BZERO) or it is not float.
    """
    path = Path(path)
    owner = _owner(path, job)
    shape = check_plane_file(path, job=owner)
    header, offset = _read_primary_header(path, job=owner)
    bitpix = int(header["BITPIX"])
    if bitpix not in (-32, -64) or header.get("BSCALE", 1) != 1 or header.get("BZERO", 0) != 0:
        return read_plane(path, job=owner)
    return np.memmap(path, dtype=">f4" if bitpix == -32 else ">f8", mode="r", offset=offset, shape=shape)


def read_plane(path: str | Path, *, job: str | Path | None = None) -> np.ndarray:
    """Data of HDU 0 as stored (float32 or float64, NaNs kept), in native byte order."""
    path = Path(path)
    owner = _owner(path, job)
    check_plane_file(path, job=owner)  # a truncated file fails here, before astropy warns
    try:
        with warnings.catch_warnings(record=True) as caught, fits.open(path, memmap=False) as hdul:
            data = hdul[0].data
    except (OSError, ValueError, TypeError) as exc:
        raise JobError(owner, path, f"unreadable FITS data ({exc})") from exc
    for w in caught:
        logger.debug("%s/%s: %s", Path(owner).name, path.name, w.message)
    if data is None or data.ndim != 2:
        raise JobError(owner, path, "HDU 0 holds no 2-D image")
    return data.astype(data.dtype.newbyteorder("="), copy=False)


def _header_candidates(job_dir: Path, files: formats.JobFiles) -> list[Path]:
    """Files whose headers may hold the facts, best first (§6): the reformatted science image, then
    products."""
    science = sorted(
        (p for p in job_dir.iterdir() if p.is_file() and formats.SCIENCE_HEADER_PATTERN.match(p.name)),
        key=lambda p: ("inject" not in p.name, p.name),  # the injected image is the one RAPID differenced
    )
    names = [
        files.channels["sci"],
        files.channels["zogy_diff"],
        *(era.channels["zogy_diff"] for era in formats.FILES_BY_ERA.values()),
        files.channels["zogy_scorr"],
        files.channels["sfft_diff"],
    ]
    others = [job_dir / name for name in dict.fromkeys(names)]
    return [p for p in science + others if p.is_file()]


def _take_keywords(header: fits.Header, values: dict, path: Path) -> bool:
    """Fill the facts still missing from ``header``; True when it gave at least one."""
    gave = False
    for keyword, field, convert in zip(formats.HEADER_KEYWORDS, _FIELDS, _CONVERTERS, strict=True):
        raw = header.get(keyword)
        if field in values or raw is None or isinstance(raw, fits.card.Undefined):
            continue
        try:
            value = convert(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            logger.warning("%s: header keyword %s = %r is not usable", path.name, keyword, raw)
            continue
        if value != "":
            values[field], gave = value, True
    return gave


def _wcs_from(header: fits.Header, path: Path) -> WCS | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            return WCS(header)
    except (ValueError, KeyError, MemoryError) as exc:
        logger.warning("%s: WCS not usable (%s)", path.name, exc)
        return None


def _facts_from_names(job_dir: Path) -> tuple[dict, str]:
    """Filter and SCA from the science, injection or OU file names (§1), when no header has them."""
    patterns = (formats.SCIENCE_HEADER_PATTERN, formats.INJECTION_PATTERN, formats.OU_INDEX_PATTERN)
    for path in sorted(job_dir.iterdir()):
        for pattern in patterns:
            if match := pattern.match(path.name):
                return {"filter": match["filter"], "sca": int(match["sca"])}, path.name
    return {}, ""


def read_header_facts(job_dir: str | Path, *, files: formats.JobFiles | None = None) -> HeaderFacts:
    """FILTER, ZPTMAG, EXPTIME, MJD-OBS, DATE-OBS, SCA_NUM and the WCS of a job, each from the best header
    having it."""
    job_dir = Path(job_dir)
    if not job_dir.is_dir():
        raise JobError(job_dir, None, "job folder does not exist")
    files = files or formats.FILES_BY_ERA[detect_era(job_dir)]
    values: dict = {}
    wcs, source = None, ""
    for path in _header_candidates(job_dir, files):
        try:
            header, _ = _read_primary_header(path, job=job_dir)
        except JobError as exc:
            logger.warning("%s; header skipped", exc)
            continue
        if _take_keywords(header, values, path) and not source:
            source = path.name
        if wcs is None and "CTYPE1" in header:
            wcs = _wcs_from(header, path)
    if "filter" not in values:
        from_names, name = _facts_from_names(job_dir)
        values = {**from_names, **values}
        source = source or name
    return HeaderFacts(**values, wcs=wcs, source=source)

"""Cheap structural checks of RAPID text tables and FITS headers, run before any value is trusted.

pandas silently re-aligns a whitespace table whose rows hold one field more than its header (the first
field becomes the index, so x takes y's value and y the flux) and fills missing fields with NaN. Every
table we read is therefore first checked here: each data row must have exactly as many fields as the
header names. The FITS check refuses integer or unknown BITPIX for products RAPID writes as floats.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from rapid_croissant.errors import JobError

#: SExtractor vector parameters and their lengths, e.g. MAG_APER(3): a header line per vector, n fields.
_SEXTRACTOR_HEADER = re.compile(r"^#\s*(\d+)\s+([-\w]+)")
FLOAT_BITPIX = (-32, -64)


def _data_lines(path: Path, owner, *, skip: int, first_only: bool = False) -> list[tuple[int, str]]:
    """(line number, text) of the non-empty lines after the first ``skip`` non-empty ones ('#' lines kept);
    ``first_only``: only the first non-empty line (a header), without reading the rest of the file."""
    try:
        with path.open() as fh:
            nonempty = ((n, line) for n, line in enumerate(fh, start=1) if line.strip())
            lines = list(itertools.islice(nonempty, 1 if first_only else None))
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(owner, path, f"unreadable text table ({exc})") from exc
    return lines[skip:]


def check_field_counts(path: str | Path, expected: int, *, owner, skip: int = 1, lines=None) -> int:
    """Raise JobError unless every data row of ``path`` has ``expected`` whitespace-separated fields.

    ``skip`` is the number of header lines (non-empty) before the first row; ``lines``: the file's
    ``_data_lines`` when the caller has read them. Returns the number of rows.
    """
    path = Path(path)
    lines = _data_lines(path, owner, skip=0) if lines is None else lines
    rows = [(n, line) for n, line in lines[skip:] if not line.lstrip().startswith("#")]
    bad = [(n, len(line.split())) for n, line in rows if len(line.split()) != expected]
    if bad:
        n, got = bad[0]
        raise JobError(
            owner,
            path,
            f"{len(bad)} row(s) do not have the {expected} fields the header names "
            f"(first: line {n} has {got}): columns would shift, file refused",
        )
    return len(rows)


def photutils_header_fields(path: str | Path, *, owner) -> int:
    """Number of names on the first non-empty line (astropy 'basic' header) of a photutils table."""
    lines = _data_lines(Path(path), owner, skip=0, first_only=True)
    return len(lines[0][1].split()) if lines else 0


def sextractor_field_count(path: str | Path, vector_lengths: dict[str, int], *, owner, lines=None) -> int:
    """Fields a SExtractor ASCII_HEAD row must have: the last column number (+ vector length - 1)."""
    last, name = 0, ""
    for _, line in _data_lines(Path(path), owner, skip=0) if lines is None else lines:
        if not line.startswith("#"):
            break
        if m := _SEXTRACTOR_HEADER.match(line):
            last, name = int(m[1]), m[2]
    return last + vector_lengths.get(name, 1) - 1 if last else 0


def check_sextractor_rows(path: str | Path, vector_lengths: dict[str, int], *, owner) -> int:
    """Raise JobError unless every row of a SExtractor catalog has the fields its header numbers."""
    path = Path(path)
    lines = _data_lines(path, owner, skip=0)  # read once for the three questions
    expected = sextractor_field_count(path, vector_lengths, owner=owner, lines=lines)
    if not expected:
        return 0
    header_lines = sum(1 for _, line in lines if line.startswith("#"))
    return check_field_counts(path, expected, owner=owner, skip=header_lines, lines=lines)


def bitpix_problem(bitpix: int) -> str | None:
    """Why a RAPID image product with this BITPIX cannot be trusted, or None (float32 and float64)."""
    if bitpix in FLOAT_BITPIX:
        return None
    if bitpix in (8, 16, 32, 64):
        return f"integer image (BITPIX {bitpix}): RAPID products are float32/float64, channel not used"
    return f"unknown BITPIX {bitpix}"


def id_problems(finder_ids, psfcat_ids) -> tuple[str | None, bool]:
    """How a finder and its PSF-fit table disagree on ids: (message or None, fatal).

    Every finder source gets a PSF fit in RAPID (the fit starts from the finder table), so the two id sets
    should be equal. Fatal when both have rows and share no id at all (the files do not belong together).
    """
    finder, psfcat = set(finder_ids), set(psfcat_ids)
    if finder == psfcat:
        return None, False
    common = finder & psfcat
    only_f, only_p = len(finder - common), len(psfcat - common)
    if not common and finder and psfcat:
        return f"finder and PSF-fit tables share no id ({len(finder)} vs {len(psfcat)} rows)", True
    return (
        f"{only_f} finder id(s) without a PSF fit and {only_p} PSF fit(s) without a finder row dropped",
        False,
    )

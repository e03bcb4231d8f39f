"""FITS planes keep dtype, shape and NaNs; broken files raise JobError naming job and file; header
fallbacks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits

from io_fixtures import EXPTIME, FILTER, MJD, SCA, ZPTMAG, make_job, science_header, science_stem, write_plane
from rapid_croissant import formats
from rapid_croissant.errors import JobError
from rapid_croissant.io import check_plane_file, read_header_facts, read_plane, read_plane_shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_read_plane_keeps_dtype_shape_and_nans(tmp_path, dtype):
    path = tmp_path / "plane.fits"
    written = write_plane(path, shape=(33, 31), dtype=dtype)
    data = read_plane(path)
    assert data.dtype == np.dtype(dtype)
    assert data.dtype.isnative
    assert data.shape == (33, 31)
    assert np.isnan(data[0, 0])
    np.testing.assert_array_equal(data[1:], written[1:])
    assert read_plane_shape(path) == (33, 31)
    assert check_plane_file(path) == (33, 31)


def test_truncated_fits_raises_job_error_naming_job_and_file(tmp_path):
    job = tmp_path / "jid42"
    job.mkdir()
    path = job / "scorrimage_masked.fits"
    write_plane(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(JobError, match=r"jid42/scorrimage_masked.fits: truncated") as info:
        read_plane(path)
    assert (info.value.job, info.value.file) == ("jid42", "scorrimage_masked.fits")
    with pytest.raises(JobError, match="truncated"):
        check_plane_file(path, job="jid7")
    assert read_plane_shape(path) == (33, 33)  # the header alone is intact


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "unreadable FITS header"),
        (b"not a fits file\n" * 10, "unreadable FITS header"),
        (None, "missing"),
    ],
)
def test_unreadable_or_missing_file_raises_job_error(tmp_path, content, reason):
    path = tmp_path / "diffimage_masked.fits"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(JobError, match=f"jid9/diffimage_masked.fits: .*{reason}"):
        read_plane(path, job="jid9")


def test_header_cut_inside_first_block_raises_job_error(tmp_path):
    path = tmp_path / "diffpsf.fits"
    write_plane(path, shape=(7, 7))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(JobError, match="diffpsf.fits: unreadable FITS header"):
        read_plane(path)


def test_non_2d_and_empty_primary_raise_job_error(tmp_path):
    cube, empty = tmp_path / "cube.fits", tmp_path / "empty.fits"
    fits.PrimaryHDU(np.zeros((2, 5, 5), dtype=np.float32)).writeto(cube)
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((5, 5)))]).writeto(empty)
    with pytest.raises(JobError, match="NAXIS = 3"):
        read_plane(cube)
    with pytest.raises(JobError, match="no data"):
        read_plane_shape(empty)


def test_header_facts_from_reformatted_science_image(tmp_path):
    job = make_job(tmp_path)
    facts = read_header_facts(job)
    assert facts.source == f"{science_stem()}_inject_reformatted.fits"
    assert (facts.filter, facts.exptime, facts.mjd, facts.sca) == (FILTER, EXPTIME, MJD, SCA)
    assert facts.zptmag == pytest.approx(2.5 * math.log10(302 * 37570))
    assert facts.date_obs.startswith("2029-03-01")
    # the WCS maps the reference pixel (CRPIX 17, 1-based) to CRVAL
    ra, dec = facts.wcs.all_pix2world([[16.0, 16.0]], 0)[0]
    assert (ra, dec) == pytest.approx((9.5, -44.0))


def test_header_facts_fall_back_to_products_when_science_file_missing(tmp_path):
    job = make_job(tmp_path, science_file=False)
    facts = read_header_facts(job)
    assert facts.source == formats.FILES_2025.channels["sci"]
    assert facts.filter == FILTER and facts.zptmag == pytest.approx(ZPTMAG)


def test_header_facts_take_each_keyword_from_the_first_header_having_it(tmp_path):
    job = make_job(tmp_path, era=formats.ERA_2026)
    files = formats.FILES_2026
    # science file without ZPTMAG; bkg_subbed absent; the zogy_-prefixed diff has another ZPTMAG
    write_plane(job / f"{science_stem()}_inject_reformatted.fits", header=science_header(zptmag=None))
    (job / files.channels["sci"]).unlink()
    write_plane(job / files.channels["zogy_diff"], header=science_header(zptmag=18.0))
    facts = read_header_facts(job)
    assert facts.zptmag == 18.0
    assert facts.filter == FILTER
    assert facts.source == f"{science_stem()}_inject_reformatted.fits"


def test_filter_from_file_name_when_no_header_has_it(tmp_path):
    job = make_job(tmp_path, science_file=False)
    for name in formats.FILES_2025.channels.values():
        write_plane(job / name, header=science_header(filter_name=None))
    facts = read_header_facts(job)
    assert facts.filter == FILTER  # from Roman_TDS_index_H158_... / ..._H158_..._lite_inject.txt
    assert facts.zptmag == pytest.approx(ZPTMAG)


def test_header_facts_of_job_without_any_header(tmp_path):
    job = tmp_path / "jid3"
    job.mkdir()
    facts = read_header_facts(job)
    assert facts.filter is None and facts.zptmag is None and facts.wcs is None and facts.source == ""
    with pytest.raises(JobError, match="jid4"):
        read_header_facts(tmp_path / "jid4")

"""photutils catalogs joined by id (never by row), both column eras; SExtractor read/write; no-detection
cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy.io import ascii

from io_fixtures import photutils_tables, sextractor_frame, write_photutils_pair
from rapid_croissant import formats
from rapid_croissant.errors import InconsistentInputWarning, JobError, NoDetectionsWarning
from rapid_croissant.io import (
    peek_catalog,
    read_photutils_catalog,
    read_sextractor_catalog,
    write_sextractor_catalog,
)

FINDER, PSFCAT = formats.FILES_2025.zogy_finder, formats.FILES_2025.zogy_psfcat


@pytest.mark.parametrize("photutils3", [False, True])
def test_join_by_id_when_psfcat_rows_are_shuffled(job, photutils3):
    finder, psf = write_photutils_pair(job, FINDER, PSFCAT, shuffle=True, photutils3=photutils3, n=6)
    assert list(psf["id"]) != sorted(psf["id"])  # rows really are out of order
    df = read_photutils_catalog(job / FINDER, job / PSFCAT)
    assert list(df["id"]) == [1, 2, 3, 4, 5, 6]
    by_id = {int(r["id"]): r for r in psf}
    np.testing.assert_array_equal(df["flags"], [by_id[i]["flags"] for i in df["id"]])
    np.testing.assert_allclose(df["x_fit"], [by_id[i]["x_fit"] for i in df["id"]])
    xname = "x_centroid" if photutils3 else "xcentroid"
    np.testing.assert_allclose(df["xcentroid"], finder[xname])
    np.testing.assert_allclose(df["x_fit"] - df["xcentroid"], 0.25)  # the fixture's finder-to-fit offset
    assert df["id"].dtype == np.int64 and df["flags"].dtype == np.int64
    assert df["x_fit"].dtype == np.float64 and df["npix"].dtype == np.float64
    assert set(formats.FINDER_REQUIRED + formats.PSFCAT_REQUIRED) <= set(df.columns)
    assert ("reduced_chi2" in df.columns) == photutils3
    assert "npixfit" in df.columns and not set(formats.PHOTUTILS_RENAME) & set(df.columns)


def test_nan_values_and_unmatched_ids_are_warned_and_dropped(job):
    finder, psf = photutils_tables(n=5)
    psf["flux_err"][1] = np.nan
    ascii.write(finder[:4], job / FINDER, format="basic")  # id 5 has no finder row
    ascii.write(psf[1:], job / PSFCAT, format="basic")  # id 1 has no psf fit
    with pytest.warns(InconsistentInputWarning) as caught:
        df = read_photutils_catalog(job / FINDER, job / PSFCAT)
    assert list(df["id"]) == [2, 3, 4]
    assert np.isnan(df.loc[0, "flux_err"])
    text = str(caught[0].message)
    assert "jid5/diffimage_masked_psfcat.txt: 1 finder id(s) without a PSF fit" in text
    assert "and 1 PSF fit(s) without a finder row dropped" in text


@pytest.mark.parametrize("broken", ["absent", "header_only", "zero_bytes"])
def test_absent_or_empty_catalog_warns_and_gives_empty_frame(job, broken):
    write_photutils_pair(job, FINDER, PSFCAT)
    target = job / PSFCAT
    if broken == "absent":
        target.unlink()
    elif broken == "header_only":
        target.write_text(" ".join(formats.PSFCAT_COLUMNS_2026) + "\n")
    else:
        target.write_text("")
    with pytest.warns(NoDetectionsWarning, match="jid5/diffimage_masked_psfcat.txt: catalog"):
        df = read_photutils_catalog(job / FINDER, target)
    assert df.empty
    assert list(df.columns) == list(dict.fromkeys(formats.FINDER_REQUIRED + formats.PSFCAT_REQUIRED))
    assert df["id"].dtype == np.int64 and df["flags"].dtype == np.int64 and df["flux_fit"].dtype == np.float64


def test_missing_required_column_raises_naming_file_and_columns(job):
    finder, psf = photutils_tables()
    psf.remove_columns(["flags", "qfit"])
    ascii.write(finder, job / FINDER, format="basic")
    ascii.write(psf, job / PSFCAT, format="basic")
    with pytest.raises(
        JobError, match=r"jid5/diffimage_masked_psfcat.txt: missing required column\(s\): qfit, flags"
    ):
        read_photutils_catalog(job / FINDER, job / PSFCAT)
    with pytest.raises(JobError, match="qfit, flags"):
        peek_catalog(job / PSFCAT, kind="psfcat")


def test_non_numeric_or_duplicate_ids_raise(job):
    finder, psf = photutils_tables(n=3)
    ascii.write(finder, job / FINDER, format="basic")
    psf["id"][2] = 2
    ascii.write(psf, job / PSFCAT, format="basic")
    with pytest.raises(JobError, match="psfcat.txt: 1 duplicated id"):
        read_photutils_catalog(job / FINDER, job / PSFCAT)
    text = (job / FINDER).read_text().splitlines()
    (job / FINDER).write_text("\n".join([text[0], text[1].replace(text[1].split()[3], "abc", 1)]) + "\n")
    with pytest.raises(JobError, match="finder.txt: column sharpness is not numeric"):
        read_photutils_catalog(job / FINDER, job / PSFCAT)


def test_peek_catalog_states(job):
    write_photutils_pair(job, FINDER, PSFCAT)
    (job / "empty.txt").write_text(" ".join(formats.FINDER_COLUMNS_2026) + "\n")
    assert peek_catalog(job / FINDER, kind="finder") is True
    assert peek_catalog(job / "empty.txt", kind="finder") is False
    assert peek_catalog(job / "absent.txt", kind="psfcat") is None


REAL_STYLE = """\
#   1 NUMBER                 Running object number
#   2 FLAGS                  Extraction flags
#   3 XWIN_IMAGE             Windowed position estimate along x                         [pixel]
#   4 YWIN_IMAGE             Windowed position estimate along y                         [pixel]
#   5 MAG_APER               Fixed aperture magnitude vector                            [mag]
#  11 FLUX_RADIUS            Fraction-of-light radii                                    [pixel]
       1   0   100.4872   2044.1020  -1.1 -1.2 -1.3 -1.4 -1.5 99.0  1.1 1.2 1.3 1.4 1.5 1.6 1.7
       2  16  4089.0000      1.0000  -2.1 -2.2 -2.3 -2.4 -2.5  nan  2.1 2.2 2.3 2.4 2.5 2.6 2.7
"""


def test_read_sextractor_real_style_header_with_vectors(job):
    (job / "diffimage_masked.txt").write_text(REAL_STYLE)
    df = read_sextractor_catalog(job / "diffimage_masked.txt")
    expected = ["NUMBER", "FLAGS", "XWIN_IMAGE", "YWIN_IMAGE"]
    expected += [f"MAG_APER_{k}" for k in range(1, 7)] + [f"FLUX_RADIUS_{k}" for k in range(1, 8)]
    assert list(df.columns) == expected
    assert set(df.columns) <= set(formats.sextractor_columns())
    assert df["XWIN_IMAGE"].tolist() == [100.4872, 4089.0]  # 1-based, as in the file
    assert df["MAG_APER_1"].tolist() == [-1.1, -2.1] and np.isnan(df.loc[1, "MAG_APER_6"])
    assert df["FLUX_RADIUS_7"].tolist() == [1.7, 2.7]
    assert df["FLAGS"].dtype == np.int64 and df["MAG_APER_6"].dtype == np.float64


def test_write_then_read_sextractor_round_trip(job):
    frame = sextractor_frame(4)
    path = job / "sfftdiffimage_cconv_masked.txt"
    write_sextractor_catalog(frame, path)
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert header[0].split(None, 3) == ["#", "1", "NUMBER", "Running object number"]
    assert header[0].startswith("#   1 NUMBER ")
    assert sum("FLUX_APER" in line for line in header) == 1  # one header line for the 6-vector
    assert header[-1].startswith("#   6 FLUX_APER ")
    back = read_sextractor_catalog(path)
    pd.testing.assert_frame_equal(back[frame.columns], frame, check_dtype=False)
    assert peek_catalog(path, kind="sextractor") is True


def test_write_sextractor_rejects_unknown_or_gappy_columns(job):
    with pytest.raises(ValueError, match="NOT_A_PARAM"):
        write_sextractor_catalog(pd.DataFrame({"NUMBER": [1], "NOT_A_PARAM": [2]}), job / "x.txt")
    with pytest.raises(ValueError, match="FLUX_APER_3 needs FLUX_APER_1..FLUX_APER_2"):
        write_sextractor_catalog(
            pd.DataFrame({"NUMBER": [1], "FLUX_APER_1": [1.0], "FLUX_APER_3": [2.0]}), job / "x.txt"
        )


def test_sextractor_missing_columns_raise_and_empty_warns(job):
    path = job / "diffimage_masked.txt"
    write_sextractor_catalog(sextractor_frame(2).drop(columns=["FLAGS", "YWIN_IMAGE"]), path)
    with pytest.raises(
        JobError, match="jid5/diffimage_masked.txt: missing required column.*FLAGS, YWIN_IMAGE"
    ):
        read_sextractor_catalog(path)
    write_sextractor_catalog(sextractor_frame(0), path)
    with pytest.warns(NoDetectionsWarning, match="diffimage_masked.txt: catalog has no rows"):
        empty = read_sextractor_catalog(path)
    assert empty.empty and set(formats.SEXTRACTOR_REQUIRED) <= set(empty.columns)
    assert empty["XWIN_IMAGE"].dtype == np.float64
    with pytest.warns(NoDetectionsWarning, match="jid5/absent.txt: catalog is absent"):
        absent = read_sextractor_catalog(job / "absent.txt")
    assert list(absent.columns) == list(formats.SEXTRACTOR_REQUIRED)

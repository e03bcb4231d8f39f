"""Truth files: discovery without recursion, 1-based -> 0-based positions, AB magnitudes, galsim OU layout."""

from __future__ import annotations

import math

import numpy as np
import pytest

from io_fixtures import INJECTION_ROWS, OU_ROWS, write_injections, write_ou_index
from rapid_croissant import formats
from rapid_croissant.errors import JobError
from rapid_croissant.io import find_truth_files, read_injections, read_ou_index

INJ = "Roman_TDS_simple_model_H158_124_5_lite_inject.txt"
OU = "Roman_TDS_index_H158_124_5.txt"
H158_ZPTMAG = 2.5 * math.log10(302 * 37570)  # ZPTMAG of a 302 s H158 exposure (§2.3)


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "jid8"
    path.mkdir()
    return path


def test_find_truth_files_only_directly_in_job(job):
    for name in (
        INJ,
        OU,
        "Roman_TDS_index_F184_124_5.txt",
        "Roman_TDS_simple_model_H158_124_5_lite.txt",
        "notes.txt",
    ):
        (job / name).write_text("x\n")
    (job / "old").mkdir()
    (job / "old" / "Roman_TDS_index_Y106_1_1.txt").write_text("x\n")
    injections, ou_files = find_truth_files(job)
    assert [p.name for p in injections] == [INJ]
    assert [p.name for p in ou_files] == ["Roman_TDS_index_F184_124_5.txt", OU]


@pytest.mark.parametrize("origin", [1, 0])
def test_injections_positions_and_ids(job, origin):
    write_injections(job / INJ, INJECTION_ROWS)
    df = read_injections(job / INJ, zptmag=H158_ZPTMAG, filter_name="H158", origin=origin)
    assert list(df.columns) == ["row", "x", "y", "flux", "mag_ab"]
    assert df["row"].tolist() == [0, 1, 2] and df["row"].dtype == np.int64
    assert df["x"].tolist() == [r[0] - origin for r in INJECTION_ROWS]
    assert df["y"].tolist() == [r[1] - origin for r in INJECTION_ROWS]
    assert df["flux"].tolist() == [r[2] for r in INJECTION_ROWS]


def test_injection_ab_magnitude_formula(job):
    # an AB 24.0 fake in H158: counts = 10**(-0.4 (24 - ZPTMAG - ZP_H158)) (§5.1)
    flux_24 = 10 ** (-0.4 * (24.0 - H158_ZPTMAG - 15.074))
    write_injections(job / INJ, [(5.0, 6.0, flux_24), (7.0, 8.0, 1.0), (9.0, 9.0, -3.0), (1.0, 1.0, 0.0)])
    df = read_injections(job / INJ, zptmag=H158_ZPTMAG, filter_name="H158")
    assert df["mag_ab"].iloc[0] == pytest.approx(24.0, abs=1e-9)
    assert df["mag_ab"].iloc[1] == pytest.approx(H158_ZPTMAG + 15.074)  # 1 count
    assert df["mag_ab"].iloc[2:].isna().all()  # no magnitude for flux <= 0
    for zpt, band in ((None, "H158"), (H158_ZPTMAG, None), (H158_ZPTMAG, "W146"), (float("nan"), "H158")):
        assert read_injections(job / INJ, zptmag=zpt, filter_name=band)["mag_ab"].isna().all()


def test_injection_file_problems_raise_job_error(job):
    (job / INJ).write_text("x y flux\n1 2 3\n")
    with pytest.raises(JobError, match=f"jid8/{INJ}: missing column.*xpix, ypix"):
        read_injections(job / INJ, zptmag=17.6, filter_name="H158")
    (job / INJ).write_text("xpix    ypix     flux\n1.0 2.0 abc\n")
    with pytest.raises(JobError, match="non-numeric"):
        read_injections(job / INJ, zptmag=17.6, filter_name="H158")
    with pytest.raises(JobError, match="missing"):
        read_injections(job / "absent.txt", zptmag=17.6, filter_name="H158")
    (job / INJ).write_text("xpix    ypix     flux\n")
    assert read_injections(job / INJ, zptmag=17.6, filter_name="H158").empty


def test_ou_index_in_galsim_layout(job):
    write_ou_index(job / OU, OU_ROWS)
    first = (job / OU).read_text().splitlines()[0]
    assert first.startswith("# ") and first[2:18] == "object_id".center(16)
    df = read_ou_index(job / OU, zptmag=H158_ZPTMAG)
    assert df["object_id"].tolist() == [20149058, 20150001] and df["object_id"].dtype == np.int64
    assert df["x"].tolist() == [10.0, 29.0] and df["y"].tolist() == [20.0, 1.0]  # 1-based -> 0-based
    assert df["mag"].tolist() == [9.0, 12.0]
    np.testing.assert_allclose(df["mag_ab"], [9.0 + H158_ZPTMAG, 12.0 + H158_ZPTMAG])  # mag is AB - ZPTMAG
    assert df["obj_type"].tolist() == ["transient", "transient"]
    assert list(df.columns) == [*formats.OU_COLUMNS[:-1], "mag_ab", "obj_type"]


def test_ou_index_all_types_origin_zero_and_unknown_zptmag(job):
    write_ou_index(job / OU, OU_ROWS)
    df = read_ou_index(job / OU, zptmag=None, origin=0, transients_only=False)
    assert df["obj_type"].tolist() == ["transient", "galaxy", "transient"]
    assert df["x"].tolist() == [11.0, 5.5, 30.0]
    assert df["realized_flux"].tolist() == [1510.0, 9.9e5, 98.0]
    assert df["mag_ab"].isna().all()


def test_ou_index_problems_raise_job_error(job):
    write_ou_index(job / OU, OU_ROWS)
    lines = (job / OU).read_text().splitlines()
    (job / OU).write_text("\n".join([lines[0].replace("realized_flux", "rflux"), *lines[1:]]) + "\n")
    with pytest.raises(JobError, match=f"jid8/{OU}: missing column.*realized_flux"):
        read_ou_index(job / OU, zptmag=17.6)
    (job / OU).write_text("\n".join([lines[0], lines[1], lines[2].rsplit(None, 1)[0]]) + "\n")
    with pytest.raises(JobError, match="fewer than 9 fields"):
        read_ou_index(job / OU, zptmag=17.6)
    (job / OU).write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(JobError, match="'#' header"):
        read_ou_index(job / OU, zptmag=17.6)
    (job / OU).write_text("\n".join([lines[0], lines[1].replace("9.50000000e+00", "ra?", 1)]) + "\n")
    with pytest.raises(JobError, match="non-numeric"):
        read_ou_index(job / OU, zptmag=17.6)
    (job / OU).write_text(lines[0] + "\n")
    assert read_ou_index(job / OU, zptmag=17.6).empty

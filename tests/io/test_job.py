"""open_job gives a typed inventory of a job; check_job lists every problem at once, each naming its file."""

from __future__ import annotations

import numpy as np
import pytest

from io_fixtures import FILTER, make_job, science_header, science_stem, write_plane
from rapid_croissant import formats
from rapid_croissant.errors import ConfigError, JobError
from rapid_croissant.io import JobProblem, check_job, open_job, read_plane


@pytest.mark.parametrize("era", formats.ERAS)
def test_open_job_of_each_era(tmp_path, era):
    path = make_job(tmp_path, "jid314", era=era, shape=(33, 35))
    job = open_job(path)
    files = formats.FILES_BY_ERA[era]
    assert (job.jid, job.era, job.files, job.shape) == ("jid314", era, files, (33, 35))
    assert job.has_zogy and job.has_sfft and all(job.channels_present.values())
    assert job.header.filter == FILTER
    assert job.channel_path("zogy_diff").name == files.channels["zogy_diff"]
    assert job.catalog_path("zogy_psfcat").name == files.zogy_psfcat
    assert [p.name for p in job.injection_files] == [f"{science_stem()}_inject.txt"]
    assert len(job.ou_files) == 1
    assert read_plane(job.channel_path("sfft_diff")).dtype == np.float64
    assert read_plane(job.channel_path("zogy_diff")).dtype == np.float32
    with pytest.raises(ConfigError, match="'nope'"):
        job.channel_path("nope")
    with pytest.raises(ConfigError, match="'zogy'"):
        job.catalog_path("zogy")


def test_open_job_without_sfft_or_truth(tmp_path):
    job = open_job(make_job(tmp_path, sfft=False, truth=False))
    assert job.has_zogy and not job.has_sfft
    assert not job.channels_present["sfft_diff"] and job.channels_present["zogy_diff"]
    assert job.injection_files == [] and job.ou_files == []


def test_open_job_refuses_unusable_jobs(tmp_path):
    with pytest.raises(JobError, match="jid0: job folder does not exist"):
        open_job(tmp_path / "jid0")
    path = make_job(tmp_path, "jid1")
    (path / formats.FILES_2025.channels["ref"]).unlink()
    with pytest.raises(JobError, match=f"jid1/{formats.FILES_2025.channels['ref']}: missing"):
        open_job(path)
    path = make_job(tmp_path, "jid2", sfft=False)
    (path / formats.FILES_2025.channels["psf"]).unlink()
    with pytest.raises(JobError, match="jid2: neither the ZOGY nor the SFFT"):
        open_job(path)


def test_check_job_of_clean_jobs_is_empty(tmp_path):
    for era in formats.ERAS:
        assert check_job(make_job(tmp_path / era, era=era)) == []


def test_check_job_sfft_missing_is_only_warnings(tmp_path):
    problems = check_job(make_job(tmp_path, sfft=False))
    assert {p.severity for p in problems} == {"warning"}
    missing_fits = {
        p.file for p in problems if "SFFT products missing: job will be built from ZOGY alone" in p.message
    }
    assert missing_fits == {formats.FILES_2025.channels[c] for c in formats.SUBTRACTION_CHANNELS["sfft"]}
    absent = {p.file for p in problems if "catalog absent" in p.message}
    assert absent == {
        formats.FILES_2025.sfft_finder,
        formats.FILES_2025.sfft_psfcat,
        formats.FILES_2025.sfft_sextractor,
    }


def test_check_job_lists_every_problem_at_once(tmp_path):
    files = formats.FILES_2025
    path = make_job(tmp_path, "jid77", truth=False)
    scorr = path / files.channels["zogy_scorr"]
    scorr.write_bytes(scorr.read_bytes()[:4000])  # truncated
    write_plane(path / files.channels["sfft_uncert"], shape=(33, 32), header=science_header())
    finder = path / files.sfft_finder
    lines = finder.read_text().splitlines()
    finder.write_text("\n".join([lines[0].replace("daofind_mag", "dmag"), *lines[1:]]) + "\n")
    (path / files.zogy_sextractor).write_text(
        "#   1 NUMBER\n#   2 FLAGS\n#   3 XWIN_IMAGE\n#   4 YWIN_IMAGE\n"
    )
    (path / files.zogy_psfcat).unlink()
    (path / files.channels["zogy_uncert"]).unlink()

    problems = check_job(path)
    assert all(p.job == "jid77" for p in problems)
    assert sorted((p.file or "", p.severity) for p in problems) == sorted(
        [
            (files.channels["zogy_scorr"], "warning"),
            (files.channels["sfft_uncert"], "warning"),
            (files.sfft_finder, "error"),
            (files.zogy_sextractor, "warning"),
            (files.zogy_psfcat, "warning"),
            (files.channels["zogy_uncert"], "warning"),
            ("", "warning"),
        ]
    )
    text = "\n".join(map(str, problems))
    assert f"jid77/{files.channels['zogy_scorr']}: truncated" in text
    assert "channel zogy_scorr left empty and masked" in text
    sci = files.channels["sci"]
    assert (
        f"jid77/{files.channels['sfft_uncert']}: shape (33, 32) differs from {sci}'s (33, 33): resized"
        in text
    )
    assert f"jid77/{files.sfft_finder}: missing required column(s): daofind_mag" in text
    assert f"jid77/{files.zogy_sextractor}: catalog without rows" in text
    assert f"jid77/{files.zogy_psfcat}: catalog absent" in text
    assert "ZOGY products missing: job will be built from SFFT alone" in text
    assert "jid77: no truth files: labels will be unknown" in text


def test_check_job_reports_missing_header_facts(tmp_path):
    path = make_job(tmp_path, "jid78", science_file=False, truth=False)
    no_facts = science_header(filter_name=None, zptmag=None)
    for channel, name in formats.FILES_2025.channels.items():
        write_plane(
            path / name, shape=(7, 7) if channel in formats.STAMP_CHANNELS else (33, 33), header=no_facts
        )
    messages = {p.message: p for p in check_job(path)}
    assert {"no FILTER in any header or file name", "no ZPTMAG in any header: truth AB mags unknown"} <= set(
        messages
    )
    assert messages["no ZPTMAG in any header: truth AB mags unknown"].severity == "warning"
    assert (
        messages["no ZPTMAG in any header: truth AB mags unknown"].file == formats.FILES_2025.channels["sci"]
    )


def test_check_job_reports_unreadable_truth_file(tmp_path):
    path = make_job(tmp_path, "jid79")
    (path / f"{science_stem()}_inject.txt").write_text("x y\n1 2\n")
    [problem] = check_job(path)
    assert (problem.file, problem.severity) == (f"{science_stem()}_inject.txt", "error")
    assert "missing column(s): xpix, ypix, flux" in problem.message


def test_job_problem_str():
    assert str(JobProblem("jid1", "diffpsf.fits", "error", "truncated")) == "jid1/diffpsf.fits: truncated"
    assert str(JobProblem("jid1", None, "warning", "no truth files")) == "jid1: no truth files"


def test_check_job_on_missing_folder(tmp_path):
    [problem] = check_job(tmp_path / "jid404")
    assert problem.severity == "error" and problem.job == "jid404"

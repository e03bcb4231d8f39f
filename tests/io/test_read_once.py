"""One job's readers parse each file once (the gate and the build read the same tables): every caller gets
its own copy, the same warnings and the same error, and a changed file is read again."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from astropy.io import ascii

from io_fixtures import photutils_tables, write_photutils_pair
from rapid_croissant import formats
from rapid_croissant.errors import InconsistentInputWarning, JobError
from rapid_croissant.io import read_photutils_catalog
from rapid_croissant.io.read_once import once, reading_once

FINDER, PSFCAT = formats.FILES_2025.zogy_finder, formats.FILES_2025.zogy_psfcat


def test_inside_the_block_a_file_is_parsed_once_and_each_caller_gets_a_copy(job, tmp_path):
    write_photutils_pair(job, FINDER, PSFCAT, n=6)
    calls = []

    @once
    def count_rows(path):
        calls.append(path)
        return read_photutils_catalog(path, job / PSFCAT)

    with reading_once():
        first = count_rows(job / FINDER)
        first.loc[0, "x_fit"] = -999.0  # a caller changing its copy
        second = count_rows(job / FINDER)
    assert len(calls) == 1
    assert second.loc[0, "x_fit"] != -999.0
    count_rows(job / FINDER)
    assert len(calls) == 2  # outside the block: read as before


def test_a_changed_file_is_read_again(job):
    write_photutils_pair(job, FINDER, PSFCAT, n=6)
    with reading_once():
        before = read_photutils_catalog(job / FINDER, job / PSFCAT)
        finder, psf = photutils_tables(n=4)
        ascii.write(finder, job / FINDER, format="basic", overwrite=True)
        ascii.write(psf, job / PSFCAT, format="basic", overwrite=True)
        os.utime(job / PSFCAT, ns=(1, 1))  # even with an old modification time: the size differs
        after = read_photutils_catalog(job / FINDER, job / PSFCAT)
    assert len(before) == 6 and len(after) == 4


def test_every_caller_sees_the_warnings_and_the_error(job):
    finder, psf = photutils_tables(n=5)
    ascii.write(finder[:4], job / FINDER, format="basic")
    ascii.write(psf, job / PSFCAT, format="basic")
    with reading_once():
        for _ in range(2):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                df = read_photutils_catalog(job / FINDER, job / PSFCAT)
            assert [w.category for w in caught] == [InconsistentInputWarning]
            assert list(df["id"]) == [1, 2, 3, 4]
        (job / "jid5_bad.txt").write_text("id xcentroid\n1 2 3\n")
        for _ in range(2):
            with pytest.raises(JobError, match="columns would shift"):
                read_photutils_catalog(job / "jid5_bad.txt", job / PSFCAT)


def test_the_build_gives_the_same_tables_with_and_without(tmp_path, sim_2025):
    """process_job reads through the block; the gate and build read the same catalogs: same outputs."""
    from rapid_croissant.config import BuildConfig
    from rapid_croissant.pipeline import job_task

    small_job = sorted(sim_2025.glob("jid*"))[0]
    outs = {}
    for mode in ("once", "twice"):
        out = tmp_path / mode
        (out / ".parts").mkdir(parents=True)
        cfg = BuildConfig(input_dir=small_job.parent, output_dir=out, full_images=False)
        if mode == "once":
            res = job_task.process_job(small_job, cfg, "x")
        else:
            res = job_task.build_job(small_job, cfg, "x")
        assert res.status in ("ok", "partial")
        outs[mode] = sorted((p.name, p.read_bytes()) for p in (out / ".parts").glob("*.parquet"))
    assert [n for n, _ in outs["once"]] == [n for n, _ in outs["twice"]]
    for (name, a), (_, b) in zip(outs["once"], outs["twice"], strict=True):
        assert a == b, name
    assert np.all([len(a) > 0 for _, a in outs["once"]])

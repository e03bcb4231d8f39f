"""The input gate: every named broken input of tests/broken_inputs.py gets its documented outcome in jobs.csv.

One build of all broken jobs (serial, ~1 s per job); the outcome of each case is read from jobs.parquet,
and the files the build wrote are checked for what must (not) be there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broken_inputs import CASES, SECRET, make_broken_inputs
from rapid_croissant import formats, io
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout as names
from rapid_croissant.io.paths import following_symlinks
from rapid_croissant.pipeline.pipeline import build_dataset
from rapid_croissant.science.normalize import channel_bit

BY_NAME = {c.name: c for c in CASES}


@pytest.fixture(scope="module")
def broken(sim_2025, tmp_path_factory):
    base = tmp_path_factory.mktemp("broken")
    made = make_broken_inputs(sim_2025 / "jid1001", base / "input", base / "outside")
    out = base / "ds"
    summary = build_dataset(
        BuildConfig(input_dir=base / "input", output_dir=out, executor="serial"), progress=False
    )
    jobs = pd.read_parquet(out / names.JOBS_PARQUET).set_index("jid")
    return {"made": made, "out": out, "jobs": jobs, "summary": summary, "base": base}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_broken_input_gets_its_documented_outcome(broken, case):
    row = broken["jobs"].loc[case.jid]
    assert row["status"] == case.status, (case.name, row["status"], row["notes"], row["error"])
    text = row["error"] if case.status == "failed" else row["notes"]
    assert case.note in (text or ""), (case.name, text)
    if case.status == "failed":
        cand = pd.read_parquet(broken["out"] / names.CANDIDATES_PARQUET)
        assert case.jid not in set(cand["jid"]), "a failed job must not contribute candidates"


@pytest.mark.parametrize("case", [c for c in CASES if c.status != "ok"], ids=lambda c: c.name)
def test_check_job_names_the_file_of_each_case(broken, case):
    job = broken["made"][case.name]
    problems = io.check_job(job)
    wanted = {p.name for p in job.glob(case.file)} if case.file else {None}
    assert wanted and any(p.file in wanted for p in problems), [str(p) for p in problems]
    assert all(p.job == case.jid for p in problems)


def test_the_clean_copy_is_clean(sim_2025):
    assert io.check_job(sim_2025 / "jid1001") == []


def test_nothing_outside_the_input_is_published(broken):
    out = broken["out"]
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert SECRET.encode() not in path.read_bytes(), path
    assert not (out / names.CATALOGS_DIR / f"jid2015_{formats.FILES_2025.zogy_sextractor}").exists()
    assert (out / names.CATALOGS_DIR / f"jid2016_{formats.FILES_2025.zogy_sextractor}").is_file()


def test_follow_symlinks_reads_them_when_asked(broken, tmp_path):
    case = BY_NAME["symlink_catalog_outside"]
    with following_symlinks(True):
        assert not [p for p in io.check_job(broken["made"][case.name]) if "not read" in p.message]
    out = tmp_path / "followed"
    cfg = BuildConfig(
        input_dir=broken["base"] / "input",
        output_dir=out,
        executor="serial",
        jobs=(case.jid,),
        follow_symlinks=True,
    )
    build_dataset(cfg, progress=False)
    copy = out / names.CATALOGS_DIR / f"{case.jid}_{formats.FILES_2025.zogy_sextractor}"
    assert SECRET in copy.read_text()


def test_dropped_algorithm_contributes_no_detections(broken):
    cand = pd.read_parquet(broken["out"] / names.CANDIDATES_PARQUET)
    zogy_dropped = cand[cand["jid"] == "jid2006"]
    assert len(zogy_dropped) and zogy_dropped["zogy_id"].isna().all()
    sfft_dropped = cand[cand["jid"] == "jid2007"]
    assert len(sfft_dropped) and sfft_dropped["sfft_id"].isna().all()


def test_a_channel_of_the_wrong_shape_is_masked_not_resized(broken):
    mask = np.load(broken["out"] / names.MASKS_DIR / "jid2010.npy")
    bit = channel_bit("zogy_scorr")
    assert (mask & bit).all(), "every pixel of the unusable channel is flagged"
    image = np.load(broken["out"] / names.IMAGES_DIR / "jid2010.npy", mmap_mode="r")
    assert not image[..., formats.CHANNELS.index("zogy_scorr")].any()


def test_the_failed_builds_name_job_and_file(broken):
    failed = {r.jid: r.error for r in broken["summary"].failed}
    assert failed["jid2001"].startswith("jid2001/Roman_TDS_simple_model_")
    assert "_lite_inject.txt" in failed["jid2001"]
    assert failed["jid2012"].startswith(f"jid2012/{formats.FILES_2025.channels['ref']}")

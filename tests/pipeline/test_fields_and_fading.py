"""A build of multi-epoch jobs: fields from the WCS share a split, rebuilding with more jobs moves none, and
RAPID's negative catalogs give the opposite-sign distance and, with --include-fading, fading candidates."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from rapid_croissant import formats
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout
from rapid_croissant.io import read_photutils_catalog
from rapid_croissant.io.negative import negative_name
from rapid_croissant.pipeline.fading import FADING_FLAG
from rapid_croissant.pipeline.pipeline import build_dataset
from rapid_croissant.simulate.core import load_answer_key
from rapid_croissant.vocabulary import LABEL_UNKNOWN


def build(src, out, **kw):
    summary = build_dataset(
        BuildConfig(input_dir=src, output_dir=out, workers=1, executor="serial", **kw), progress=False
    )
    assert not summary.failed, [r.error for r in summary.failed]
    return pd.read_parquet(out / layout.JOBS_PARQUET), pd.read_parquet(out / layout.CANDIDATES_PARQUET)


@pytest.fixture(scope="module")
def field_build(sim_fields, tmp_path_factory):
    out = tmp_path_factory.mktemp("fields") / "ds"
    return out, *build(sim_fields, out)


def test_jobs_of_one_sky_field_share_field_and_split(field_build, sim_fields):
    _, jobs, cand = field_build
    key = {f"jid{j['jid']}": j["field"] for j in load_answer_key(sim_fields).meta["jobs"]}
    # the pipeline found the simulator's fields from the WCS alone
    pairs = set(zip(jobs["jid"].map(key), jobs["field"], strict=True))
    assert len(pairs) == 2 and len({p[1] for p in pairs}) == 2
    assert jobs["footprint"].str.count(";").eq(3).all()
    assert (jobs.groupby("field")["split"].nunique() == 1).all()
    split_of = dict(zip(jobs["jid"], jobs["split"], strict=True))
    assert (cand["split"] == cand["jid"].map(split_of)).all()


def test_rebuilding_with_more_jobs_moves_no_job(sim_fields, tmp_path):
    src = tmp_path / "jobs"
    src.mkdir()
    for jid in ("jid1001", "jid1003"):  # one epoch of each field first
        shutil.copytree(sim_fields / jid, src / jid)
    out = tmp_path / "ds"
    first, _ = build(src, out, split_seed=5)
    record = json.loads((out / layout.SPLIT_RECORD).read_text())
    assert record["seed"] == 5 and set(record["jobs"]) == {"jid1001", "jid1003"}
    for jid in ("jid1002", "jid1004"):  # the second epochs arrive
        shutil.copytree(sim_fields / jid, src / jid)
    grown, _ = build(src, out, split_seed=5)
    before = dict(zip(first["jid"], first["split"], strict=True))
    after = dict(zip(grown["jid"], grown["split"], strict=True))
    assert all(after[j] == s for j, s in before.items())
    assert after["jid1002"] == after["jid1001"] and after["jid1004"] == after["jid1003"]
    assert set(json.loads((out / layout.SPLIT_RECORD).read_text())["jobs"]) == set(after)


def test_candidates_carry_the_distance_to_the_nearest_opposite_detection(field_build, sim_fields):
    _, _, cand = field_build
    assert (cand["sign"] == 1).all()
    for alg in ("zogy", "sfft"):
        d = cand[f"{alg}_opposite_dist"]
        detected = cand[f"{alg}_id"].notna()
        assert d[~detected].isna().all()
        assert d[detected].notna().mean() > 0.95 and (d[detected].dropna() >= 0).all()
    # checked against the negative catalog itself
    job = sim_fields / "jid1002"
    neg = read_photutils_catalog(
        job / negative_name(formats.FILES_2025.sfft_finder),
        job / negative_name(formats.FILES_2025.sfft_psfcat),
    )
    row = cand[(cand["jid"] == "jid1002") & cand["sfft_id"].notna()].iloc[3]
    expect = np.hypot(neg["x_fit"] - row["sfft_x"], neg["y_fit"] - row["sfft_y"]).min()
    assert row["sfft_opposite_dist"] == pytest.approx(expect)


def test_include_fading_adds_negative_detections_with_unknown_labels(field_build, sim_fields, tmp_path):
    out, _, positive = field_build
    _, cand = build(sim_fields, tmp_path / "fading", include_fading=True)
    fading = cand[cand["sign"] == -1]
    assert len(cand) == len(positive) + len(fading) and len(fading) > 0
    assert (fading["label"] == LABEL_UNKNOWN).all() and (fading["label_flag"] == FADING_FLAG).all()
    assert cand["candidate_id"].is_unique
    # a fading candidate's opposite-sign distance is to the nearest positive detection of its algorithm
    z = fading[fading["zogy_id"].notna()].iloc[0]
    pos = positive[(positive["jid"] == z["jid"]) & positive["zogy_id"].notna()]
    expect = np.hypot(pos["zogy_x"] - z["zogy_x"], pos["zogy_y"] - z["zogy_y"]).min()
    assert z["zogy_opposite_dist"] == pytest.approx(expect)
    # the positive candidates are the same rows as without the option
    same = cand[cand["sign"] == 1].drop(columns=["split"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(same, positive.drop(columns=["split"]).reset_index(drop=True))

"""The dataset build: seed layout and columns, correct labels, position merging, defects, failures."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import schema
from rapid_croissant.pipeline.pipeline import build_dataset
from rapid_croissant.simulate.core import load_answer_key
from rapid_croissant.simulate.score import score_labels


def _defect_jids(sim):
    return {j["defect"]: f"jid{j['jid']}" for j in load_answer_key(sim).meta["jobs"] if j["defect"]}


def test_layout_and_seed_columns(built_dataset):
    for name in (
        "candidates.csv",
        "candidates.parquet",
        "combined_truth_table.csv",
        "truth.parquet",
        "jobs.csv",
        "jobs.parquet",
        "build_info.json",
    ):
        assert (built_dataset / name).is_file(), name
    csv = pd.read_csv(built_dataset / "candidates.csv")
    assert tuple(csv.columns) == schema.CANDIDATE_COLUMNS
    assert tuple(csv.columns[: len(schema.SEED_CORE_COLUMNS)]) == schema.SEED_CORE_COLUMNS
    cand = pd.read_parquet(built_dataset / "candidates.parquet")
    assert cand["candidate_id"].is_unique
    for col, spec in schema.CANDIDATE_SCHEMA.items():
        assert (
            str(cand[col].dtype)
            == {"string": "string", "Int64": "Int64", "float64": "float64", "boolean": "boolean"}[spec.dtype]
        ), col
    parts = pd.concat([pd.read_parquet(built_dataset / f"candidates-{s}.parquet") for s in schema.SPLITS])
    assert sorted(parts.candidate_id) == sorted(cand.candidate_id)


def test_image_tensors_are_float32_hw9(built_dataset):
    jobs = pd.read_parquet(built_dataset / "jobs.parquet")
    for row in jobs.itertuples():
        path = built_dataset / "images" / f"{row.jid}.npy"
        arr = np.load(path, mmap_mode="r")
        assert arr.dtype == np.float32 and arr.shape == (row.height, row.width, 9)
        assert arr.nbytes == 9 * row.height * row.width * 4
        assert float(arr.min()) >= 0.0 and float(arr.max()) <= 1.0
        assert np.load(built_dataset / "masks" / f"{row.jid}.npy").shape == (row.height, row.width)
        psf = np.load(built_dataset / "psfs" / f"{row.jid}.npy")
        assert psf.shape[0] % 2 == 1 and psf.shape[0] < 100


def test_labels_match_the_answer_key(built_dataset, sim_2025):
    s = score_labels(built_dataset, sim_2025, mag_limit=26.0)
    for alg in ("zogy", "sfft"):
        assert s[alg]["precision"] >= 0.95 and s[alg]["recall"] >= 0.95, (alg, s[alg])
    assert s["both"]["same_source"] >= 0.99 and s["both"]["n"] > 50


def test_merging_is_by_position_not_by_id(built_dataset):
    cand = pd.read_parquet(built_dataset / "candidates.parquet")
    both = cand[cand.detected_by == "both"]
    dist = np.hypot(both.zogy_x - both.sfft_x, both.zogy_y - both.sfft_y)
    assert (dist <= 1.5).all()
    assert (both.zogy_id != both.sfft_id).any()  # the catalogs number their rows independently
    z_only = cand[cand.detected_by == "zogy"]
    assert z_only.sfft_id.isna().all() and z_only.sfft_flux_fit.isna().all()
    assert np.allclose(cand.x[cand.zogy_id.notna()], cand.zogy_x[cand.zogy_id.notna()])


def test_truth_is_zero_based_with_ab_magnitudes(built_dataset, sim_2025):
    key = load_answer_key(sim_2025).truth.set_index(["jid", "truth_id"])
    tru = pd.read_parquet(built_dataset / "truth.parquet").set_index(["jid", "truth_id"])
    common = tru.index.intersection(key.index)
    assert len(common) > 100
    np.testing.assert_allclose(tru.loc[common, "x"], key.loc[common, "x"], atol=1e-6)
    np.testing.assert_allclose(tru.loc[common, "mag"], key.loc[common, "ab"], atol=1e-3)
    assert ((tru.mag >= 26.0) == ~tru.bright).all()  # faint truth is kept and flagged, not dropped
    assert tru.reset_index().truth_id.str.match(r"^(\d+_inj|\d+_ou)$").all()


def test_each_defect_job_gets_its_documented_outcome(built_dataset, sim_2025):
    d = _defect_jids(sim_2025)
    jobs = pd.read_parquet(built_dataset / "jobs.parquet").set_index("jid")
    cand = pd.read_parquet(built_dataset / "candidates.parquet")
    assert jobs.loc[d["sfft_failed"], "status"] == "partial" and not jobs.loc[d["sfft_failed"], "has_sfft"]
    assert set(cand[cand.jid == d["sfft_failed"]].detected_by) == {"zogy"}
    assert set(cand[cand.jid == d["header_only_catalog"]].detected_by) == {"sfft"}
    no_truth = cand[cand.jid == d["no_truth"]]
    assert len(no_truth) and (no_truth.label == -1).all() and not no_truth.has_truth.any()
    assert jobs.loc[d["truncated_fits"], "status"] == "partial"
    assert "scorrimage_masked.fits" in jobs.loc[d["truncated_fits"], "notes"]
    assert (cand[cand.jid == d["truncated_fits"]].label == 1).sum() > 10  # labels survive a broken image
    mask = np.load(built_dataset / "masks" / f"{d['truncated_fits']}.npy")
    assert (mask & (1 << schema.CHANNELS.index("zogy_scorr"))).all()
    edge = cand[cand.jid == d["edge_sources"]]
    h = jobs.loc[d["edge_sources"], "height"]
    assert ((edge.x >= -0.5) & (edge.x < h - 0.5)).all()


def test_a_broken_job_fails_alone_and_the_run_says_so(sim_2025, tmp_path):
    import shutil

    src = tmp_path / "jobs"
    for jid in ("jid1001", "jid1002"):
        shutil.copytree(sim_2025 / jid, src / jid)
    (src / "jid1002" / "bkg_subbed_science_image.fits").unlink()
    out = tmp_path / "out"
    summary = build_dataset(BuildConfig(input_dir=src, output_dir=out, workers=1), progress=False)
    assert [r.jid for r in summary.failed] == ["jid1002"]
    assert "bkg_subbed_science_image.fits" in summary.failed[0].error
    jobs = pd.read_parquet(out / "jobs.parquet")
    assert jobs.set_index("jid").loc["jid1002", "status"] == "failed"
    assert (pd.read_parquet(out / "candidates.parquet").jid == "jid1001").all()
    proc = subprocess.run(
        [sys.executable, "create_dataset.py", "-i", str(src), "-o", str(tmp_path / "o2")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "FAILED jid1002" in proc.stderr and "bkg_subbed_science_image.fits" in proc.stderr


def test_rerun_skips_finished_jobs(sim_2025, tmp_path):
    import shutil

    src = tmp_path / "jobs"
    shutil.copytree(sim_2025 / "jid1001", src / "jid1001")
    cfg = BuildConfig(input_dir=src, output_dir=tmp_path / "out", workers=1)
    first = build_dataset(cfg, progress=False)
    again = build_dataset(cfg, progress=False)
    assert [r.status for r in first.results] == ["ok"] and [r.status for r in again.results] == ["skipped"]
    info = json.loads((tmp_path / "out" / "build_info.json").read_text())
    assert info["config"]["match_radius"] == 4.0


def test_2026_era_builds(sim_2026, tmp_path):
    out = tmp_path / "out26"
    summary = build_dataset(BuildConfig(input_dir=sim_2026, output_dir=out, workers=1), progress=False)
    assert not summary.failed and summary.n_candidates > 20
    cand = pd.read_parquet(out / "candidates.parquet")
    assert cand.zogy_reduced_chi2.notna().any()
    assert {p.name.split("_", 1)[1] for p in (out / "catalogs").iterdir()} >= {
        "zogy_diffimage_masked_psfcat.txt"
    }


@pytest.mark.parametrize("bad", [{"match_radius": 0}, {"workers": 0}, {"executor": "threads"}])
def test_config_errors_name_the_parameter(bad, tmp_path):
    from rapid_croissant.errors import ConfigError

    with pytest.raises(ConfigError, match=next(iter(bad))):
        BuildConfig(input_dir=tmp_path, output_dir=tmp_path / "o", **bad)

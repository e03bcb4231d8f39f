"""Round trip: simulate -> read with io/ -> compare with the simulator's answer key (both product eras)."""

from __future__ import annotations

import numpy as np
import pytest

from rapid_croissant import formats, io
from rapid_croissant.errors import NoDetectionsWarning
from rapid_croissant.simulate.core import load_answer_key


def _defects(sim):
    return {j["defect"]: f"jid{j['jid']}" for j in load_answer_key(sim).meta["jobs"] if j["defect"]}


def test_discovery_finds_only_the_jobs(sim_2025):
    jobs = [p.name for p in io.discover_jobs(sim_2025)]
    assert jobs == [f"jid{1001 + i}" for i in range(9)]


@pytest.mark.parametrize("era_fixture", ["sim_2025", "sim_2026"])
def test_truth_positions_and_magnitudes_round_trip(era_fixture, request):
    sim = request.getfixturevalue(era_fixture)
    key = load_answer_key(sim)
    for job_dir in io.discover_jobs(sim):
        if job_dir.name in _defects(sim).values():
            continue
        job = io.open_job(job_dir)
        assert job.era == ("2026" if era_fixture == "sim_2026" else "2025")
        facts = job.header
        inj_files, ou_files = io.find_truth_files(job_dir)
        inj = io.read_injections(inj_files[0], zptmag=facts.zptmag, filter_name=facts.filter)
        ou = io.read_ou_index(ou_files[0], zptmag=facts.zptmag)
        truth = key.truth[key.truth.jid == job_dir.name]
        t_inj = truth[truth.kind == "injection"]
        np.testing.assert_allclose(inj[["x", "y"]].to_numpy(), t_inj[["x", "y"]].to_numpy(), atol=1e-9)
        np.testing.assert_allclose(inj.mag_ab.to_numpy(), t_inj.ab.to_numpy(), atol=1e-3)
        t_ou = truth[truth.kind == "ou_transient"]
        assert [f"{o}_ou" for o in ou.object_id] == list(t_ou.truth_id)
        np.testing.assert_allclose(ou[["x", "y"]].to_numpy(), t_ou[["x", "y"]].to_numpy(), atol=1e-6)
        np.testing.assert_allclose(ou.mag_ab.to_numpy(), t_ou.ab.to_numpy(), atol=1e-3)


@pytest.mark.parametrize("era_fixture", ["sim_2025", "sim_2026"])
def test_catalog_rows_round_trip(era_fixture, request):
    sim = request.getfixturevalue(era_fixture)
    key = load_answer_key(sim)
    job_dir = sim / "jid1001"
    job = io.open_job(job_dir)
    for alg in ("zogy", "sfft"):
        cat = io.read_photutils_catalog(job.catalog_path(f"{alg}_finder"), job.catalog_path(f"{alg}_psfcat"))
        ref = key.detections[(key.detections.jid == "jid1001") & (key.detections.algorithm == alg)]
        assert list(cat["id"]) == list(ref["id"])
        np.testing.assert_allclose(
            cat[["x_fit", "y_fit"]].to_numpy(), ref[["x_fit", "y_fit"]].to_numpy(), atol=1e-4
        )
        assert set(formats.FINDER_REQUIRED) <= set(cat.columns)
        assert ("reduced_chi2" in cat.columns) == (era_fixture == "sim_2026")


def test_each_defect_job_gets_its_documented_outcome(sim_2025):
    kinds = _defects(sim_2025)

    def problems(kind):
        return [(p.file, p.severity) for p in io.check_job(sim_2025 / kinds[kind])]

    assert io.check_job(sim_2025 / "jid1001") == []
    sfft = problems("sfft_failed")
    assert sfft and all(sev == "warning" for _, sev in sfft)
    assert io.open_job(sim_2025 / kinds["sfft_failed"]).has_sfft is False
    assert ("diffimage_masked_psfcat.txt", "warning") in problems("header_only_catalog")
    job = io.open_job(sim_2025 / kinds["header_only_catalog"])
    with pytest.warns(NoDetectionsWarning, match="diffimage_masked_psfcat"):
        empty = io.read_photutils_catalog(job.catalog_path("zogy_finder"), job.catalog_path("zogy_psfcat"))
    assert len(empty) == 0
    assert any(sev == "warning" for _, sev in problems("no_truth"))
    assert io.find_truth_files(sim_2025 / kinds["no_truth"]) == ([], [])
    # as in the build: the truncated channel is left empty and masked, the job is built (partial)
    assert problems("truncated_fits") == [("scorrimage_masked.fits", "warning")]
    for kind in ("edge_sources", "big_nan_region"):
        assert [p for p in io.check_job(sim_2025 / kinds[kind]) if p.severity == "error"] == []

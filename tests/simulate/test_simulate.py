"""The simulator: deterministic, RAPID formats, real subtractions, defects, and a useful answer key."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from rapid_croissant import formats
from rapid_croissant.simulate import constants
from rapid_croissant.simulate.core import ANSWER_KEY_DIR, load_answer_key, simulate_jobs
from rapid_croissant.simulate.defects import DEFECT_KINDS


def _digest_tree(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_arguments_give_identical_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d, seed in ((a, 3), (b, 3), (c, 4)):
        simulate_jobs(d, n=1, size=512, seed=seed, progress=False)
    da, db, dc = _digest_tree(a), _digest_tree(b), _digest_tree(c)
    assert da == db
    assert da["jid1001/diffimage_masked.fits"] != dc["jid1001/diffimage_masked.fits"]


def test_products_have_rapid_shapes_dtypes_and_headers(sim_2025):
    job = sim_2025 / "jid1001"
    files = formats.FILES_2025
    shape = (schema_size := 513, schema_size)
    for ch, name in files.channels.items():
        with fits.open(job / name) as hdul:
            data = hdul[0].data
            if ch == "psf":
                assert data.shape[0] % 2 == 1 and abs(float(data.sum()) - 1.0) < 0.02
                continue
            assert data.shape == shape, name
            expect = np.float64 if ch in ("sfft_diff", "sfft_scorr") else np.float32
            assert data.dtype == np.dtype(expect).newbyteorder(">"), name
    sci = next(job.glob("*_reformatted.fits"))
    assert formats.SCIENCE_HEADER_PATTERN.match(sci.name)
    hdr = fits.getheader(sci)
    for key in formats.HEADER_KEYWORDS:
        assert key in hdr
    assert hdr["ZPTMAG"] == pytest.approx(constants.zptmag_from_exptime(hdr["EXPTIME"]), abs=1e-5)
    # RAPID's appended last row and column hold one constant
    raw = fits.getdata(sci)
    assert np.ptp(raw[-1, :]) == 0 and np.ptp(raw[:, -1]) == 0


def test_masks_follow_rapid_conventions(sim_2025):
    job = sim_2025 / "jid1001"
    cov = fits.getdata(job / "awaicgen_output_mosaic_cov_map_resampled.fits")
    ref = fits.getdata(job / formats.FILES_2025.channels["ref"])
    zd = fits.getdata(job / "diffimage_masked.fits")
    sd = fits.getdata(job / "sfftdiffimage_dconv_masked.fits")
    unc = fits.getdata(job / "diffimage_uncert_masked.fits")
    assert np.array_equal(np.isnan(zd), cov <= 0.5)  # ZOGY: NaN where coverage < 0.5
    assert np.array_equal(np.isnan(sd), ref == 0)  # SFFT: NaN only where the reference is 0
    assert (np.isnan(sd).sum() < np.isnan(zd).sum()) and np.isfinite(unc).all()


def test_catalog_formats_of_both_eras(sim_2025, sim_2026):
    head25 = (sim_2025 / "jid1001" / "diffimage_masked_psfcat.txt").read_text().splitlines()[0].split()
    assert tuple(head25) == formats.PSFCAT_COLUMNS_2025
    fhead25 = (sim_2025 / "jid1001" / "sfftdiffimage_masked_psfcat_finder.txt").read_text().splitlines()[0]
    assert tuple(fhead25.split()) == formats.FINDER_COLUMNS_2025
    job26 = sim_2026 / "jid1001"
    assert tuple((job26 / "zogy_diffimage_masked_psfcat.txt").read_text().split("\n")[0].split()) == (
        formats.PSFCAT_COLUMNS_2026
    )
    assert (job26 / "zogy_diffimage_masked.fits").exists() and not (job26 / "diffimage_masked.fits").exists()
    assert (job26 / "sfftdiffpsf.fits").exists() and (job26 / "zogy_diffimage_masked_psfcat.parquet").exists()


def test_truth_files_are_one_based_in_rapid_layout(sim_2025):
    key = load_answer_key(sim_2025)
    job = sim_2025 / "jid1001"
    inj_file = next(p for p in job.iterdir() if formats.INJECTION_PATTERN.match(p.name))
    lines = inj_file.read_text().splitlines()
    assert lines[0].split() == list(formats.INJECTION_COLUMNS)
    xy = np.array([[float(v) for v in line.split()[:2]] for line in lines[1:]])
    truth = key.truth[(key.truth.jid == "jid1001") & (key.truth.kind == "injection")]
    np.testing.assert_allclose(xy, truth[["x", "y"]].to_numpy() + 1.0)
    ou_file = next(p for p in job.iterdir() if formats.OU_INDEX_PATTERN.match(p.name))
    header = ou_file.read_text().splitlines()[0]
    assert header.startswith("#") and header[1:].split() == list(formats.OU_COLUMNS)
    assert len(header) == 1 + 16 * len(formats.OU_COLUMNS) + len(formats.OU_COLUMNS) - 1


def test_defects_and_clutter_are_written(sim_2025):
    meta = load_answer_key(sim_2025).meta
    kinds = {j["defect"]: f"jid{j['jid']}" for j in meta["jobs"] if j["defect"]}
    assert set(kinds) == set(DEFECT_KINDS)
    assert not (sim_2025 / kinds["sfft_failed"] / "sfftdiffimage_dconv_masked.fits").exists()
    assert not any(
        formats.INJECTION_PATTERN.match(p.name) or formats.OU_INDEX_PATTERN.match(p.name)
        for p in (sim_2025 / kinds["no_truth"]).iterdir()
    )
    assert (
        len(
            (sim_2025 / kinds["header_only_catalog"] / "diffimage_masked_psfcat.txt").read_text().splitlines()
        )
        == 1
    )
    assert (sim_2025 / kinds["truncated_fits"] / "scorrimage_masked.fits").stat().st_size % 2880 != 0
    assert (sim_2025 / "jid_backup_old").is_dir() and (sim_2025 / "jid_list.txt").is_file()
    assert (sim_2025 / ANSWER_KEY_DIR).is_dir()


def _recovered(key, algorithm):
    d = key.detections
    hit = d[(d.algorithm == algorithm) & d.truth_id.notna()]
    ids = set(zip(hit.jid, hit.truth_id, strict=True))
    return np.array([(j, t) in ids for j, t in zip(key.truth.jid, key.truth.truth_id, strict=True)])


def test_bright_injections_are_recovered_by_both_algorithms(sim_2025):
    key = load_answer_key(sim_2025)
    normal = {f"jid{j['jid']}" for j in key.meta["jobs"] if j["defect"] is None}
    t = key.truth
    sel = (t.kind == "injection") & (t.ab < 23) & t.jid.isin(normal)
    assert sel.sum() >= 40
    for alg in ("zogy", "sfft"):
        completeness = _recovered(key, alg)[sel.to_numpy()].mean()
        assert completeness >= 0.85, (alg, completeness)
    faint = ((t.ab > 26.5) & t.jid.isin(normal)).to_numpy()
    assert _recovered(key, "zogy")[faint].mean() < 0.1


def test_zogy_and_sfft_catalogs_really_differ(sim_2025):
    from scipy.spatial import cKDTree

    key = load_answer_key(sim_2025)
    d = key.detections
    only = {"zogy": 0, "sfft": 0}
    common = 0
    for _, g in d.groupby("jid"):
        z = g[g.algorithm == "zogy"][["x_fit", "y_fit"]].to_numpy()
        s = g[g.algorithm == "sfft"][["x_fit", "y_fit"]].to_numpy()
        if len(z) == 0 or len(s) == 0:
            continue
        dz, _ = cKDTree(s).query(z)
        ds, _ = cKDTree(z).query(s)
        common += int((dz <= 1.5).sum())
        only["zogy"] += int((dz > 1.5).sum())
        only["sfft"] += int((ds > 1.5).sum())
    assert common > 50 and only["zogy"] > 0 and only["sfft"] > 0
    causes = pd.crosstab(d.cause, d.algorithm)
    assert {"transient", "cosmic_ray"} <= set(causes.index)

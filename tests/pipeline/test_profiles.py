"""The cutout-first build profile: the same cutout store as the full profile without any full-frame
tensor, limits and WCS to reconstruct physical values, and a loader (and training) that never needs a
full frame."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from rapid_croissant import io
from rapid_croissant.config import BuildConfig
from rapid_croissant.dataset import layout, schema
from rapid_croissant.errors import ConfigError
from rapid_croissant.pipeline.pipeline import build_dataset
from rapid_croissant.science.cutouts import cutout_bounds
from scale_fixtures import digests


@pytest.fixture(scope="module")
def full_build(sim_2025, tmp_path_factory):
    out = tmp_path_factory.mktemp("profile_full") / "ds"
    build_dataset(BuildConfig(input_dir=sim_2025, output_dir=out, workers=1, cutouts=True), progress=False)
    return out


@pytest.fixture(scope="module")
def cutout_build(sim_2025, tmp_path_factory):
    out = tmp_path_factory.mktemp("profile_cutouts") / "ds"
    # float32, the full profile's store dtype (the profile's default is uint8: test_store_assembly.py)
    cfg = BuildConfig(
        input_dir=sim_2025, output_dir=out, workers=1, profile="cutouts", cutout_dtype="float32"
    )
    summary = build_dataset(cfg, progress=False)
    assert not summary.failed
    return out


def test_profile_cutouts_writes_the_full_profile_store_without_tensors(full_build, cutout_build):
    full, cut = digests(full_build), digests(cutout_build)
    assert not any(k.startswith((layout.IMAGES_DIR, layout.MASKS_DIR)) for k in cut)
    parquet = {f"cutouts/{layout.CUTOUT_PARQUET_FILE.format(split=s)}" for s in layout.SPLITS}
    store = {k for k in full if k.startswith("cutouts/")} - parquet  # the Parquet copy: full profile only
    assert len(store) == 10  # 3 splits x (cutouts, valid, index) + store.json
    arrays = store - {"cutouts/store.json"}
    assert {k: cut[k] for k in arrays} == {k: full[k] for k in arrays}  # byte-identical store
    # store.json equal but for what it was made from: the profile's tables name no image file
    meta_full, meta_cut = (
        json.loads((b / "cutouts" / "store.json").read_text()) for b in (full_build, cutout_build)
    )
    assert meta_full.pop("made_from") != meta_cut.pop("made_from") and meta_full == meta_cut
    same = {k for k in full if k.startswith(("psfs/", "catalogs/", "combined_truth", "truth"))}
    assert same and {k: cut[k] for k in same} == {k: full[k] for k in same}
    a, b = (
        pd.read_parquet(full_build / "candidates.parquet"),
        pd.read_parquet(cutout_build / "candidates.parquet"),
    )
    pd.testing.assert_frame_equal(a.drop(columns="image_filename"), b.drop(columns="image_filename"))
    assert (b["image_filename"] == "").all()
    jobs = pd.read_parquet(cutout_build / "jobs.parquet")
    assert set(jobs.status) == {"ok", "partial"}


def test_frames_give_back_the_physical_values(sim_2025, cutout_build):
    from rapid_croissant.dataset.cutouts import CutoutStore

    store = CutoutStore(cutout_build, "train")
    cand = pd.read_parquet(cutout_build / "candidates-train.parquet")
    checked = 0
    for jid in cand["jid"].unique()[:2]:
        frames = json.loads((cutout_build / "frames" / f"{jid}.json").read_text())
        assert "strided sample of 1000 pixels" in frames["limits_note"]
        assert frames["wcs_header"]["CTYPE1"].startswith("RA")
        job = io.open_job(sim_2025 / jid)
        rows = np.flatnonzero(cand["jid"] == jid)[:5]
        for ch in ("sci", "zogy_diff", "sfft_diff"):
            k = schema.CHANNELS.index(ch)
            plane = io.read_plane(job.channel_path(ch))
            vmin, vmax = frames["limits"][ch]
            for r in rows:
                r0, r1, c0, c1 = cutout_bounds(cand["x"].iloc[r], cand["y"].iloc[r], size=64)
                if r0 < 0 or c0 < 0 or r1 > plane.shape[0] or c1 > plane.shape[1]:
                    continue
                v = store.cutouts[r, k].astype(np.float64)
                inside = (v > 0) & (v < 1)
                phys = vmin + v[inside] * (vmax - vmin)
                np.testing.assert_allclose(
                    phys, plane[r0:r1, c0:c1][inside], rtol=0, atol=1e-5 * (vmax - vmin)
                )
                checked += int(inside.sum())
    assert checked > 10_000


@pytest.mark.parametrize("algorithm", ["zogy", "sfft", "both"])
def test_loader_reads_every_cutout_from_the_store(full_build, cutout_build, algorithm):
    """Each algorithm's own positions (SFFT's may round to another pixel) come from the store alone."""
    from rapid_croissant.ml.data import load_tables, select_candidates
    from rapid_croissant.ml.loader import precompute_cutouts

    rows = select_candidates(load_tables(cutout_build).candidates, algorithm=algorithm)
    got = precompute_cutouts(cutout_build, rows, algorithm=algorithm)  # no images/: raises if it needs one
    ref = precompute_cutouts(full_build, rows, algorithm=algorithm, use_store=False)  # from the tensors
    np.testing.assert_array_equal(got, ref)
    if algorithm == "sfft":
        moved = (np.floor(rows["cx"] + 0.5) != np.floor(rows["x"] + 0.5)).sum()
        assert moved > 0  # the sfft- store was really used


def test_training_on_a_cutout_profile_dataset(full_build, cutout_build, tmp_path):
    from rapid_croissant.ml.train import TrainConfig, train

    config = TrainConfig(algorithm="zogy", model="cnn", epochs=2, batch_size=64, seed=1)
    runs = [
        train(d, config, run_root=tmp_path / d.parent.name, progress=False)
        for d in (cutout_build, full_build)
    ]
    scores = [pd.read_parquet(r / "predictions.parquet")["score"].to_numpy() for r in runs]
    np.testing.assert_array_equal(scores[0], scores[1])  # same cutouts, same model


def test_profile_options(sim_2025, tmp_path):
    cfg = BuildConfig(input_dir=sim_2025, output_dir=tmp_path / "x", profile="cutouts")
    assert cfg.cutouts and not cfg.full_images
    assert cfg.science_dict()["profile"] == "cutouts"
    assert "profile" not in BuildConfig(input_dir=sim_2025, output_dir=tmp_path / "y").science_dict()
    with pytest.raises(ConfigError, match="profile must be one of"):
        BuildConfig(input_dir=sim_2025, output_dir=tmp_path / "z", profile="tiny")


def _store_by_candidate(root) -> dict[tuple[str, str], str]:
    """(prefix, candidate_id) -> sha256 of the candidate's cutout and validity rows, whatever its split."""
    lay = layout.Layout(root)
    out = {}
    for prefix in layout.CUTOUT_PREFIXES:
        for split in layout.SPLITS:
            if not lay.cutout_index(split, prefix).is_file():
                continue
            ids = pd.read_parquet(lay.cutout_index(split, prefix))["candidate_id"].astype(str)
            cut, valid = np.load(lay.cutouts(split, prefix)), np.load(lay.cutout_valid(split, prefix))
            for i, cid in enumerate(ids):
                out[prefix, cid] = hashlib.sha256(cut[i].tobytes() + valid[i].tobytes()).hexdigest()
    return out


def test_store_is_the_only_copy_and_resumes_from_itself(sim_2025, cutout_build, tmp_path):
    """Parts are removed once the store is written; a build that adds jobs takes the cutouts of the jobs
    it skips from the store it replaces, and ends with a fresh build's cutouts and tables. Only the splits
    may differ: the first build's jobs keep the splits it recorded (split_assignment.json), where a fresh
    build deals all jobs at once."""
    assert not list((cutout_build / ".parts").glob("*cutouts*"))
    out = tmp_path / "ds"
    options = {
        "input_dir": sim_2025,
        "output_dir": out,
        "workers": 1,
        "profile": "cutouts",
        "cutout_dtype": "float32",
    }
    first = ("jid1001", "jid1002", "jid1003", "jid1008")
    build_dataset(
        BuildConfig(**options, jobs=first),
        progress=False,
    )
    first_splits = {
        j: r["split"] for j, r in json.loads((out / layout.SPLIT_RECORD).read_text())["jobs"].items()
    }
    summary = build_dataset(BuildConfig(**options), progress=False)
    assert sorted(r.jid for r in summary.results if r.status == "skipped") == sorted(first)
    assert _store_by_candidate(out) == _store_by_candidate(cutout_build)
    for table in (layout.CANDIDATES_PARQUET, layout.JOBS_PARQUET):
        grown, fresh = (pd.read_parquet(b / table).drop(columns="split") for b in (out, cutout_build))
        pd.testing.assert_frame_equal(grown, fresh)
    recorded = json.loads((out / layout.SPLIT_RECORD).read_text())["jobs"]
    assert {j: recorded[j]["split"] for j in first} == first_splits
    with_splits = ("candidates", "jobs", layout.SPLIT_RECORD, layout.CUTOUTS_DIR + "/")
    same = {k: v for k, v in digests(out).items() if not k.startswith(with_splits)}
    assert same and same == {k: v for k, v in digests(cutout_build).items() if k in same}
    assert set(digests(out)) == set(digests(cutout_build))


def test_a_cutout_profile_dataset_is_described_and_valid(cutout_build):
    from rapid_croissant.dataset.validate import validate_dataset
    from rapid_croissant.writers.croissant import write_croissant

    write_croissant(cutout_build)
    manifest = pd.read_parquet(cutout_build / "images-manifest.parquet")
    assert {"cutouts/sfft-cutouts-train.npy", "cutouts/cutouts-train.npy"} <= set(manifest.path)
    assert not manifest.path.str.startswith("images/").any()
    assert validate_dataset(cutout_build, run_mlcroissant=False) == []

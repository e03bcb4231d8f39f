"""Layout names every file of a dataset; open_dataset reads what a build wrote, through those names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rapid_croissant.dataset import SPLITS, DatasetError, Layout, open_dataset
from rapid_croissant.dataset import layout as names


def test_layout_paths_are_under_the_root_and_distinct(tmp_path):
    layout = Layout(tmp_path)
    paths = [
        layout.image("jid7"),
        layout.mask("jid7"),
        layout.psf("jid7"),
        layout.catalog("jid7", "diffimage_masked.txt"),
        layout.candidates_csv,
        layout.candidates_parquet,
        *(layout.candidates_split(s) for s in SPLITS),
        layout.truth_csv,
        layout.truth_parquet,
        layout.jobs_csv,
        layout.jobs_parquet,
        layout.croissant_json,
        layout.images_manifest,
        layout.catalogs_manifest,
        layout.build_info,
        layout.dataset_card,
        layout.report_html,
        *(f(s) for s in SPLITS for f in (layout.cutouts, layout.cutout_valid, layout.cutout_index)),
        layout.cutout_meta,
        layout.part_candidates("jid7"),
        layout.part_truth("jid7"),
        layout.part_job("jid7"),
    ]
    assert len(set(paths)) == len(paths)
    assert all(p.is_relative_to(tmp_path) for p in paths)


def test_layout_spells_the_seed_names(tmp_path):
    layout = Layout(str(tmp_path))  # a str root becomes a Path
    assert layout.root == tmp_path
    assert layout.relative(layout.image("jid3")) == names.image_name("jid3") == "images/jid3.npy"
    assert layout.relative(layout.catalog("jid3", "x.txt")) == "catalogs/jid3_x.txt"
    assert layout.relative(layout.candidates_split("val")) == "candidates-val.parquet"
    assert layout.relative(layout.truth_csv) == "combined_truth_table.csv"
    assert layout.relative(layout.cutouts("test")) == "cutouts/cutouts-test.npy"
    assert layout.relative(layout.part_job("jid3")) == ".parts/jid3.job.json"
    with pytest.raises(AttributeError):
        layout.root = Path("/elsewhere")  # frozen


def test_open_dataset_reads_the_built_tables(built_dataset):
    ds = open_dataset(built_dataset)
    cand = ds.candidates
    assert ds.candidates is cand  # read once
    assert len(cand) == sum(len(ds.split(s)) for s in ds.splits)
    assert set(ds.jobs["jid"]) >= set(cand["jid"])
    assert set(ds.truth["jid"]) <= set(ds.jobs["jid"])
    assert ds.tables.candidates is cand
    assert ds.build_info["config"]["match_radius"] == 4.0
    for s in SPLITS:
        assert set(ds.split(s, columns=["split"])["split"]) <= {s}


def test_open_dataset_falls_back_to_the_split_files(built_dataset, tmp_path):
    src = Layout(built_dataset)
    dst = Layout(tmp_path)
    for s in SPLITS:
        dst.candidates_split(s).write_bytes(src.candidates_split(s).read_bytes())
    cand = open_dataset(tmp_path).candidates
    full = pd.read_parquet(src.candidates_parquet)
    assert sorted(cand["candidate_id"]) == sorted(full["candidate_id"])


def test_open_dataset_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="is not a folder"):
        open_dataset(tmp_path / "absent")
    ds = open_dataset(tmp_path)
    with pytest.raises(DatasetError, match="no candidates.parquet"):
        _ = ds.candidates
    with pytest.raises(DatasetError, match="no jobs.parquet"):
        _ = ds.jobs
    with pytest.raises(DatasetError, match="split must be one of"):
        ds.split("training")
    with pytest.raises(DatasetError, match="no cutout store"):
        ds.cutout_store("train")
    assert ds.build_info == {} and not ds.has_cutouts

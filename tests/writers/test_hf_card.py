"""The Hugging Face card: ``datasets.load_dataset(DATASET_DIR)`` loads every config of a dataset built with
--cutouts, with pixels, label as a ClassLabel (values unchanged, -1 kept) and no internal file in a split."""

from __future__ import annotations

import fnmatch

import numpy as np
import pandas as pd
import pytest
import yaml

from rapid_croissant.dataset.cutout_parquet import read_cutout_parquet
from rapid_croissant.dataset.layout import SPLITS, Layout
from rapid_croissant.writers.hf_card import HF_SPLITS, UPLOAD_IGNORE

datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def card(cutout_dataset):
    text = Layout(cutout_dataset).hf_readme.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def _load(root, config, tmp_path):
    return datasets.load_dataset(str(root), config, cache_dir=str(tmp_path / "hf"))


def test_front_matter(card):
    names = [c["config_name"] for c in card["configs"]]
    assert names == ["candidates", "cutouts", "jobs", "truth", "physical"]
    assert card["configs"][0]["default"] is True
    assert card["license"] == "cc-by-4.0" and "astronomy" in card["tags"]
    files = [f["path"] for c in card["configs"] for f in c["data_files"]]
    internal = [".parts/x.candidates.parquet", "cutouts/index-train.parquet", "images-manifest.parquet"]
    assert not [p for p in internal for f in files if fnmatch.fnmatch(p, f)]


def test_candidates_default_config_with_classlabel(cutout_dataset, tmp_path):
    ds = _load(cutout_dataset, None, tmp_path)
    assert set(ds) == set(HF_SPLITS.values())
    label = ds["train"].features["label"]
    assert isinstance(label, datasets.ClassLabel) and label.names == ["bogus", "real"]
    for split in SPLITS:
        frame = pd.read_parquet(Layout(cutout_dataset).candidates_split(split))
        got = ds[HF_SPLITS[split]]
        assert got["candidate_id"] == frame["candidate_id"].tolist()
        assert got["label"] == frame["label"].astype(int).tolist()  # -1 (unknown) kept as -1
    assert -1 in ds["train"]["label"]
    assert label.int2str(1) == "real"


def test_cutouts_config_returns_arrays(cutout_dataset, tmp_path):
    ds = _load(cutout_dataset, "cutouts", tmp_path)
    table = read_cutout_parquet(Layout(cutout_dataset).cutout_parquet("val"))
    rows = ds["validation"].with_format("numpy")[:3]
    assert rows["cutout"].shape == (3, 9, 64, 64) and rows["cutout"].dtype == np.float32
    assert np.array_equal(rows["cutout"], table.cutouts[:3])
    assert np.array_equal(rows["valid"], table.valid[:3])
    assert list(rows["candidate_id"]) == list(table.ids[:3])


@pytest.mark.parametrize("config", ["jobs", "truth", "physical"])
def test_table_configs(cutout_dataset, tmp_path, config):
    ds = _load(cutout_dataset, config, tmp_path)
    path = {"jobs": "jobs_parquet", "truth": "truth_parquet", "physical": "physical"}[config]
    assert ds["train"].num_rows == len(pd.read_parquet(getattr(Layout(cutout_dataset), path)))


def test_upload_ignores_internal_files():
    for path in (".parts/jid1.candidates.parquet", "cutouts/cutouts-train.npy", "cutouts/index-val.parquet"):
        assert any(fnmatch.fnmatch(path, p) for p in UPLOAD_IGNORE), path
    for path in ("cutouts/cutouts-train.parquet", "candidates-train.parquet", "README.md", "croissant.json"):
        assert not any(fnmatch.fnmatch(path, p) for p in UPLOAD_IGNORE), path

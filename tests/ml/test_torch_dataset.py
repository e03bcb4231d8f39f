"""RapidCutouts on a dataset built from simulated jobs: values equal the Croissant-described Parquet file,
DataLoader with two workers, the memory-mapped store used only when it matches, and the README example."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

from rapid_croissant.dataset import roles, schema  # noqa: E402
from rapid_croissant.dataset.cutout_parquet import read_cutout_parquet  # noqa: E402
from rapid_croissant.dataset.layout import Layout  # noqa: E402
from rapid_croissant.errors import RapidCroissantError  # noqa: E402
from rapid_croissant.ml.torch_dataset import RapidCutouts, feature_columns  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _expected(root: Path, split: str):
    layout = Layout(root)
    table = read_cutout_parquet(layout.cutout_parquet(split))
    cand = pd.read_parquet(layout.candidates_split(split)).set_index("candidate_id")
    labels = cand.loc[table.ids, "label"].astype(int).to_numpy()
    return table, cand, labels


@pytest.mark.parametrize("source", ["auto", "parquet"])
def test_items_equal_the_parquet_rows(cutout_dataset, source):
    ds = RapidCutouts(cutout_dataset, split="train", algorithm="both", source=source)
    assert ds.source == ("store" if source == "auto" else "parquet")
    table, cand, labels = _expected(cutout_dataset, "train")
    known = np.flatnonzero(labels != schema.LABEL_UNKNOWN)
    assert len(ds) == len(known) > 0
    for i in (0, len(ds) // 2, len(ds) - 1):
        cutout, valid, features, label = ds[i]
        row = known[i]
        assert cutout.dtype == torch.float32 and tuple(cutout.shape) == (9, 64, 64)
        assert np.array_equal(cutout.numpy(), table.cutouts[row])
        assert np.array_equal(valid.numpy(), table.valid[row, 2].astype(np.float32))
        assert int(label) == labels[row]
        want = cand.loc[table.ids[row], feature_columns("both")].astype(float).to_numpy()
        np.testing.assert_array_equal(features.numpy(), want.astype(np.float32))


def test_algorithm_picks_channels_and_detected_candidates(cutout_dataset):
    ds = RapidCutouts(cutout_dataset, split="train", algorithm="zogy", labelled_only=False)
    table, cand, labels = _expected(cutout_dataset, "train")
    detected = cand.loc[table.ids, "detected_by"].isin(["zogy", "both"]).to_numpy()
    assert len(ds) == int(detected.sum())
    cutout, valid, features, _ = ds[0]
    row = np.flatnonzero(detected)[0]
    idx = [schema.CHANNELS.index(c) for c in schema.CUTOUT_CHANNELS["zogy"]]
    assert np.array_equal(cutout.numpy(), table.cutouts[row][idx])
    assert np.array_equal(valid.numpy(), table.valid[row, 0].astype(np.float32))
    assert len(features) == len(ds.feature_names) and all(n.startswith("zogy_") for n in ds.feature_names)
    assert not roles.check_roles(ds.feature_names)


def test_unknown_labels_are_kept_only_on_request(cutout_dataset):
    _, _, labels = _expected(cutout_dataset, "train")
    assert (labels == -1).any()  # sim_2025 has a job without truth files; it goes to train
    everything = RapidCutouts(cutout_dataset, split="train", labelled_only=False)
    assert len(everything) == len(labels)
    assert sorted(set(everything.labels.tolist())) == sorted(set(labels.tolist()))


def test_dataloader_with_two_workers_sees_every_item_once(cutout_dataset):
    ds = RapidCutouts(cutout_dataset, split="val", algorithm="both")
    seen, total = [], 0
    for cutout, valid, _features, label in DataLoader(ds, batch_size=16, num_workers=2):
        assert cutout.shape[1:] == (9, 64, 64) and valid.shape[1:] == (64, 64)
        total += len(label)
        seen.append(cutout[:, 2].sum(dim=(1, 2)))
    assert total == len(ds)
    fast = torch.cat([b[0][:, 2].sum(dim=(1, 2)) for b in ds.batches(batch_size=32, num_workers=2)])
    torch.testing.assert_close(torch.cat(seen), fast)


@pytest.mark.parametrize("source", ["auto", "parquet"])
def test_batch_level_fetching_gives_the_per_item_values(cutout_dataset, source):
    ds = RapidCutouts(cutout_dataset, split="val", algorithm="sfft", labelled_only=False, source=source)
    items = [ds[i] for i in range(len(ds))]
    order = list(ds.batch_sampler(8, shuffle=True, seed=3))
    sampler = ds.batch_sampler(8, shuffle=True, seed=3)
    loader = DataLoader(ds, batch_size=None, sampler=sampler, num_workers=2)
    per_item = DataLoader(ds, batch_size=8, sampler=[i for idx in order for i in idx])  # via __getitems__
    n = 0
    for idx, batch, collated in zip(order, loader, per_item, strict=True):
        for field, (got, got_collated) in enumerate(zip(batch, collated, strict=True)):
            want = torch.stack([items[i][field] for i in idx])
            torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)
            torch.testing.assert_close(got_collated, want, rtol=0, atol=0, equal_nan=True)
        n += len(idx)
    assert n == len(ds) and sorted(i for idx in order for i in idx) == list(range(len(ds)))
    assert batch[0].dtype == torch.float32 and batch[0].is_contiguous() and batch[1].is_contiguous()


def test_a_store_that_differs_from_the_parquet_file_is_not_used(cutout_dataset, tmp_path, caplog):
    root = Path(shutil.copytree(cutout_dataset, tmp_path / "copy"))
    store = np.load(Layout(root).cutouts("val"), mmap_mode="r+")
    store[0, 2] += 0.5  # the memory-mapped copy no longer matches what croissant.json describes
    store.flush()
    del store
    ds = RapidCutouts(root, split="val")
    assert ds.source == "parquet"
    assert "differs" in caplog.text
    with pytest.raises(RapidCroissantError, match="no usable"):
        RapidCutouts(root, split="val", source="store")


def test_bad_arguments_are_named(cutout_dataset, tmp_path):
    with pytest.raises(RapidCroissantError, match="split"):
        RapidCutouts(cutout_dataset, split="training")
    with pytest.raises(RapidCroissantError, match="algorithm"):
        RapidCutouts(cutout_dataset, algorithm="hotpants")
    with pytest.raises(RapidCroissantError, match="--cutouts"):
        RapidCutouts(tmp_path, split="train")


def test_readme_example_runs(cutout_dataset, tmp_path):
    text = (REPO / "README.md").read_text()
    code = re.search(r"<!-- example: RapidCutouts -->\n```python\n(.*?)```", text, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(code.replace('"my_dataset"', repr(str(cutout_dataset))))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]

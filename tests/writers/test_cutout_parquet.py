"""The Croissant-described cutout files: nested fixed-size lists equal to the cutout store, rows in the
order of candidates-<split>.parquet, smaller than the .npy store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rapid_croissant.dataset.cutout_parquet import cutout_schema, read_cutout_parquet
from rapid_croissant.dataset.cutouts import VALID_SETS, CutoutStore
from rapid_croissant.dataset.layout import SPLITS, Layout


def test_schema_is_nested_fixed_size_lists(cutout_dataset):
    schema = pq.read_schema(Layout(cutout_dataset).cutout_parquet("train"))
    assert schema.equals(cutout_schema(9, 64), check_metadata=False)
    t = schema.field("cutout").type
    assert pa.types.is_fixed_size_list(t) and t.list_size == 9 and t.value_type.value_type.list_size == 64


def test_values_equal_the_store_and_follow_the_candidates(cutout_dataset):
    layout = Layout(cutout_dataset)
    for split in SPLITS:
        table = read_cutout_parquet(layout.cutout_parquet(split))
        cand = pd.read_parquet(layout.candidates_split(split))
        assert list(table.ids) == cand["candidate_id"].tolist()
        assert list(table.jids) == cand["jid"].astype(str).tolist()
        store = CutoutStore(layout, split)
        got = store.get(np.arange(len(table)), algorithm="both")
        assert np.array_equal(table.cutouts, got[:, :-1])
        for k, alg in enumerate(VALID_SETS):
            planes = store.get(np.arange(len(table)), algorithm=alg)[:, -1]
            assert np.array_equal(table.valid[:, k], planes.astype(np.uint8))


def test_smaller_than_the_npy_store(cutout_dataset):
    layout = Layout(cutout_dataset)
    parquet = sum(layout.cutout_parquet(s).stat().st_size for s in SPLITS)
    store = sum(layout.cutouts(s).stat().st_size + layout.cutout_valid(s).stat().st_size for s in SPLITS)
    assert parquet < store

"""candidates.csv is put together from the rows each job formatted in its own task: the same bytes as
pandas writing the whole table, and the whole table is formatted again when a job's rows are missing."""

from __future__ import annotations

import io

import pandas as pd

from rapid_croissant.dataset.layout import Layout
from rapid_croissant.pipeline import parts


def _pandas_csv(cand: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    cand.to_csv(buf, index=False, na_rep="")
    return buf.getvalue().encode()


def test_candidates_csv_equals_pandas_writing_the_whole_table(built_dataset):
    lay = Layout(built_dataset)
    cand = pd.read_parquet(lay.candidates_parquet)
    assert cand["split"].nunique() == 3 and cand["jid"].nunique() >= 3  # several jobs and all splits
    assert lay.candidates_csv.read_bytes() == _pandas_csv(cand)
    assert parts.candidates_csv(built_dataset, cand) == _pandas_csv(cand)


def test_missing_or_stale_job_rows_fall_back_to_the_whole_table(built_dataset):
    lay = Layout(built_dataset)
    cand = pd.read_parquet(lay.candidates_parquet)
    jid = str(cand["jid"].iloc[0])
    rows = lay.part_candidates_csv(jid)
    assert rows.is_file()
    assert parts.candidates_csv(built_dataset, cand.iloc[1:]) is None  # one row fewer than the job wrote
    kept = rows.read_bytes()
    try:
        rows.unlink()
        assert parts.candidates_csv(built_dataset, cand) is None
    finally:
        rows.write_bytes(kept)
    assert parts.candidates_csv(built_dataset, cand) == _pandas_csv(cand)

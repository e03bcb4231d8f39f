"""The candidates' date_obs: ISO 8601 UTC from mjd with astropy, exact to the millisecond, in the schema and
in a built dataset (equal to physical.parquet's epoch of the job)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from astropy.time import Time
from erfa import ErfaWarning

from rapid_croissant.dataset import roles, schema
from rapid_croissant.dataset.layout import Layout


def test_iso_utc_rounds_to_the_millisecond_and_keeps_missing_values():
    got = schema.iso_utc([61000.123456789, math.nan, None, 60000.9999999999, pd.NA])
    assert got == ["2025-11-21T02:57:46.667", None, None, "2023-02-26T00:00:00.000", None]


def test_date_obs_is_declared_as_text_and_not_a_feature():
    col = schema.CANDIDATE_SCHEMA["date_obs"]
    assert (col.dtype, col.croissant) == ("string", "sc:Text") and "UTC" in col.description
    assert roles.role_of("date_obs") == "provenance" and "date_obs" not in roles.features()
    assert schema.CANDIDATE_SCHEMA["mjd"].dtype == "float64"


def test_built_candidates_carry_date_obs_within_half_a_millisecond_of_mjd(cutout_dataset):
    layout = Layout(cutout_dataset)
    cand = pd.read_parquet(layout.candidates_parquet, columns=["jid", "mjd", "date_obs"])
    assert cand["date_obs"].notna().all() and cand["mjd"].dtype == "float64"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)  # simulated epochs lie past the leap-second table
        back = Time(cand["date_obs"].tolist(), format="isot", scale="utc").mjd
    assert np.max(np.abs(back - cand["mjd"].to_numpy())) * 86400 <= 0.0005 + 1e-6
    phys = pd.read_parquet(layout.physical, columns=["jid", "date_obs"]).set_index("jid")["date_obs"]
    assert (cand["date_obs"] == cand["jid"].map(phys)).all()


def test_cast_table_derives_a_missing_date_obs_and_keeps_a_present_one():
    frame = pd.DataFrame({"mjd": [61000.5, math.nan, 61001.0], "date_obs": [None, None, "kept as written"]})
    got = schema.cast_table(frame, schema.CANDIDATE_SCHEMA)["date_obs"].tolist()
    assert got == ["2025-11-21T12:00:00.000", pd.NA, "kept as written"]
    old_parts = schema.cast_table(frame.drop(columns="date_obs"), schema.CANDIDATE_SCHEMA)
    assert old_parts["date_obs"].tolist() == ["2025-11-21T12:00:00.000", pd.NA, "2025-11-22T00:00:00.000"]

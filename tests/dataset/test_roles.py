"""Column roles on a dataset built from simulated jobs: label-derived columns leak the label and are never
features; the trainer's feature list comes from the roles."""

from __future__ import annotations

import pandas as pd

from rapid_croissant.dataset import roles, schema
from rapid_croissant.dataset.layout import Layout
from rapid_croissant.ml import data


def test_every_candidates_column_has_one_role():
    assert list(roles.ROLES) == list(schema.CANDIDATE_SCHEMA)
    assert set(roles.ROLES.values()) == set(roles.ROLE_DESCRIPTIONS)
    assert roles.role_of("label") == "label"
    for col in ("match_dist", "truth_mag", "truth_snr", "truth_id", "match_id"):
        assert roles.role_of(col) == "label_derived"
    assert roles.role_of("candidate_id") == "identifier"


def test_label_derived_columns_are_filled_exactly_when_the_candidate_is_real(built_dataset):
    cand = pd.read_parquet(Layout(built_dataset).candidates_parquet)
    real = (cand["label"] == 1).to_numpy()
    for col in ("match_dist", "truth_mag", "truth_id"):
        filled = cand[col].notna().to_numpy()
        assert (filled == real).all(), col  # a model given this column would read the label off it


def test_the_trainer_uses_only_feature_columns():
    used = [f"{alg}_{name}" for alg in schema.SUBTRACTIONS for name in data.FEATURES]
    assert not roles.check_roles(used)
    assert set(used) <= set(roles.features())
    assert roles.check_roles(["label", "truth_mag", "nope"]) == [
        "label: role label, not a feature",
        "truth_mag: role label_derived, not a feature",
        "nope: not a candidates column",
    ]

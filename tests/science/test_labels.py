"""Tests of science/labels.py on hand-made cases: one-to-one labels, every label flag, the truth S/N cut
(``--min-truth-snr``) and the merge of two labelled catalogs into candidates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rapid_croissant.formats import FIT_FEATURES, SEED_FEATURES
from rapid_croissant.science.labels import (
    LABEL_COLUMNS,
    eligible_truth,
    expected_snr,
    label_detections,
    merge_candidates,
    noise_equivalent_area,
)
from rapid_croissant.vocabulary import (
    DUPLICATE_OF_REAL,
    LABEL_BOGUS,
    LABEL_REAL,
    LABEL_UNKNOWN,
    LOW_SNR_MATCH,
    NEAR_FAINT_TRUTH,
)


def truth_table(rows) -> pd.DataFrame:
    """rows of (truth_id, x, y, mag)."""
    return pd.DataFrame(rows, columns=["truth_id", "x", "y", "mag"])


def label(det, truth, *, eligible=None, snr=None, radius=2.0, low_snr=5.0, has_truth=True):
    det = np.asarray(det, dtype=float).reshape(-1, 2)
    n = len(truth)
    return label_detections(
        det,
        truth,
        eligible=np.ones(n, bool) if eligible is None else np.asarray(eligible, bool),
        snr=np.full(n, 50.0) if snr is None else np.asarray(snr, float),
        radius=radius,
        low_snr=low_snr,
        has_truth=has_truth,
    )


def test_a_detection_on_truth_is_real_with_the_truth_facts():
    truth = truth_table([("0_inj", 10.0, 10.0, 22.5), ("7_ou", 40.0, 40.0, 24.0)])
    out = label([[10.5, 10.0], [30.0, 30.0]], truth, snr=[12.0, 8.0])
    assert list(out.columns) == list(LABEL_COLUMNS)
    assert out["label"].tolist() == [LABEL_REAL, LABEL_BOGUS]
    assert out.loc[0, "truth_id"] == "0_inj" and pd.isna(out.loc[1, "truth_id"])
    assert out.loc[0, "match_dist"] == pytest.approx(0.5) and np.isnan(out.loc[1, "match_dist"])
    assert (out.loc[0, "truth_mag"], out.loc[0, "truth_snr"]) == (22.5, 12.0)
    assert out["label_flag"].tolist() == ["", ""]


def test_matching_is_one_to_one_closest_pair_first():
    # detection 0 lies between both truths; detection 1 is closer to truth B: B goes to 1, A to 0
    truth = truth_table([("A", 0.0, 0.0, 22.0), ("B", 2.0, 0.0, 22.0)])
    out = label([[1.2, 0.0], [2.1, 0.0]], truth, radius=1.5)
    assert out["truth_id"].tolist() == ["A", "B"]
    assert out["label"].tolist() == [LABEL_REAL, LABEL_REAL]


def test_outside_the_radius_is_bogus():
    truth = truth_table([("A", 0.0, 0.0, 22.0)])
    assert label([[3.0, 0.0]], truth, radius=2.9)["label"].tolist() == [LABEL_BOGUS]
    assert label([[3.0, 0.0]], truth, radius=3.1)["label"].tolist() == [LABEL_REAL]


def test_low_snr_match_flags_a_real_label():
    truth = truth_table([("A", 5.0, 5.0, 27.0), ("B", 20.0, 20.0, 23.0)])
    out = label([[5.0, 5.0], [20.0, 20.0]], truth, snr=[3.0, 9.0], low_snr=5.0)
    assert out["label"].tolist() == [LABEL_REAL, LABEL_REAL]
    assert out["label_flag"].tolist() == [LOW_SNR_MATCH, ""]


def test_faint_truth_never_makes_a_detection_real_and_is_flagged():
    truth = truth_table([("faint", 5.0, 5.0, 27.5)])
    out = label([[5.3, 5.0], [30.0, 5.0]], truth, eligible=[False])
    assert out["label"].tolist() == [LABEL_BOGUS, LABEL_BOGUS]
    assert out["label_flag"].tolist() == [NEAR_FAINT_TRUTH, ""]
    assert out["truth_id"].isna().all()


def test_a_second_detection_of_a_matched_source_is_a_flagged_duplicate():
    truth = truth_table([("A", 5.0, 5.0, 22.0), ("faint", 5.5, 5.0, 27.5)])
    # detection 1 is within 1 px of the matched detection 0 and near faint truth: duplicate wins
    out = label([[5.0, 5.0], [5.8, 5.0], [9.0, 5.0]], truth, eligible=[True, False], radius=4.0)
    assert out["label"].tolist() == [LABEL_REAL, LABEL_BOGUS, LABEL_BOGUS]
    assert out["label_flag"].tolist() == ["", DUPLICATE_OF_REAL, NEAR_FAINT_TRUTH]


def test_a_job_without_truth_files_is_unknown_not_bogus():
    out = label([[1.0, 1.0], [2.0, 2.0]], truth_table([]), has_truth=False)
    assert out["label"].tolist() == [LABEL_UNKNOWN, LABEL_UNKNOWN]
    assert out["label_flag"].tolist() == ["", ""]


def test_empty_inputs():
    assert len(label(np.zeros((0, 2)), truth_table([("A", 1.0, 1.0, 22.0)]))) == 0
    out = label([[1.0, 1.0]], truth_table([]))
    assert out["label"].tolist() == [LABEL_BOGUS]


def test_min_truth_snr_makes_undetectable_truth_ineligible():
    bright = np.array([True, True, True, False])
    snr = np.array([10.0, 2.0, np.nan, 50.0])
    assert eligible_truth(bright, snr).tolist() == [True, True, True, False]  # off by default
    assert eligible_truth(bright, snr, min_snr=3.0).tolist() == [True, False, True, False]
    truth = truth_table([("A", 0.0, 0.0, 22.0), ("B", 10.0, 0.0, 25.0), ("C", 20.0, 0.0, 23.0)])
    cut = eligible_truth(bright[:3], snr[:3], min_snr=3.0)
    out = label([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]], truth, eligible=cut, snr=snr[:3])
    # B (S/N 2) can no longer make a detection real; C's unknown S/N does not exclude it
    assert out["label"].tolist() == [LABEL_REAL, LABEL_BOGUS, LABEL_REAL]
    assert out["label_flag"].tolist() == ["", NEAR_FAINT_TRUTH, ""]


def test_expected_snr_and_noise_equivalent_area():
    flat = np.ones((3, 3))
    assert noise_equivalent_area(flat) == pytest.approx(9.0)
    assert expected_snr([30.0], [1.0], nea=9.0).tolist() == pytest.approx([10.0])
    assert np.isinf(expected_snr([1.0], [0.0], nea=9.0)[0])


def catalog(ids, xy, labelled: pd.DataFrame) -> pd.DataFrame:
    """A labelled photutils catalog (internal names): ids, fit positions, features, then LABEL_COLUMNS."""
    n = len(ids)
    cat = pd.DataFrame({"id": ids, "x_fit": [p[0] for p in xy], "y_fit": [p[1] for p in xy]})
    for k, f in enumerate((*SEED_FEATURES, *FIT_FEATURES)):
        cat[f] = np.arange(n, dtype=float) + 100 * k
    cat["ra"], cat["dec"] = 150.0 + np.arange(n), 2.0 + np.arange(n)
    return pd.concat([cat, labelled.reset_index(drop=True)], axis=1)


def test_merge_candidates_by_position_with_each_algorithm_s_label():
    truth = truth_table(
        [("0_inj", 10.0, 10.0, 22.0), ("1_inj", 30.0, 30.0, 23.0), ("9_ou", 50.0, 50.0, 24.0)]
    )
    zxy = [(10.2, 10.0), (70.0, 70.0), (30.9, 30.0)]  # real, bogus, real (SFFT closer there)
    sxy = [(50.0, 50.0), (10.0, 10.1), (30.1, 30.0)]  # real (SFFT only), real, real
    zogy = catalog([11, 12, 13], zxy, label(zxy, truth))
    sfft = catalog([21, 22, 23], sxy, label(sxy, truth))
    cand = merge_candidates(zogy, sfft, radius=1.5)
    assert len(cand) == 4 and sorted(cand["detected_by"]) == ["both", "both", "sfft", "zogy"]
    both = cand[cand.detected_by == "both"].sort_values("zogy_id")
    assert both["zogy_id"].tolist() == [11, 13] and both["sfft_id"].tolist() == [22, 23]
    assert both["label"].tolist() == [1, 1] and both["truth_id"].tolist() == ["0_inj", "1_inj"]
    assert both["x"].tolist() == [10.2, 30.9]  # ZOGY's position when ZOGY detected it
    assert both["id"].tolist() == [11, 13]
    only_z = cand[cand.detected_by == "zogy"].iloc[0]
    assert (only_z["label"], only_z["zogy_label"], only_z["id"]) == (0, 0, 12)
    assert pd.isna(only_z["sfft_id"]) and pd.isna(only_z["sfft_label"]) and np.isnan(only_z["sfft_flux"])
    only_s = cand[cand.detected_by == "sfft"].iloc[0]
    assert (only_s["label"], only_s["sfft_label"], only_s["id"], only_s["x"]) == (1, 1, 21, 50.0)
    assert only_s["truth_id"] == only_s["sfft_truth_id"] == "9_ou" and pd.isna(only_s["zogy_truth_id"])
    assert only_z["zogy_sharpness"] == zogy.loc[1, "sharpness"]


def test_a_candidate_carries_sfft_s_match_when_only_sfft_matched():
    truth = truth_table([("A", 10.0, 10.0, 22.0)])
    zxy, sxy = [(11.2, 10.0)], [(10.0, 10.0)]
    # ZOGY's detection is outside the 1 px match radius, SFFT's is on the truth: merged at 1.5 px
    zogy = catalog([1], zxy, label(zxy, truth, radius=1.0))
    sfft = catalog([2], sxy, label(sxy, truth, radius=1.0))
    cand = merge_candidates(zogy, sfft, radius=1.5).iloc[0]
    assert cand["detected_by"] == "both"
    assert (cand["label"], cand["zogy_label"], cand["sfft_label"]) == (1, 0, 1)
    assert cand["truth_id"] == "A" and pd.isna(cand["zogy_truth_id"])
    assert cand["match_dist"] == 0.0 and cand["x"] == 11.2  # position stays ZOGY's
    assert cand["ra"] == 150.0  # the fields of the matching (SFFT) detection


def test_merge_keeps_flags_and_unknown_labels():
    truth = truth_table([("faint", 5.0, 5.0, 27.9)])
    zxy = [(5.2, 5.0)]
    zogy = catalog([1], zxy, label(zxy, truth, eligible=[False]))
    sfft = catalog([], [], label(np.zeros((0, 2)), truth, eligible=[False]))
    cand = merge_candidates(zogy, sfft, radius=1.5)
    assert cand[["label", "label_flag", "detected_by"]].values.tolist() == [[0, NEAR_FAINT_TRUTH, "zogy"]]
    unknown = catalog([4], [(1.0, 1.0)], label([(1.0, 1.0)], truth_table([]), has_truth=False))
    cand = merge_candidates(unknown, sfft.iloc[0:0], radius=1.5)
    assert cand["label"].tolist() == [LABEL_UNKNOWN] and cand["zogy_label"].tolist() == [LABEL_UNKNOWN]
